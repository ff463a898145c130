"""The report of ``sigconv impulse info``: levels, onset and ISO 3382-1 parameters per channel and band."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..compute.onsets import ir_onset
from ..validation import as_frames
from .acoustics import (
    DECAY_RANGES,
    DecayFit,
    Lundeby,
    clarity,
    decay_time,
    definition,
    direct_to_reverberant,
    energy_decay,
    lundeby,
)
from .bands import OCTAVE_BANDS, band_reason, octave_filter

__all__ = ["BandResult", "ChannelInfo", "ImpulseInfo", "impulse_info", "PARAMETERS"]

#: The per-band parameters, in report order.
PARAMETERS = ("EDT", "T20", "T30", "C50", "C80", "D50")
BROADBAND = "broadband"


@dataclass
class BandResult:
    """The parameters of one band (or the broadband response) of one channel.

    Attributes
    ----------
    values : dict
        ``EDT``, ``T20``, ``T30`` (seconds), ``C50``, ``C80`` (dB) and
        ``D50`` (0..1); None where not measurable.
    reasons : dict
        For each None in `values`, why.
    fits : dict
        The :class:`DecayFit` of each decay time (the lines drawn by the plot).
    edc_db : numpy.ndarray or None
        The energy decay curve from the onset, in dB.
    truncation : Lundeby or None
        Where the decay met the noise floor.
    """

    values: dict
    reasons: dict = field(default_factory=dict)
    fits: dict = field(default_factory=dict)
    edc_db: np.ndarray | None = None
    truncation: Lundeby | None = None

    def as_dict(self) -> dict:
        out = {name: _rounded(name, self.values.get(name)) for name in PARAMETERS}
        out["reasons"] = dict(self.reasons)
        return out


@dataclass
class ChannelInfo:
    """Everything ``impulse info`` reports about one channel (times in seconds from the first frame)."""

    channel: int
    length_s: float
    peak_s: float
    peak_dbfs: float
    onset_s: float
    energy_db: float
    noise_floor_db: float | None
    decay_range_db: float | None
    drr: float | None
    bands: dict
    reasons: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "channel": self.channel,
            "length_s": round(self.length_s, 6),
            "peak_s": round(self.peak_s, 6),
            "peak_dbfs": _round_db(self.peak_dbfs),
            "onset_s": round(self.onset_s, 6),
            "energy_db": _round_db(self.energy_db),
            "noise_floor_db": _round_db(self.noise_floor_db),
            "decay_range_db": _round_db(self.decay_range_db),
            "bands": {name: band.as_dict() for name, band in self.bands.items()},
            "DRR": _round_db(self.drr),
            "reasons": dict(self.reasons),
        }


@dataclass
class ImpulseInfo:
    """The analysis of a (multichannel) impulse response: one :class:`ChannelInfo` per channel."""

    rate: float
    channels: list

    def as_dict(self) -> dict:
        """The JSON document of ``sigconv impulse info --json``."""
        rate = int(self.rate) if float(self.rate).is_integer() else self.rate
        return {"rate": rate, "channels": [c.as_dict() for c in self.channels]}

    def as_text(self) -> str:
        """A table per channel, then why any value is missing ("-" in the table)."""
        lines = []
        for c in self.channels:
            head = (f"channel {c.channel}: {c.length_s:.3f} s, peak {c.peak_dbfs:.1f} dBFS at {c.peak_s:.4f} s, "
                    f"onset {c.onset_s:.4f} s, DRR {_text(c.drr, '{:.1f} dB')}")
            if c.noise_floor_db is not None and math.isfinite(c.noise_floor_db):
                head += f", noise floor {c.noise_floor_db:.1f} dB ({c.decay_range_db:.0f} dB of decay)"
            lines += [head, f"  {'band':<9}" + "".join(f"{name:>8}" for name in PARAMETERS)]
            notes = {}
            for band, result in c.bands.items():
                label = band if band == BROADBAND else f"{band} Hz"
                cells = [_text(result.values[name], _FORMATS[name]) for name in PARAMETERS]
                lines.append(f"  {label:<9}" + "".join(f"{cell:>8}" for cell in cells))
                for name, reason in result.reasons.items():
                    notes.setdefault((label, reason), []).append(name)
            for (label, reason), names in notes.items():
                lines.append(f"  - {label} {', '.join(names)}: {reason}")
            if "DRR" in c.reasons:
                lines.append(f"  - DRR: {c.reasons['DRR']}")
        return "\n".join(lines)


_FORMATS = {"EDT": "{:.3f}", "T20": "{:.3f}", "T30": "{:.3f}", "C50": "{:.2f}", "C80": "{:.2f}", "D50": "{:.3f}"}


def _text(value, fmt: str) -> str:
    return "-" if value is None or not math.isfinite(value) else fmt.format(value)


def _round_db(value):
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 2) + 0.0  # no -0.0


def _rounded(name: str, value):
    if value is None:
        return None
    if name == "D50":
        return round(float(value), 4)
    return round(float(value), 4) if name in DECAY_RANGES else _round_db(value)


def _analyse_band(h: np.ndarray, rate: float) -> BandResult:
    """All of :data:`PARAMETERS` for a response that starts at its onset."""
    truncation = lundeby(h, rate)
    if truncation is None:
        reason = "no decay of 10 dB above the level of its last tenth (the response is too short, or noise)"
        return BandResult(dict.fromkeys(PARAMETERS), dict.fromkeys(PARAMETERS, reason))
    edc = energy_decay(h, rate, truncation)
    values, reasons, fits = {}, {}, {}
    for name in DECAY_RANGES:
        fit: DecayFit = decay_time(edc, rate, name, truncation.range_db)
        fits[name], values[name] = fit, fit.seconds
        if fit.reason:
            reasons[name] = fit.reason
    for name, ms in (("C50", 50), ("C80", 80)):
        values[name] = clarity(h, rate, ms, truncation)
    values["D50"] = definition(h, rate, 50, truncation)
    for name in ("C50", "C80", "D50"):
        if values[name] is None:
            reasons[name] = f"the response ends (meets its noise floor) within {name[1:]} ms of the onset"
    return BandResult(values, reasons, fits, edc, truncation)


def impulse_info(h, rate: float, *, bands=OCTAVE_BANDS) -> ImpulseInfo:
    """Analyse an impulse response: levels, onset, and per band EDT, T20, T30, C50, C80, D50, plus DRR.

    Parameters
    ----------
    h : array_like
        The response, ``(frames,)`` or ``(frames, channels)``; each
        channel is analysed on its own.
    rate : float
        Sample rate in Hz.
    bands : sequence of int, optional
        Nominal octave-band centres (default 125 Hz to 8 kHz); the
        broadband response is always analysed too.

    Returns
    -------
    ImpulseInfo
        Per channel: length, peak position and level, onset (first sample
        within 20 dB of the peak, ISO 3382-1), energy, noise floor and
        decay range (Lundeby), DRR, and per band the parameters with a
        reason for each that cannot be measured.

    Notes
    -----
    Each band is filtered zero-phase (see :mod:`sigconv.impulse.bands`) and
    analysed from the channel's broadband onset. The energy decay curve is
    Schroeder's backward integral, truncated where the decay meets the
    noise and compensated for the energy cut off (Lundeby). EDT, T20 and
    T30 are ``-60 / slope`` of the least-squares line through the EDC
    between 0 and -10, -5 and -25, -5 and -35 dB; T20 and T30 need the
    noise floor 10 dB below the end of their range (ISO 3382-1, 5.3.3).
    C50, C80 are early-to-late energy ratios in dB and D50 the early
    fraction, with the late energy up to the truncation point plus the
    compensation. DRR compares the energy within ±2.5 ms of the peak with
    all the energy after it.

    Examples
    --------
    >>> rate = 8000
    >>> t = np.arange(2 * rate) / rate
    >>> h = np.random.default_rng(1).standard_normal(t.size) * 10 ** (-3 * t / 0.5)
    >>> info = impulse_info(h, rate, bands=(500,))
    >>> round(info.channels[0].bands["broadband"].values["T30"], 1)
    0.5
    """
    data = as_frames(h, "impulse response")
    frames = data.shape[0]
    filtered = {}
    for nominal in bands:
        filtered[str(nominal)] = (band_reason(nominal, rate, frames), None)
        if filtered[str(nominal)][0] is None:
            filtered[str(nominal)] = (None, octave_filter(data, rate, nominal))
    channels = []
    for c in range(data.shape[1]):
        x = data[:, c]
        onset = ir_onset(x)
        peak = int(np.argmax(np.abs(x)))
        energy = float(np.sum(np.square(x)))
        results = {}
        for name, (reason, band_data) in filtered.items():
            if reason:
                results[name] = BandResult(dict.fromkeys(PARAMETERS), dict.fromkeys(PARAMETERS, reason))
            else:
                results[name] = _analyse_band(band_data[onset:, c], rate)
        broadband = _analyse_band(x[onset:], rate)
        results[BROADBAND] = broadband
        truncation = broadband.truncation
        drr = direct_to_reverberant(x[onset:], rate, truncation)
        reasons = {} if drr is not None else {"DRR": "no energy after the direct sound"}
        channels.append(ChannelInfo(
            channel=c, length_s=frames / rate, peak_s=peak / rate,
            peak_dbfs=20 * math.log10(abs(x[peak])) if x[peak] else -math.inf, onset_s=onset / rate,
            energy_db=10 * math.log10(energy) if energy else -math.inf,
            noise_floor_db=truncation.noise_db if truncation else None,
            decay_range_db=truncation.range_db if truncation else None,
            drr=drr, bands=results, reasons=reasons,
        ))
    return ImpulseInfo(rate, channels)
