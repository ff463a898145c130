"""Which input goes through which IR, and the levels drawn for each pair, reproducibly by seed.

Draws do not depend on the order in which pairs are made or run: each is
taken from a random generator seeded with the batch's seed and the file
names involved (SHA-256), so adding inputs to a dataset leaves the draws of
the others as they were, and a cluster run draws what a local run draws.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass

from ..errors import UsageError

__all__ = ["PAIRINGS", "Range", "pair_up", "draw"]

#: Accepted pairing modes.
PAIRINGS = ("all", "zip", "random")


@dataclass(frozen=True)
class Range:
    """A level: fixed (``low == high``) or drawn uniformly from ``[low, high)`` per pair.

    ``unit`` is ``"linear"`` (a factor) or ``"dB"``; a range in dB is drawn
    uniformly in dB (equal steps of loudness), then made a factor.

    Examples
    --------
    >>> Range.parse("0.3:1.0"), Range.parse("0.5").fixed
    (Range(low=0.3, high=1.0, unit='linear'), True)
    >>> Range.parse("-12dB:-3dB")
    Range(low=-12.0, high=-3.0, unit='dB')
    """

    low: float
    high: float
    unit: str = "linear"

    @property
    def fixed(self) -> bool:
        return self.low == self.high

    def gain(self, value: float) -> float:
        """``value`` (in this range's unit) as a linear factor, as ``sigconv convolve --wet`` reads it."""
        from ..quantities import Level

        return value if self.unit == "linear" else Level(value, "dB").gain

    @classmethod
    def of(cls, value, name: str = "--wet") -> Range:
        """A Range from one, a number, a ``(low, high)`` pair (linear) or text: ``0.5``, ``-6dB``, ``LOW:HIGH``."""
        if isinstance(value, Range):
            return value
        if isinstance(value, str):
            return cls.parse(value, name)
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise UsageError(f"{name} takes one level or a (low, high) pair, not {value!r}")
            return cls._checked(float(value[0]), float(value[1]), name)
        return cls._checked(float(value), float(value), name)

    @classmethod
    def parse(cls, text: str, name: str = "--wet") -> Range:
        """``"0.5"`` or ``"-6dB"`` (fixed), ``"0.3:1.0"`` or ``"-12dB:-3dB"`` (drawn between the two)."""
        from ..quantities import parse_level

        usage = (f"{name} takes a level (0.5, -6dB) or a range LOW:HIGH (0.3:1.0, -12dB:-3dB), not {text!r}")
        parts = text.split(":")
        if len(parts) not in (1, 2):
            raise UsageError(usage)
        levels = []
        for part in parts:
            try:
                level = parse_level(part, "linear", name)
            except UsageError:
                raise UsageError(usage) from None
            if level.unit not in ("linear", "dB", "dBFS"):
                raise UsageError(f"{name} takes a linear factor or dB, not {part.strip()!r}")
            levels.append(level)
        units = {"linear" if level.unit == "linear" else "dB" for level in levels}
        if len(units) > 1:
            raise UsageError(f"{name} {text!r} mixes a factor and dB; give both ends in one unit "
                             "(0.25:1 or -12dB:0dB)")
        return cls._checked(levels[0].value, levels[-1].value, name, units.pop())

    @classmethod
    def _checked(cls, low: float, high: float, name: str, unit: str = "linear") -> Range:
        if not (math.isfinite(low) and math.isfinite(high)):
            raise UsageError(f"{name} must be finite, not {low:g}:{high:g}")
        if low > high:
            raise UsageError(f"{name} range {low:g}:{high:g} is reversed; give LOW:HIGH")
        return cls(low, high, unit)

    def __str__(self) -> str:
        suffix = "" if self.unit == "linear" else self.unit
        return f"{self.low:g}{suffix}" if self.fixed else f"{self.low:g}{suffix}:{self.high:g}{suffix}"


def _generator(seed: int, *names: str):
    import numpy as np

    digest = hashlib.sha256("\0".join(names).encode()).digest()
    return np.random.default_rng([int(seed), *(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))])


def _key(path: str) -> str:
    return os.path.basename(path)


def pair_up(inputs: list[str], irs: list[str], pairing: str = "all", seed: int = 0) -> list[tuple[str, str]]:
    """The ``(input, ir)`` pairs of a batch.

    Parameters
    ----------
    inputs, irs : list of str
    pairing : {'all', 'zip', 'random'}
        ``all``: every input with every IR (input-major); ``zip``: the
        i-th input with the i-th IR (the lists must be as long); ``random``:
        each input with one IR drawn by ``seed`` and the input's file name.
    seed : int

    Examples
    --------
    >>> pair_up(["a", "b"], ["h", "g"])
    [('a', 'h'), ('a', 'g'), ('b', 'h'), ('b', 'g')]
    >>> pair_up(["a", "b"], ["h", "g"], "zip")
    [('a', 'h'), ('b', 'g')]
    >>> pair_up(["a", "b"], ["h", "g"], "random", seed=1) == pair_up(["a", "b"], ["h", "g"], "random", seed=1)
    True
    """
    if pairing == "all":
        return [(x, h) for x in inputs for h in irs]
    if pairing == "zip":
        if len(inputs) != len(irs):
            raise UsageError(f"--pairs zip needs as many IRs as inputs, not {len(irs)} IR(s) for {len(inputs)} "
                             "input(s); use --pairs all or --pairs random")
        return list(zip(inputs, irs))
    if pairing == "random":
        return [(x, irs[int(_generator(seed, "ir", _key(x)).integers(len(irs)))]) for x in inputs]
    raise UsageError(f"--pairs must be one of {', '.join(PAIRINGS)}, not {pairing!r}")


def draw(level: Range, seed: int, which: str, input_path: str, ir_path: str) -> float:
    """The linear level of one pair: ``level.low`` when fixed, else a uniform draw by seed and the pair's names.

    Examples
    --------
    >>> r = Range(0.3, 1.0)
    >>> 0.3 <= draw(r, 7, "wet", "a.wav", "h.wav") < 1.0
    True
    >>> draw(r, 7, "wet", "a.wav", "h.wav") == draw(r, 7, "wet", "a.wav", "h.wav")
    True
    """
    if level.fixed:
        return level.gain(level.low)
    value = float(_generator(seed, which, _key(input_path), _key(ir_path)).uniform(level.low, level.high))
    return level.gain(min(value, level.high))
