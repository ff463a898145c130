"""Delays between recordings: whole-signal and block-form cross spectra (:mod:`.spectra`), delay estimates
(:mod:`.delays`), clock drift (:mod:`.drift`), clips in long recordings (:mod:`.clips`), sub-sample peaks
(:mod:`.peaks`) and the same on files (:mod:`.files`). Every transform runs on the ``backend``'s array
operations."""

from .clips import LocateResult, Match, locate
from .delays import Correlation, DelayEstimate, correlate
from .drift import DriftResult, estimate_drift
from .files import (
    CorrelateJob,
    CorrelateSettings,
    DriftSettings,
    LocateSettings,
    correlate_files,
    drift_files,
    locate_file,
    write_correlation,
)

__all__ = ["Correlation", "CorrelateJob", "CorrelateSettings", "DelayEstimate", "DriftResult", "DriftSettings",
           "LocateResult", "LocateSettings", "Match", "correlate", "correlate_files", "drift_files", "estimate_drift",
           "locate", "locate_file", "write_correlation"]
