"""Convolution of signals with impulse responses: arrays (:mod:`.arrays`), an IR prepared for many signals
(:mod:`.prepared`), files streamed block by block (:mod:`.files`) and the reverb mix around them
(:mod:`.mixing`)."""

_EXPORTS = {
    "channel_routing": "arrays", "convolve": "arrays", "convolve_signal": "arrays",
    "ConvolveJob": "files", "ConvolveReport": "files", "ConvolveSettings": "files", "convolve_file": "files",
    "Convolver": "prepared",
}

__all__ = sorted(_EXPORTS, key=str.lower)


def __getattr__(name: str):
    # each name loads its module on first use: the CLI's file job does not pay for the array API
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
