"""sigconv: linear time-invariant signal processing from Python and the shell.

The library is usable on its own::

    >>> import sigconv
    >>> sigconv.convolve([1.0, 0.5], [1.0, -1.0])
    array([ 1. , -0.5, -0.5])

Signals are ``(frames, channels)`` float arrays; :func:`read` and
:func:`write` move them between files (WAV, FLAC, OGG, AIFF, CSV) and
standard streams.
"""

__version__ = "0.2.0.dev0"

from .lazy import lazy_exports  # noqa: E402  (a few lines, no numpy)

# Every name loads on first use (PEP 562), so that ``import sigconv`` and
# ``sigconv --help`` import neither numpy nor scipy: each command pays only
# for the modules it runs.
_EXPORTS = {
    "backends": ("Backend", "backend_statuses", "get_backend", "register_backend"),
    "convolution": ("channel_routing", "convolve", "convolve_file", "convolve_signal", "ConvolveReport", "Convolver"),
    "correlation": (
        "correlate", "correlate_files", "Correlation", "DelayEstimate", "drift_files", "DriftResult",
        "estimate_drift", "locate", "locate_file", "LocateResult", "Match", "write_correlation",
        "align_signal", "align_file", "UnreliableDriftError",
    ),
    "deconvolution": ("deconvolve", "deconvolve_file", "DeconvolveReport"),
    "errors": (
        "BackendUnavailableError", "ClippingWarning", "IncompatibleSignalsError", "InexactDivisionError",
        "InputError", "InvalidSignalError", "MissingDependencyError", "NoCorrelationPeakError", "NoReliableDelayError", "OutputError",
        "SigconvError", "SignalNotFoundError", "SpectralNullWarning", "UnreadableSignalError", "UsageError",
    ),
    "io": ("read", "write", "WriteReport"),
    "batch": ("BatchPlan", "BatchSummary", "BatchTask", "convolve_batch", "plan_batch", "run_batch"),
    "compute.context": ("ExecutionContext",),
    "compute.resampling": ("resample",),
    "signal": ("Signal",),
    "impulse": (
        "estimate_sweep", "exponential_sweep", "impulse_info", "impulse_info_file", "ImpulseInfo",
        "inverse_sweep", "IRMeasurement", "measure_ir", "measure_ir_file", "plot_impulse", "SweepEstimate",
        "synthesize_ir", "synthesize_ir_file", "write_sweep",
    ),
}
_LAZY = {name: module for module, names in _EXPORTS.items() for name in names}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "__version__",
    "align_file",
    "align_signal",
    "Backend",
    "BackendUnavailableError",
    "ClippingWarning",
    "ConvolveReport",
    "Convolver",
    "Correlation",
    "DeconvolveReport",
    "DelayEstimate",
    "DriftResult",
    "ExecutionContext",
    "IRMeasurement",
    "ImpulseInfo",
    "IncompatibleSignalsError",
    "InexactDivisionError",
    "InputError",
    "InvalidSignalError",
    "MissingDependencyError",
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
    "UnreliableDriftError",
    "UsageError",
    "WriteReport",
    "backend_statuses",
    "BatchPlan",
    "BatchSummary",
    "BatchTask",
    "convolve_batch",
    "plan_batch",
    "run_batch",
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
