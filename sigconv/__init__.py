"""sigconv: linear time-invariant signal processing from Python and the shell.

The library is usable on its own::

    >>> import sigconv
    >>> sigconv.convolve([1.0, 0.5], [1.0, -1.0])
    array([ 1. , -0.5, -0.5])

Signals are ``(frames, channels)`` float arrays; :func:`read` and
:func:`write` move them between files (WAV, FLAC, OGG, AIFF, CSV) and
standard streams.
"""

__version__ = "0.1.0"

from .backends import Backend, backend_statuses, get_backend, register_backend
from .convolution import channel_routing, convolve, convolve_signal
from .correlate_files import correlate_files, drift_files, locate_file, write_correlation
from .correlation import Correlation, DelayEstimate, correlate
from .drift import DriftResult, estimate_drift
from .errors import (
    BackendUnavailableError,
    ClippingWarning,
    IncompatibleSignalsError,
    InexactDivisionError,
    InputError,
    InvalidSignalError,
    NoCorrelationPeakError,
    NoReliableDelayError,
    OutputError,
    SigconvError,
    SignalNotFoundError,
    SpectralNullWarning,
    UnreadableSignalError,
    UsageError,
)
from .io import WriteReport, read, write
from .locate import LocateResult, Match, locate
from .pipeline import ConvolveReport, convolve_file
from .resample import resample
from .signal import Signal

# Deconvolution and impulse responses load on first use (PEP 562), so that
# other commands do not pay for them at start-up. (Correlation stays eager:
# its functions ``locate`` and ``correlate_files`` share their modules' names,
# which a later import of those modules would rebind.)
_LAZY = {
    "deconvolve": "deconvolution",
    "DeconvolveReport": "deconvolve_files", "deconvolve_file": "deconvolve_files",
    **{name: "impulse" for name in (
        "ImpulseInfo", "IRMeasurement", "SweepEstimate", "estimate_sweep", "exponential_sweep", "impulse_info",
        "impulse_info_file", "inverse_sweep", "measure_ir", "measure_ir_file", "plot_impulse", "synthesize_ir",
        "synthesize_ir_file", "write_sweep")},
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sigconv' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "__version__",
    "Backend",
    "BackendUnavailableError",
    "ClippingWarning",
    "ConvolveReport",
    "Correlation",
    "DeconvolveReport",
    "DelayEstimate",
    "DriftResult",
    "IRMeasurement",
    "ImpulseInfo",
    "IncompatibleSignalsError",
    "InexactDivisionError",
    "InputError",
    "InvalidSignalError",
    "LocateResult",
    "Match",
    "NoCorrelationPeakError",
    "NoReliableDelayError",
    "OutputError",
    "Signal",
    "SweepEstimate",
    "SigconvError",
    "SignalNotFoundError",
    "SpectralNullWarning",
    "UnreadableSignalError",
    "UsageError",
    "WriteReport",
    "backend_statuses",
    "channel_routing",
    "convolve",
    "convolve_file",
    "convolve_signal",
    "correlate",
    "correlate_files",
    "deconvolve",
    "deconvolve_file",
    "drift_files",
    "estimate_sweep",
    "estimate_drift",
    "exponential_sweep",
    "get_backend",
    "impulse_info",
    "impulse_info_file",
    "inverse_sweep",
    "locate",
    "locate_file",
    "measure_ir",
    "measure_ir_file",
    "plot_impulse",
    "read",
    "register_backend",
    "resample",
    "synthesize_ir",
    "synthesize_ir_file",
    "write",
    "write_sweep",
    "write_correlation",
]
