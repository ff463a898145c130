"""Convolution of signals with impulse responses: arrays (:mod:`.arrays`), an IR prepared for many signals
(:mod:`.prepared`), files streamed block by block (:mod:`.files`) and the reverb mix around them
(:mod:`.mixing`)."""

from ..lazy import lazy_exports

_EXPORTS = {
    "channel_routing": "arrays", "convolve": "arrays", "convolve_signal": "arrays",
    "ConvolveJob": "files", "ConvolveReport": "files", "ConvolveSettings": "files", "convolve_file": "files",
    "Convolver": "prepared",
}

__all__ = sorted(_EXPORTS, key=str.lower)
# each name loads its module on first use: the CLI's file job does not pay for the array API
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
