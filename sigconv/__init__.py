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
    InputError,
    InvalidSignalError,
    NoCorrelationPeakError,
    NoReliableDelayError,
    OutputError,
    SigconvError,
    SignalNotFoundError,
    UnreadableSignalError,
    UsageError,
)
from .io import WriteReport, read, write
from .locate import LocateResult, Match, locate
from .pipeline import ConvolveReport, convolve_file
from .resample import resample
from .signal import Signal

__all__ = [
    "__version__",
    "Backend",
    "BackendUnavailableError",
    "ClippingWarning",
    "ConvolveReport",
    "Correlation",
    "DelayEstimate",
    "DriftResult",
    "IncompatibleSignalsError",
    "InputError",
    "InvalidSignalError",
    "LocateResult",
    "Match",
    "NoCorrelationPeakError",
    "NoReliableDelayError",
    "OutputError",
    "Signal",
    "SigconvError",
    "SignalNotFoundError",
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
    "drift_files",
    "estimate_drift",
    "get_backend",
    "locate",
    "locate_file",
    "read",
    "register_backend",
    "resample",
    "write",
    "write_correlation",
]
