"""Is this an impulse response? Two signs that a file is speech or music instead.

An impulse response rises to its largest energy quickly and then decays,
down to its noise floor, without rising again. Speech and music have
several loud events with quieter gaps between them. On the 10 ms energy
envelope (means of the squared signal):

Levels are floored 100 dB under the maximum (digital silence).

1. **no dominant peak**: the onset (the first sample within 20 dB of the
   peak, ISO 3382-1) lies more than :data:`MAX_RISE_S` before the
   envelope's maximum: the signal has loud events long before its loudest;
2. **no single decay**: after the maximum, the envelope falls and later
   rises again by more than :data:`MAX_REBOUND_DB` above the lowest level it
   had reached from 50 ms after the maximum on (a late echo of a room is
   far weaker than that; a silent gap before the first reflections is
   allowed);
3. **no decay**: the end lies less than 10 dB below the maximum.

Responses shorter than five 10 ms intervals are not judged.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ir_problem", "MAX_RISE_S", "MAX_REBOUND_DB"]

#: Longest time from the onset to the loudest 10 ms of an impulse response, in seconds.
MAX_RISE_S = 0.1
#: Largest rise of the envelope (dB) above the lowest level it reached after its maximum.
MAX_REBOUND_DB = 20.0
#: 10 ms intervals after the maximum before rebounds count (a silent pre-delay of reflections is allowed).
_SETTLE = 5


def ir_problem(x: np.ndarray, rate: float, onset: int) -> str | None:
    """Why the 1-D signal ``x`` (onset at frame ``onset``) does not look like an impulse response, or None.

    Examples
    --------
    >>> rate = 8000
    >>> t = np.arange(rate) / rate
    >>> ir = np.random.default_rng(0).standard_normal(rate) * 10 ** (-3 * t / 0.4)
    >>> ir_problem(ir, rate, 0) is None
    True
    >>> bursts = np.tile(np.r_[np.ones(800), np.zeros(1200)], 4) * np.random.default_rng(1).standard_normal(8000)
    >>> ir_problem(bursts, rate, 0)
    'no single decay: after its loudest moment the energy rises again by 98 dB (at 0.250 s)'
    """
    e = np.square(np.asarray(x, dtype=np.float64))
    width = max(1, int(round(0.01 * rate)))
    count = e.size // width
    if count < 5 or not e.any():
        return None
    env = e[: count * width].reshape(count, width).mean(axis=1)
    with np.errstate(divide="ignore"):
        level = 10 * np.log10(np.maximum(env, env.max() * 1e-10) / env.max())
    peak = int(np.argmax(env))
    rise = (peak * width - onset) / rate
    if rise > MAX_RISE_S:
        return (f"no dominant peak: the signal reaches within 20 dB of its peak at {onset / rate:.3f} s, "
                f"{rise:.3f} s before its loudest 10 ms")
    start = peak + _SETTLE  # gaps between the direct sound and the first reflections are no rebound
    after = level[start:]
    rebound = after - np.minimum.accumulate(after) if after.size else after
    over = np.flatnonzero(rebound > MAX_REBOUND_DB)
    if over.size:
        first = int(over[0])
        return (f"no single decay: after its loudest moment the energy rises again by {rebound[first]:.0f} dB "
                f"(at {(start + first) * width / rate:.3f} s)")
    tail = level[-max(1, count // 10):].mean()
    if tail > -10:
        return f"no decay: its last tenth is only {-tail:.1f} dB below its loudest 10 ms"
    return None
