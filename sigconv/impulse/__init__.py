"""Impulse responses: measure them with sine sweeps, synthesize them, analyse them (ISO 3382-1).

- :mod:`~sigconv.impulse.sweep`: the exponential sine sweep and its inverse filter.
- :mod:`~sigconv.impulse.measure`: deconvolution of sweep recordings, harmonic separation, trimming.
- :mod:`~sigconv.impulse.synth`: test kernels, fractional delays, FIR filters, reverb tails.
- :mod:`~sigconv.impulse.bands`, :mod:`~sigconv.impulse.acoustics`, :mod:`~sigconv.impulse.info`:
  octave bands, Schroeder/Lundeby decay analysis, and the per-channel report.
- :mod:`~sigconv.impulse.plot`: the PNG (matplotlib, optional).
- :mod:`~sigconv.impulse.files`: the same on files.
"""

from .files import impulse_info_file, measure_ir_file, synthesize_ir_file, write_sweep
from .info import ImpulseInfo, impulse_info
from .measure import IRMeasurement, SweepEstimate, estimate_sweep, measure_ir
from .plot import plot_impulse
from .sweep import exponential_sweep, inverse_sweep
from .synth import SYNTH_KINDS, synthesize_ir

__all__ = [
    "ImpulseInfo",
    "IRMeasurement",
    "SYNTH_KINDS",
    "SweepEstimate",
    "estimate_sweep",
    "exponential_sweep",
    "impulse_info",
    "impulse_info_file",
    "inverse_sweep",
    "measure_ir_file",
    "measure_ir",
    "plot_impulse",
    "synthesize_ir_file",
    "synthesize_ir",
    "write_sweep",
]
