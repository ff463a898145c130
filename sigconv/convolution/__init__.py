"""Convolution of signals with impulse responses: arrays (:mod:`.arrays`), one IR prepared for many
signals (:mod:`.prepared`), files streamed block by block (:mod:`.files`) and the reverb mix around them
(:mod:`.mixing`)."""

from .arrays import channel_routing, convolve, convolve_signal
from .files import ConvolveJob, ConvolveReport, ConvolveSettings, convolve_file
from .prepared import Convolver

__all__ = ["ConvolveJob", "ConvolveReport", "ConvolveSettings", "Convolver", "channel_routing", "convolve",
           "convolve_file", "convolve_signal"]
