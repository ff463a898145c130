"""``sigconv tune``: measure FFTW plans for this machine once, and price the planner's lengths with them."""

from __future__ import annotations

import os

import numpy as np

from ..compute.context import default_threads
from ..errors import BackendUnavailableError

__all__ = ["tune", "TUNED_CHANNELS"]

#: Row counts (channels per transform batch) that :func:`tune` plans for.
TUNED_CHANNELS = (1, 2)


def tune(max_size: int = 1 << 20, dtypes=(np.float64, np.float32), channels=TUNED_CHANNELS,
         progress=None) -> str:
    """Measure FFTW plans for the engine's transform sizes and store the wisdom.

    Plans every power-of-two size from 2^6 to ``max_size`` (forward and
    inverse, for each dtype and row count, and single rows on one thread as
    the engine's parallel lanes use them) with FFTW_MEASURE and writes
    FFTW's wisdom to :func:`sigconv.compute.fftw.wisdom_folder`, from which
    later runs plan without measuring. Then it times the engine's hops at
    every transform length the planner may choose
    (:func:`sigconv.backends.calibration.fast_sizes` from 2^12 to
    ``max_size``, with the new plans where there are any) and stores the
    costs beside the wisdom for the planner. Takes minutes; run it once per
    machine.

    Parameters
    ----------
    max_size : int
        Largest transform length to plan.
    dtypes : sequence of numpy dtypes
    channels : sequence of int
        Rows per transform batch.
    progress : callable, optional
        Called as ``progress(done, total, description)``.

    Returns
    -------
    str
        The folder the wisdom was written to.

    Raises
    ------
    BackendUnavailableError
        pyFFTW is not installed (or ``$SIGCONV_FFT=scipy``).
    """
    from ..compute.fftw import WISDOM_FILES, import_pyfftw, load_wisdom, make_plans, pyfftw_available, wisdom_folder
    from .calibration import fast_sizes, measure_hop_table, save_tuned_costs

    if not pyfftw_available():
        raise BackendUnavailableError(
            "sigconv tune needs pyFFTW, which is not installed or is switched off by SIGCONV_FFT=scipy: "
            "pip install pyfftw, or unset SIGCONV_FFT"
        )
    pyfftw = import_pyfftw()
    load_wisdom()  # extend what is there
    sizes = [1 << k for k in range(6, max(6, int(max_size).bit_length() - 1) + 1)]
    # the row counts on all threads, and one row on one thread: the plan of
    # each lane of :class:`sigconv.compute.engine.ChannelLanes`
    threads = default_threads()
    shapes = sorted({(rows, threads) for rows in channels} | {(1, 1)})
    jobs = [(size, np.dtype(dt), rows, n) for dt in dtypes for rows, n in shapes for size in sizes]
    # every length the planner may pick, priced on this machine afterwards:
    # the tuned powers of two and the others, which still plan with FFTW_ESTIMATE
    costed = fast_sizes(1 << 12, max_size)
    total = len(jobs) + len(costed) * len(dtypes)
    for done, (size, dtype, rows, n) in enumerate(jobs):
        if progress:
            progress(done, total, f"{np.dtype(dtype).name} {rows}x{size}, {n} thread(s)")
        make_plans(pyfftw, size, rows, dtype, ("FFTW_MEASURE",), n)
    folder = wisdom_folder()
    os.makedirs(folder, exist_ok=True)
    for name, part in zip(WISDOM_FILES, pyfftw.export_wisdom()):
        tmp = os.path.join(folder, f".{name}.part")
        with open(tmp, "wb") as f:
            f.write(part)
        os.replace(tmp, os.path.join(folder, name))
    load_wisdom(refresh=True)  # plans made from here on use the new wisdom
    costs = {}
    for index, dt in enumerate(dtypes):
        offset = len(jobs) + index * len(costed)
        report = progress and (lambda done, _total, text, offset=offset: progress(offset + done, total, text))
        costs[np.dtype(dt).name] = measure_hop_table(costed, dt, progress=report)
    save_tuned_costs(costs)
    if progress:
        progress(total, total, "done")
    return folder
