"""Output levels of a convolution: measuring the result, the ceiling, and advice that fits the output format.

The ceiling is the last gain of all: after ``normalize`` and ``gain_db``,
a result whose peak (true peak for ``dBTP``, sample peak for ``dB`` or
``dBFS``) lies above it is turned down to it; a quieter one is left
alone. It combines with every normalization.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import UsageError
from ..quantities import Level, format_level, parse_level
from .mixing import DEFAULT_TARGET_LUFS, db_to_gain, post_gain

__all__ = ["check_ceiling", "check_target_lufs", "OutputMeter", "LevelPlan", "plan_levels", "output_advice"]

#: The loudness targets accepted, in LUFS.
TARGET_LUFS_RANGE = (-70.0, 0.0)
#: Ceilings accepted, in dB re full scale.
CEILING_DB_RANGE = (-60.0, 0.0)


def check_ceiling(ceiling) -> Level | None:
    """``ceiling`` (``"-1dBTP"``, ``"-0.1dBFS"``, a :class:`~sigconv.quantities.Level`; bare numbers dBTP) or None.

    Examples
    --------
    >>> check_ceiling("-1")
    Level(value=-1.0, unit='dBTP')
    >>> check_ceiling("-0.5dB").unit
    'dBFS'
    """
    if ceiling is None:
        return None
    level = ceiling if isinstance(ceiling, Level) else parse_level(ceiling, "dBTP", "--ceiling")
    if level.unit == "LUFS":
        raise UsageError(f"--ceiling is a peak level ({format_level(level)} is a loudness): give -1dBTP for a "
                         "true peak or -0.1dBFS for a sample peak; --loudness sets a loudness")
    if level.unit in ("dB", "linear"):  # a plain level of a peak is the sample peak's
        level = Level(level.db, "dBFS")
    if not CEILING_DB_RANGE[0] <= level.value <= CEILING_DB_RANGE[1]:
        raise UsageError(f"--ceiling must lie between {CEILING_DB_RANGE[0]:g} and {CEILING_DB_RANGE[1]:g} "
                         f"{level.unit}, not {format_level(level)}")
    return level


def check_target_lufs(target) -> float:
    """A loudness target in LUFS (``-23``, ``"-23LUFS"``), within :data:`TARGET_LUFS_RANGE`."""
    level = parse_level(target, "LUFS", "--loudness") if not isinstance(target, Level) else target
    if level.unit != "LUFS":
        raise UsageError(f"--loudness is an integrated loudness in LUFS (-23LUFS), not {format_level(level)}")
    if not TARGET_LUFS_RANGE[0] <= level.value <= TARGET_LUFS_RANGE[1]:
        raise UsageError(f"--loudness must lie between {TARGET_LUFS_RANGE[0]:g} and {TARGET_LUFS_RANGE[1]:g} "
                         f"LUFS, not {level.value:g}")
    return level.value


@dataclass
class OutputMeter:
    """Measures a result block by block: sample peak, energy, and (when asked) loudness and true peak."""

    rate: float
    channels: int
    loudness: bool = False
    true_peak: bool = False
    peak: float = 0.0
    energy: float = 0.0
    samples: int = 0
    _meters: dict = field(default_factory=dict)

    def __post_init__(self):
        from ..loudness import LoudnessMeter, TruePeakMeter

        if self.loudness:
            self._meters["loudness"] = LoudnessMeter(self.rate, self.channels)
        if self.true_peak:
            self._meters["true_peak"] = TruePeakMeter(self.channels)

    def write(self, block: np.ndarray) -> None:
        """Measure the next ``(frames, channels)`` block."""
        if block.shape[0] == 0:
            return
        self.peak = max(self.peak, float(np.max(np.abs(block))))
        self.energy += float(np.sum(np.square(block, dtype=np.float64)))
        self.samples += block.size
        for meter in self._meters.values():
            meter.push(block)

    def integrated_loudness(self) -> float:
        return self._meters["loudness"].loudness() if self.loudness else -math.inf

    def finish_true_peak(self) -> float:
        return self._meters["true_peak"].finish() if self.true_peak else self.peak


@dataclass(frozen=True)
class LevelPlan:
    """The factor for the finished output, and what it did (notes for the user)."""

    scale: float
    notes: tuple[str, ...] = ()


def plan_levels(meter: OutputMeter, normalize: str, gain_db: float, input_energy: float, input_samples: int,
                target_lufs: float = DEFAULT_TARGET_LUFS, ceiling: Level | None = None) -> LevelPlan:
    """The one factor that applies ``normalize``, ``gain_db`` and then ``ceiling`` to what ``meter`` measured.

    Examples
    --------
    >>> meter = OutputMeter(8000, 1)
    >>> meter.write(np.array([[0.5], [-4.0]]))
    >>> plan = plan_levels(meter, "none", 0.0, 1.0, 1, ceiling=Level(-6.0206, "dBFS"))
    >>> round(plan.scale, 4)
    0.125
    """
    notes = []
    loudness = meter.integrated_loudness() if normalize == "lufs" else -math.inf
    scale = post_gain(normalize, gain_db, meter.peak, meter.energy, meter.samples, input_energy, input_samples,
                      loudness, target_lufs)
    if normalize == "lufs":
        if math.isfinite(loudness):
            notes.append(f"loudness {loudness:.1f} LUFS, brought to {target_lufs:g} LUFS "
                         f"({20 * math.log10(scale / db_to_gain(gain_db)):+.1f} dB)")
        else:
            notes.append("the output is silent (below the -70 LUFS gate): --normalize lufs left it as it is")
    if ceiling is not None:
        true = ceiling.unit == "dBTP"
        peak = (meter.finish_true_peak() if true else meter.peak) * scale
        limit = db_to_gain(ceiling.value)
        if peak > limit:
            notes.append(f"{'true ' if true else ''}peak {20 * math.log10(peak):+.2f} "
                         f"{ceiling.unit} lowered {20 * math.log10(peak / limit):.2f} dB to the ceiling, "
                         f"{format_level(ceiling)}")
            scale *= limit / peak
    return LevelPlan(float(scale), tuple(notes))


#: Containers whose encoders are lossy: they store levels over full scale, and players clip them.
LOSSY_FORMATS = ("OGG", "MP3", "MPEG")
#: Containers with no float subtype: a level over full scale can only be lowered.
NO_FLOAT_FORMATS = ("FLAC",)


def output_advice(report) -> str | None:
    """A warning for a written output whose level is over full scale, with remedies that fit its format.

    ``report`` is a :class:`~sigconv.io.report.WriteReport`. Integer
    subtypes clip (the count is in ``report.clipped``); FLAC has no float
    subtype, so only a lower level helps; lossy formats (OGG, MP3) keep
    the excess in the file but decoders and players clip it.
    """
    if report is None or not report.peak > 1.0:
        return None
    fmt = (report.format or "").upper()
    lower = "--ceiling -1dBTP, --normalize peak or lufs, or a negative --gain"
    if report.clipped:
        what = (f"{report.clipped} samples exceeded full scale and were clipped while writing {report.subtype} "
                f"(peak {report.peak_dbfs:+.2f} dBFS)")
        if fmt in NO_FLOAT_FORMATS:
            return f"{what}; {fmt} has no float subtype, so lower the level: {lower}"
        return f"{what}; lower the level ({lower}) or write a float subtype (--subtype FLOAT) to keep them"
    if fmt in LOSSY_FORMATS or (report.subtype or "").upper() in ("VORBIS", "OPUS", "MPEG_LAYER_III"):
        return (f"the {fmt} output peaks at {report.peak_dbfs:+.2f} dBFS, over full scale: decoders and players "
                f"will clip it; use {lower}")
    return None
