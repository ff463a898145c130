"""Delays between recordings: whole-signal and block-form cross spectra (:mod:`.spectra`), delay estimates
(:mod:`.delays`), clock drift (:mod:`.drift`: a vote between lines of delays, :mod:`.drift_search`, by consensus
fits, :mod:`.consensus`, of windows' delays, :mod:`.windowed`), B aligned to A (:mod:`.align`), clips in long
recordings (:mod:`.clips`), sub-sample peaks (:mod:`.peaks`) and the same on files (:mod:`.files`). Every transform runs on the ``backend``'s array
operations."""

from .clips import LocateResult, Match, locate
from .delays import Correlation, DelayEstimate, correlate
from .align import align_file, align_signal
from .drift import DriftResult, UnreliableDriftError, estimate_drift
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
           "locate", "locate_file", "write_correlation", "align_file", "align_signal", "UnreliableDriftError"]
