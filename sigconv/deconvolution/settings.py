"""The settings of a deconvolution: the method and its options, checked, and the output length.

:class:`DeconvolveSettings` travels from the command line or the library
call to the array functions (:mod:`sigconv.deconvolution.arrays`) and the
file job (:mod:`sigconv.deconvolution.files`); :meth:`DeconvolveSettings.checked`
refuses options of another method and fills in each method's defaults.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from ..backends.registry import AUTO
from ..errors import IncompatibleSignalsError, InvalidSignalError, UsageError
from ..limits import check_finite, check_frames, check_iterations
from ..validation import dtype_for_precision
from .lucy import DEFAULT_ITERATIONS
from .polydiv import DEFAULT_TOLERANCE
from .wiener import DEFAULT_SNR_DB

__all__ = ["DEFAULT_REG", "METHODS", "DeconvolveSettings", "output_length", "parse_length"]


#: Accepted values of ``method``.
METHODS = ("wiener", "tikhonov", "exact", "lucy")
#: Default ``--reg``: λ at 1e-3 of the kernel's mean power gain inverts
#: frequencies down to about 30 dB below the kernel's average level and
#: limits the boost of weaker ones to about +24 dB over the inverse at that level.
DEFAULT_REG = 1e-3


@dataclass(frozen=True)
class DeconvolveSettings:
    """How to deconvolve: the method, its options and the job's other settings (picklable).

    Options left at None take the method's default in :meth:`checked`,
    which also refuses the options of another method.

    Attributes
    ----------
    method, snr_db, reg, band, iterations, tolerance, length, precision
        As for :func:`sigconv.deconvolve`.
    noise : bool
        ``wiener``: estimate λ from a noise sample's spectrum (the sample
        itself is given apart: ``noise=`` to :func:`sigconv.deconvolve`,
        ``noise_path=`` to :func:`~sigconv.deconvolution.files.deconvolve_file`).
    backend : str
        Compute backend, or ``"auto"``.
    resample_inputs : bool
        Files: resample the kernel and the noise sample to the signal's
        rate when they differ (else that is an error).
    from_mono : bool
        The signal is a mono source through one kernel channel per signal
        channel: recover the one source channel (as for :func:`sigconv.deconvolve`).

    Examples
    --------
    >>> DeconvolveSettings("tikhonov").checked().reg
    0.001
    """

    method: str = "wiener"
    snr_db: float | None = None
    noise: bool = False
    reg: float | None = None
    band: tuple[float, float] | None = None
    iterations: int | None = None
    tolerance: float | None = None
    length: int | str | None = None
    precision: int = 64
    backend: str = AUTO
    resample_inputs: bool = False
    from_mono: bool = False

    @property
    def streams(self) -> bool:
        """True for the methods that run an inverse FIR block by block."""
        return self.method in ("wiener", "tikhonov")

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the result and of the streamed filtering."""
        return dtype_for_precision(self.precision)

    def checked(self, rate: float | None = None) -> DeconvolveSettings:
        """These settings checked against the method, with its defaults filled in.

        ``rate`` (Hz) is needed for ``band``.

        Raises
        ------
        UsageError
            An unknown method, an option of another method, or a bad value.
        """
        method = self.method
        if method not in METHODS:
            raise UsageError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        owners = {"--snr": (self.snr_db is not None, "wiener"), "--noise": (self.noise, "wiener"),
                  "--reg": (self.reg is not None, "tikhonov"), "--band": (self.band is not None, "tikhonov"),
                  "--iterations": (self.iterations is not None, "lucy"),
                  "--tolerance": (self.tolerance is not None, "exact")}
        for option, (given, owner) in owners.items():
            if given and owner != method:
                raise UsageError(
                    f"{option} applies to --method {owner}, not {method}; leave it out or change the method")
        if self.snr_db is not None and self.noise:
            raise UsageError("--snr and --noise both set Wiener's noise level; give one of them")
        dtype_for_precision(self.precision)
        if method == "wiener":
            snr_db = DEFAULT_SNR_DB if self.snr_db is None else check_finite(self.snr_db, "--snr", " of dB")
            return dataclasses.replace(self, snr_db=None if self.noise else snr_db)
        if method == "tikhonov":
            reg = DEFAULT_REG if self.reg is None else check_finite(self.reg, "--reg")
            if not reg > 0:
                raise UsageError(f"--reg must be a positive number (λ relative to the kernel's power), not {reg:g}")
            return dataclasses.replace(self, reg=reg, band=_check_band(self.band, rate))
        if method == "lucy":
            iterations = DEFAULT_ITERATIONS if self.iterations is None else self.iterations
            if isinstance(iterations, float) and not iterations.is_integer():
                raise UsageError(f"--iterations must be a whole number, not {iterations:g}")
            return dataclasses.replace(self, iterations=check_iterations(int(check_finite(iterations, "--iterations"))))
        tolerance = DEFAULT_TOLERANCE if self.tolerance is None else check_finite(self.tolerance, "--tolerance")
        if not tolerance > 0:
            raise UsageError(f"--tolerance must be a positive fraction of the signal's RMS, not {tolerance:g}")
        return dataclasses.replace(self, tolerance=tolerance)


def _check_band(band, rate):
    if band is None:
        return None
    low, high = (check_finite(f, "--band", " of Hz") for f in band)
    if rate is None:
        raise UsageError("--band is in Hz, so it needs the sample rate: pass rate=")
    if not (0 <= low < high):
        raise UsageError(f"--band F1 F2 needs 0 <= F1 < F2 (Hz), not {low:g} {high:g}")
    if low >= rate / 2:
        raise UsageError(f"--band starts at {low:g} Hz, at or above Nyquist ({rate / 2:g} Hz); choose a lower F1")
    return (low, high)


_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(s|ms)\s*$")


def parse_length(length, rate: float | None) -> int | None:
    """An output length in frames: an int, digits (``"48000"``), or a duration (``"2.5s"``, ``"500ms"``).

    Raises
    ------
    UsageError
        Not a positive length, a number without unit that is not whole,
        or a duration without a sample rate.

    Examples
    --------
    >>> parse_length("2.5s", 48000), parse_length("500 ms", 8000), parse_length(64, None)
    (120000, 4000, 64)
    """
    if length is None:
        return None
    if isinstance(length, (int, np.integer)):
        frames = int(length)
    else:
        text = str(length)
        duration = _DURATION.match(text)
        if duration:
            if rate is None:
                raise UsageError(f"--length {text} is a duration, so it needs the sample rate (pass rate=)")
            seconds = float(duration.group(1)) * (1e-3 if duration.group(2) == "ms" else 1.0)
            frames = round(seconds * rate)
        elif text.strip().isdigit():
            frames = int(text)
        elif re.fullmatch(r"\s*\d+\s*(?:smp|samples?)\s*", text, re.IGNORECASE):  # sigconv.quantities' samples
            frames = int(re.match(r"\s*(\d+)", text).group(1))
        else:
            raise UsageError(
                f"--length {text!r} is neither whole frames (e.g. 48000 or 48000smp) nor a duration with its unit "
                "(e.g. 2.5s or 500ms)"
            )
    if frames < 1:
        raise UsageError(f"--length must be at least one frame, not {length!r}")
    return check_frames(frames, f"--length {length}", "give a shorter --length", rate)


def output_length(requested: int | None, signal_frames: int, taps: int) -> int:
    """``requested``, else ``signal_frames - taps + 1`` (the length of ``x`` in a full product).

    Raises
    ------
    InvalidSignalError
        The signal is empty: there is nothing to deconvolve.
    IncompatibleSignalsError
        No length given and the signal is shorter than the kernel, so it
        cannot be a full product with it.

    Examples
    --------
    >>> output_length(None, 100, 11), output_length(40, 100, 11)
    (90, 40)
    """
    if signal_frames == 0:
        raise InvalidSignalError("the signal is empty (0 frames): there is nothing to deconvolve")
    if requested is not None:
        return requested
    if signal_frames < taps:
        raise IncompatibleSignalsError(
            f"the signal ({signal_frames} frames) is shorter than the kernel ({taps} frames), so it is no full "
            "product with that kernel and the default output length (signal - kernel + 1 frames) is empty; are the "
            "signal and the kernel the right way round? Give --length to choose a length anyway"
        )
    return signal_frames - taps + 1
