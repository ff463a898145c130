"""Impulse responses: measure them with sine sweeps, synthesize them, analyse them (ISO 3382-1).

- :mod:`~sigconv.impulse.sweep`: the exponential sine sweep and its inverse filter.
- :mod:`~sigconv.impulse.measure`: deconvolution of sweep recordings, harmonic separation, trimming.
- :mod:`~sigconv.impulse.synth`: test kernels, fractional delays, FIR filters, reverb tails.
- :mod:`~sigconv.impulse.bands`, :mod:`~sigconv.impulse.acoustics`, :mod:`~sigconv.impulse.topt`,
  :mod:`~sigconv.impulse.sti`, :mod:`~sigconv.impulse.noise`, :mod:`~sigconv.impulse.checks`,
  :mod:`~sigconv.impulse.info`: octave and third-octave bands (IEC 61260-1), Schroeder/Lundeby decay analysis
  with ISO 3382 flags, Topt over the straightest stretch of the decay, the STI (IEC 60268-16) with octave
  levels of a noise recording, the "is this an impulse response?" check, and the per-channel report.
- :mod:`~sigconv.impulse.plot`: the PNG or SVG (matplotlib, optional).
- :mod:`~sigconv.impulse.files`: the same on files.
"""

from .files import impulse_info_file, measure_ir_file, synthesize_ir_file, write_sweep
from .info import ImpulseInfo, InfoSettings, impulse_info
from .measure import IRMeasurement, SweepEstimate, estimate_sweep, measure_ir
from .plot import plot_impulse
from .sweep import exponential_sweep, inverse_sweep
from .synth import SYNTH_KINDS, synthesize_ir

__all__ = [
    "ImpulseInfo",
    "IRMeasurement",
    "InfoSettings",
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
