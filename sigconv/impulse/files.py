"""The file jobs behind ``sigconv impulse``: write sweeps and synthetic IRs, measure and analyse files."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from ..backends.registry import AUTO
from ..errors import OutputError, UsageError
from ..io import WriteReport, read, write
from ..io.formats import output_format
from ..io.writing import write_together
from ..signal import Signal, check_same_rate
from .info import ImpulseInfo, impulse_info
from .measure import DEFAULT_MAX_ORDER, DEFAULT_PREDELAY, IRMeasurement, measure_ir
from .noise import noise_levels_per_channel, octave_noise_levels
from .sweep import exponential_sweep, inverse_sweep
from .synth import synthesize_ir

__all__ = ["write_sweep", "measure_ir_file", "synthesize_ir_file", "impulse_info_file"]


def write_sweep(destination: str, *, rate: float = 48000, duration: float = 10.0, f0: float = 20.0,
                f1: float = 20000.0, amplitude_db: float = -6.0, fade: tuple[float, float] = (0.1, 0.02),
                silence: float = 2.0, inverse: str | None = None, format: str | None = None,
                subtype: str | None = None) -> tuple[WriteReport, WriteReport | None]:
    """Write an exponential sine sweep (and optionally its inverse filter) to files.

    Parameters are those of :func:`sigconv.exponential_sweep`; `inverse`
    is the path of the inverse filter (:func:`sigconv.inverse_sweep`),
    written in the same format. Returns the two write reports.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> report, _ = write_sweep(os.path.join(d, "s.wav"), rate=8000, duration=1, f0=50, f1=3000, silence=0.5)
    >>> report.frames, report.subtype
    (12000, 'FLOAT')
    """
    if inverse is not None and destination != "-" and os.path.abspath(inverse) == os.path.abspath(destination):
        raise OutputError("the sweep and its inverse need different file names")
    x = exponential_sweep(rate, duration, f0, f1, amplitude_db=amplitude_db, fade=fade, silence=silence)
    inverse_data = None
    if inverse is not None:
        inverse_data = inverse_sweep(rate, duration, f0, f1, amplitude_db=amplitude_db, fade=fade)
    report = write(destination, x, rate, format=format, subtype=subtype)
    inverse_report = None
    if inverse_data is not None:
        inverse_report = write(inverse, inverse_data, rate, format=format, subtype=subtype)
    return report, inverse_report


def measure_ir_file(recording: str, sweep: str, destination: str, *, harmonics_dir: str | None = None,
                 length: float | None = None, trim_start: bool = True, keep_predelay: float = DEFAULT_PREDELAY,
                 trim_end: bool = True, max_order: int = DEFAULT_MAX_ORDER, format: str | None = None,
                 subtype: str | None = None, input_format: str | None = None, rate: float | None = None,
                 backend: str = AUTO, context=None,
                 progress: Callable[[int, int, str], None] | None = None) -> tuple[IRMeasurement, WriteReport]:
    """:func:`sigconv.measure_ir` on files: the IR to `destination`, harmonic responses into `harmonics_dir`.

    The harmonic responses are written as ``harmonic-2.wav``,
    ``harmonic-3.wav``... (the extension of `destination`, or ``.wav``)
    into `harmonics_dir`, which is created if it does not exist.
    `recording` may be ``"-"`` (standard input) and `destination` ``"-"``
    (standard output). Neither input is ever overwritten. `backend` and
    `context` (an :class:`~sigconv.compute.context.ExecutionContext` or a
    thread count) are :func:`sigconv.measure_ir`'s.

    Raises
    ------
    IncompatibleSignalsError
        The recording and the sweep have different sample rates.
    BackendUnavailableError
        `backend` does not run measure (or is unavailable); nothing is written.
    """
    signal = read(recording, format=input_format, rate=rate)
    played = read(sweep, format=input_format, rate=rate)
    check_same_rate(signal.rate, played.rate, ("the recording", "the sweep"), "record at the sweep's rate or make "
                    "the sweep at the recording's rate (sigconv impulse sweep --rate)")
    result = measure_ir(signal.data, played.data, signal.rate, length=length, trim_start=trim_start,
                        keep_predelay=keep_predelay, trim_end=trim_end, max_order=max_order, backend=backend,
                        context=context, progress=progress)
    fmt = output_format(destination, format)
    outputs = [(destination, Signal(result.ir, signal.rate), fmt, subtype)]
    made_folder = False
    if harmonics_dir is not None and result.harmonics:
        if os.path.exists(harmonics_dir) and not os.path.isdir(harmonics_dir):
            raise OutputError(f"--harmonics {harmonics_dir!r} is a file; give a folder")
        extension = os.path.splitext(destination)[1] if destination != "-" and format is None else ""
        extension = extension or (f".{fmt.lower()}" if fmt != "WAV" else ".wav")
        outputs += [(os.path.join(harmonics_dir, f"harmonic-{order}{extension}"), Signal(data, signal.rate), fmt,
                     subtype) for order, data in result.harmonics.items()]
        made_folder = not os.path.isdir(harmonics_dir)
        try:
            os.makedirs(harmonics_dir, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot make the folder {harmonics_dir!r}: {exc.strerror}") from exc
    try:
        report = write_together(outputs, protect=[recording, sweep])[0]
    except BaseException:
        if made_folder:
            with contextlib.suppress(OSError):
                os.rmdir(harmonics_dir)
        raise
    return result, report


def synthesize_ir_file(kind: str, destination: str, *, rate: float = 48000, format: str | None = None,
                    subtype: str | None = None, **params) -> WriteReport:
    """Write :func:`sigconv.synthesize_ir` ``(kind, rate, **params)`` to `destination`.

    Examples
    --------
    >>> import tempfile, os
    >>> report = synthesize_ir_file("gaussian", os.path.join(tempfile.mkdtemp(), "g.csv"), rate=1000, sigma=0.002)
    >>> report.frames, report.format
    (17, 'CSV')
    """
    return write(destination, synthesize_ir(kind, rate, **params), rate, format=format, subtype=subtype)


def impulse_info_file(path: str, *, plot: str | None = None, input_format: str | None = None,
              rate: float | None = None, noise_file: str | None = None, calibration_db: float | None = None,
              **options) -> ImpulseInfo:
    """:func:`sigconv.impulse_info` of a file (`options` are its settings), and with `plot` a PNG or SVG of it.

    The plot needs matplotlib; its format comes from the extension (.png or .svg).
    `noise_file` is a recording of the background noise made with the
    measurement's microphone and gain; its octave levels plus
    `calibration_db` (the dB SPL of full scale, RMS 1.0) are the STI's
    noise levels (:mod:`sigconv.impulse.noise`), one row per channel or
    one for all from a mono recording; ``speech_levels`` must be given too.
    """
    if noise_file is not None:
        if calibration_db is None:
            raise UsageError("a noise recording needs its calibration: the dB SPL of full scale (RMS 1.0), e.g. "
                             "94 minus the dBFS RMS level of a 94 dB calibrator recorded at the same gain "
                             "(--calibration DB)")
        if options.get("noise_levels") is not None or options.get("snr_db") is not None:
            raise UsageError("give the noise as a recording or as levels or as SNRs, not two of them")
        if options.get("speech_levels") is None:
            raise UsageError("the STI with a noise recording needs the speech octave levels at the listener "
                             "(--speech-levels, dB SPL)")
    elif calibration_db is not None:
        raise UsageError("--calibration applies to a noise recording (--noise-file)")
    signal = read(path, format=input_format, rate=rate)
    if noise_file is not None:
        noise = read(noise_file, format=input_format, rate=rate)
        levels = octave_noise_levels(noise.data, noise.rate, calibration_db, options.get("filter_mode", "zero-phase"))
        options["noise_levels"] = noise_levels_per_channel(levels, signal.data.shape[1])
    if plot is not None:
        from ..io.atomic import refuse_input_overwrite
        from .plot import plot_format, require_matplotlib

        refuse_input_overwrite(plot, [path])
        plot_format(plot)  # refuse an unknown extension before the analysis
        require_matplotlib()  # fail before the analysis when matplotlib is missing
    info = impulse_info(signal.data, signal.rate, **options)
    if plot is not None:
        from .plot import plot_impulse

        plot_impulse(signal.data, signal.rate, info, plot, title=os.path.basename(path), protect=[path])
    return info
