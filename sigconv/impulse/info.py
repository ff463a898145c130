"""The report of ``sigconv impulse info``: levels, onset, ISO 3382-1 parameters per band, STI, per channel."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field, fields, replace

import numpy as np

from ..compute.onsets import ONSET_THRESHOLD_DB, ir_onset
from ..errors import InvalidSignalError, UsageError
from ..validation import as_frames
from .acoustics import (
    CURVATURE_LIMIT,
    DECAY_RANGES,
    DecayFit,
    Lundeby,
    centre_time,
    clarity,
    curvature,
    decay_time,
    definition,
    direct_to_reverberant,
    energy_decay,
    lundeby,
)
from .bands import (
    FILTER_MODES,
    band_edges,
    band_filter,
    band_label,
    band_reason,
    resolve_bands,
)
from .checks import ir_problem
from .prefilter import broadband_response, highpass, still_decaying
from .sti import STIResult, channel_sti, check_channel_levels
from .topt import optimal_decay_time

__all__ = ["BandResult", "ChannelInfo", "ImpulseInfo", "InfoSettings", "impulse_info", "PARAMETERS"]

#: The per-band parameters, in report order.
PARAMETERS = ("EDT", "T20", "T30", "Topt", "C50", "C80", "D50", "Ts")
DECAY_TIMES = ("EDT", "T20", "T30", "Topt")
BROADBAND = "broadband"


@dataclass(frozen=True)
class InfoSettings:
    """How :func:`impulse_info` analyses (each field is also a keyword argument of it).

    Attributes
    ----------
    bands : {"octave", "third"} or sequence of float
        Band set (octaves from 63 Hz, third octaves from 31.5 Hz, up to
        16 kHz below Nyquist) or nominal centres; see
        :func:`sigconv.impulse.bands.resolve_bands`.
    fraction : {None, 1, 3}
        Force octave (1) or third-octave (3) bands for a list of centres.
    filter_mode : {"zero-phase", "reversed"}
        How band filters run (:mod:`sigconv.impulse.bands`).
    broadband : {"span", "A", "C", "Z"}
        The broadband response: band-limited to the analysed bands' span
        (lower edge of the lowest to upper edge of the highest), A- or
        C-weighted (IEC 61672-1), or unweighted (Z).
    highpass : float or None
        Cut-off in Hz of a zero-phase 4th-order Butterworth high-pass
        applied first (rumble, sub-sonic content).
    ranges : dict
        Evaluation ranges in dB, ``{"EDT": (0, -10), ...}``, overriding
        :data:`~sigconv.impulse.acoustics.DECAY_RANGES`.
    onset_threshold_db : float
        The onset is the first sample within this many dB of the peak.
    strict : bool
        Null every value that misses an ISO 3382 condition (else it is
        reported with flags).
    snr_db, speech_levels, noise_levels : sequence of 7 float or None
        For the STI: per-octave SNR, or speech and noise levels in dB SPL
        (:func:`sigconv.impulse.sti.sti_from_mtf`); `noise_levels` may
        also hold one row of 7 per channel (from a noise recording,
        :func:`sigconv.impulse.noise.octave_noise_levels`).
    force : bool
        Analyse even what does not look like an impulse response (else
        :class:`~sigconv.errors.InvalidSignalError`).
    """

    bands: object = "octave"
    fraction: int | None = None
    filter_mode: str = "zero-phase"
    broadband: str = "span"
    highpass: float | None = None
    ranges: dict = field(default_factory=dict)
    onset_threshold_db: float = ONSET_THRESHOLD_DB
    strict: bool = False
    snr_db: tuple | None = None
    speech_levels: tuple | None = None
    noise_levels: tuple | None = None
    force: bool = False

    def fit_range(self, name: str) -> tuple[float, float]:
        return tuple(self.ranges.get(name, DECAY_RANGES[name]))


@dataclass
class BandResult:
    """The parameters of one band (or the broadband response) of one channel.

    Attributes
    ----------
    values : dict
        ``EDT``, ``T20``, ``T30``, ``Topt``, ``Ts`` (seconds), ``C50``, ``C80`` (dB)
        and ``D50`` (0..1); None where not measurable.
    reasons : dict
        For each None in `values`, why.
    flags : dict
        For values reported although they miss an ISO 3382 condition, which.
    fits : dict
        The :class:`DecayFit` of each decay time (the lines drawn by the plot).
    edc_db : numpy.ndarray or None
        The energy decay curve from the onset, in dB.
    truncation : Lundeby or None
        Where the decay met the noise floor.
    curvature : float or None
        ``100 (T30/T20 - 1)`` percent (ISO 3382-2 B.3).
    topt_range_db : (float, float) or None
        The evaluation range Topt chose (:mod:`sigconv.impulse.topt`).
    """

    values: dict
    reasons: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    fits: dict = field(default_factory=dict)
    edc_db: np.ndarray | None = None
    truncation: Lundeby | None = None
    curvature: float | None = None
    truncation_s: float | None = None
    topt_range_db: tuple | None = None

    def as_dict(self) -> dict:
        out = {name: _rounded(name, self.values.get(name)) for name in PARAMETERS}
        out["xi"] = {name: _round_db(fit.xi) for name, fit in self.fits.items() if fit.xi is not None}
        out["curvature_pct"] = _round_db(self.curvature)
        out["fit_ranges_s"] = {name: [round(fit.start, 6), round(fit.stop, 6)] for name, fit in self.fits.items()
                               if fit.start is not None}
        out["topt_range_db"] = None if self.topt_range_db is None else list(self.topt_range_db)
        out["truncation_s"] = None if self.truncation_s is None else round(self.truncation_s, 6)
        out["flags"] = {name: list(flags) for name, flags in self.flags.items()}
        out["reasons"] = dict(self.reasons)
        return out


@dataclass
class ChannelInfo:
    """Everything ``impulse info`` reports about one channel (times in seconds from the first frame).

    The noise floor is the RMS level of the noise after the decay (Lundeby's
    estimate, on the whole channel after any high-pass) in dBFS, full scale
    being 1.0; ``noise_re_peak_db`` is the same relative to the peak sample;
    ``inr_db`` the impulse-to-noise ratio, how far the 10 ms energy envelope's
    maximum rises above that noise (the decay range available).
    """

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
    sti: STIResult | None = None
    noise_is_bound: bool = False
    warnings: list = field(default_factory=list)

    @property
    def noise_re_peak_db(self):
        if self.noise_floor_db is None or not math.isfinite(self.noise_floor_db):
            return None
        return self.noise_floor_db - self.peak_dbfs

    def as_dict(self) -> dict:
        return {
            "channel": self.channel,
            "length_s": round(self.length_s, 6),
            "peak_s": round(self.peak_s, 6),
            "peak_dbfs": _round_db(self.peak_dbfs),
            "onset_s": round(self.onset_s, 6),
            "energy_db": _round_db(self.energy_db),
            "noise_floor_dbfs": _round_db(self.noise_floor_db),
            "noise_floor_re_peak_db": _round_db(self.noise_re_peak_db),
            "noise_floor_is_upper_bound": self.noise_is_bound,
            "inr_db": _round_db(self.decay_range_db),
            "bands": {name: band.as_dict() for name, band in self.bands.items()},
            "DRR": _round_db(self.drr),
            "STI": None if self.sti is None else self.sti.as_dict(),
            "warnings": list(self.warnings),
            "reasons": dict(self.reasons),
        }


@dataclass
class ImpulseInfo:
    """The analysis of a (multichannel) impulse response: one :class:`ChannelInfo` per channel."""

    rate: float
    channels: list
    settings: InfoSettings = field(default_factory=InfoSettings)
    fraction: int = 1
    broadband: str = "Z"

    def as_dict(self) -> dict:
        """The JSON document of ``sigconv impulse info --json``."""
        rate = int(self.rate) if float(self.rate).is_integer() else self.rate
        s = self.settings
        return {
            "rate": rate,
            "bands": "octave" if self.fraction == 1 else "third",
            "broadband": self.broadband,
            "filter": s.filter_mode,
            "highpass_hz": s.highpass,
            "ranges_db": {name: list(s.fit_range(name)) for name in DECAY_RANGES},
            "onset_threshold_db": s.onset_threshold_db,
            "strict": s.strict,
            "channels": [c.as_dict() for c in self.channels],
        }

    def as_text(self) -> str:
        """A table per channel, then the flags (``*``) and why any value is missing (``-``)."""
        lines = []
        for c in self.channels:
            head = (f"channel {c.channel}: {c.length_s:.3f} s, peak {c.peak_dbfs:.1f} dBFS at {c.peak_s:.4f} s, "
                    f"onset {c.onset_s:.4f} s, DRR {_text(c.drr, '{:.1f} dB')}")
            lines.append(head)
            if c.noise_floor_db is not None and math.isfinite(c.noise_floor_db):
                if c.noise_is_bound:  # the response ends before its noise (trimmed): its end's level is a bound
                    lines.append(f"  noise floor <= {c.noise_floor_db:.1f} dBFS ({c.noise_re_peak_db:.1f} dB re peak; "
                                 f"the response ends before its noise), INR >= {c.decay_range_db:.1f} dB")
                else:
                    lines.append(f"  noise floor {c.noise_floor_db:.1f} dBFS ({c.noise_re_peak_db:.1f} dB re peak), "
                                 f"INR {c.decay_range_db:.1f} dB")
            lines.append(f"  broadband: {self.broadband}")
            lines.append(f"  {'band':<10}" + "".join(f"{name:>9}" for name in PARAMETERS))
            notes, flagged = {}, {}
            for band, result in c.bands.items():
                label = band if band == BROADBAND else f"{band} Hz"
                cells = [_text(result.values[name], _FORMATS[name]) + ("*" if result.flags.get(name) else " ")
                         for name in PARAMETERS]
                lines.append((f"  {label:<10}" + "".join(f"{cell:>9}" for cell in cells)).rstrip())
                for name, reason in result.reasons.items():
                    notes.setdefault((label, reason), []).append(name)
                for name, flags in result.flags.items():
                    for flag in flags:
                        flagged.setdefault((label, flag), []).append(name)
            ranges = [f"{band if band == BROADBAND else band + ' Hz'} {r.topt_range_db[0]:g}:{r.topt_range_db[1]:g}"
                      for band, r in c.bands.items() if r.topt_range_db is not None]
            if ranges:  # wrapped between bands, never inside one
                wrapped = textwrap.wrap(", ".join(r.replace(" ", "\0") for r in ranges), 96, break_on_hyphens=False)
                lines.extend(("  Topt ranges (dB): " if k == 0 else "    ") + part.replace("\0", " ")
                             for k, part in enumerate(wrapped))
            for (label, flag), names in flagged.items():
                lines.append(f"  * {label} {', '.join(names)}: {flag}")
            for (label, reason), names in notes.items():
                lines.append(f"  - {label} {', '.join(names)}: {reason}")
            if "DRR" in c.reasons:
                lines.append(f"  - DRR: {c.reasons['DRR']}")
            if c.sti is not None:
                if c.sti.sti is None:
                    lines.append(f"  STI -: {c.sti.reason}")
                else:
                    mti = ", ".join(f"{band} {value:.2f}" for band, value in c.sti.mti.items())
                    lines.append(f"  STI {c.sti.sti:.2f} ({_sti_kind(self.settings)}); MTI {mti}")
                if c.sti.noise_levels is not None:
                    levels = ", ".join(f"{band} {value:.1f}" for band, value in zip(c.sti.mti, c.sti.noise_levels))
                    lines.append(f"  STI noise levels (dB SPL): {levels}")
            for warning in c.warnings:
                lines.append(f"  ! {warning}")
        return "\n".join(lines)


def _sti_kind(settings: InfoSettings) -> str:
    if settings.speech_levels is not None:
        return "male, IEC 60268-16:2020, with noise, masking and threshold"
    if settings.snr_db is not None:
        return "male, IEC 60268-16:2020, with the given SNR"
    return "male, IEC 60268-16:2020, level-independent"


_FORMATS = {"EDT": "{:.3f}", "T20": "{:.3f}", "T30": "{:.3f}", "Topt": "{:.3f}", "C50": "{:.2f}", "C80": "{:.2f}", "D50": "{:.3f}",
            "Ts": "{:.4f}"}


def _text(value, fmt: str) -> str:
    return "-" if value is None or not math.isfinite(value) else fmt.format(value)


def _round_db(value):
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 2) + 0.0  # no -0.0


def _rounded(name: str, value):
    if value is None:
        return None
    if name in ("D50", "Ts"):
        return round(float(value), 4)
    return round(float(value), 4) if name in DECAY_TIMES else _round_db(value)


def _analyse_band(h: np.ndarray, rate: float, settings: InfoSettings) -> BandResult:
    """All of :data:`PARAMETERS` for a response that starts at its onset."""
    truncation = lundeby(h, rate)
    if truncation is None:
        reason = "no decay of 10 dB above the level of its last tenth (the response is too short, or noise)"
        return BandResult(dict.fromkeys(PARAMETERS), dict.fromkeys(PARAMETERS, reason))
    edc = energy_decay(h, rate, truncation, extend=True)
    values, reasons, flags, fits = {}, {}, {}, {}
    topt, topt_range = optimal_decay_time(edc, rate, truncation.crossing, truncation.range_db)
    for name in DECAY_TIMES:
        fit: DecayFit = topt if name == "Topt" else decay_time(edc, rate, name, truncation.range_db,
                                                                settings.fit_range(name))
        fits[name], values[name] = fit, fit.seconds
        if fit.reason:
            reasons[name] = fit.reason
        if fit.flags:
            flags[name] = list(fit.flags)
        if fit.stop is not None and fit.stop * rate > truncation.crossing + 1:
            flags.setdefault(name, []).append(
                f"the fit's end ({fit.stop:.3f} s) lies past the truncation point ({truncation.crossing / rate:.3f} s): "
                "it is Lundeby's extrapolated late decay")
    bend = curvature(values["T20"], values["T30"])
    if bend is not None and bend > CURVATURE_LIMIT:
        flags.setdefault("T30", []).append(f"curvature C {bend:.0f} % above {CURVATURE_LIMIT:.0f} % (ISO 3382-2 B.3): "
                                           "the decay is not a single slope")
    for name, ms in (("C50", 50), ("C80", 80)):
        values[name] = clarity(h, rate, ms, truncation)
    values["D50"] = definition(h, rate, 50, truncation)
    for name in ("C50", "C80", "D50"):
        if values[name] is None:
            reasons[name] = f"the response ends (meets its noise floor) within {name[1:]} ms of the onset"
    values["Ts"] = centre_time(h, rate, truncation)
    if values["Ts"] is None:
        reasons["Ts"] = "the response has no energy"
    if settings.strict:  # the flagged values become nulls, their flags the reasons
        for name, missed in list(flags.items()):
            if values.get(name) is not None:
                values[name] = None
                reasons[name] = "; ".join(missed) + " (strict)"
            del flags[name]
    return BandResult(values, reasons, flags, fits, edc, truncation, bend, truncation.crossing / rate, topt_range)


def impulse_info(h, rate: float, *, settings: InfoSettings | None = None, **options) -> ImpulseInfo:
    """Analyse an impulse response: levels, onset, noise, per band EDT, T20, T30, Topt, C50, C80, D50, Ts; DRR, STI.

    Parameters
    ----------
    h : array_like
        The response, ``(frames,)`` or ``(frames, channels)``; each
        channel is analysed on its own.
    rate : float
        Sample rate in Hz.
    settings : InfoSettings, optional
        How to analyse; any of its fields may also be given as a keyword
        (``bands=(125, 250)``, ``strict=True``...).

    Returns
    -------
    ImpulseInfo
        Per channel: length, peak position and level, onset, energy, noise
        floor and INR, DRR, STI, and per band the parameters, with flags
        for the ISO 3382 conditions a value misses and a reason for each
        value that cannot be measured.

    Raises
    ------
    InvalidSignalError
        The signal does not look like an impulse response (no dominant
        peak, or no single decay: speech, music) and ``force`` is not set.
    UsageError
        A band centre is not nominal, or an option is out of range.

    Notes
    -----
    Each band is filtered (IEC 61260-1 class 1, see
    :mod:`sigconv.impulse.bands`) and analysed from the channel's onset.
    The energy decay curve is Schroeder's backward integral, truncated
    where the decay meets the noise and compensated for the energy cut off
    (Lundeby). EDT, T20 and T30 are ``-60 / slope`` of the least-squares
    line through the EDC between 0 and -10, -5 and -25, -5 and -35 dB
    (or the given ranges). ISO 3382-1 (5.3.3) wants the noise floor 10 dB
    below the end of each range; a value that misses it is reported with a
    flag, as is one whose regression has a non-linearity xi above 10 per
    mille and a T30 whose curvature ``100 (T30/T20 - 1)`` exceeds 10 %
    (ISO 3382-2, Annex B); ``strict=True`` nulls them instead. Topt is
    the decay time over the straightest 20 dB or more of the measured
    curve (:mod:`sigconv.impulse.topt`). C50, C80
    are early-to-late energy ratios in dB, D50 the early fraction and Ts
    the centre time, with the late energy up to the truncation point plus
    the compensation. DRR compares the energy within ±2.5 ms of the peak
    with all the energy after it. The STI is that of
    :mod:`sigconv.impulse.sti`.

    Examples
    --------
    >>> rate = 8000
    >>> t = np.arange(2 * rate) / rate
    >>> h = np.random.default_rng(1).standard_normal(t.size) * 10 ** (-3 * t / 0.5)
    >>> info = impulse_info(h, rate, bands=(500,))
    >>> round(info.channels[0].bands["500"].values["T30"], 1)
    0.5
    """
    unknown = set(options) - {f.name for f in fields(InfoSettings)}
    if unknown:
        raise UsageError(f"unknown option {min(unknown)!r} of impulse_info; it takes the fields of InfoSettings")
    settings = replace(settings or InfoSettings(), **options) if options else (settings or InfoSettings())
    if settings.filter_mode not in FILTER_MODES:
        raise UsageError(f"filter_mode must be one of {', '.join(FILTER_MODES)}, not {settings.filter_mode!r}")
    for name in settings.ranges:
        if name not in DECAY_RANGES:
            raise UsageError(f"fit ranges are for {', '.join(DECAY_RANGES)}, not {name!r}")
        top, bottom = settings.fit_range(name)
        if not (0 >= top > bottom):
            raise UsageError(f"the {name} range must fall from its start to its end (0 >= start > end dB), "
                             f"not {top:g}:{bottom:g}")
    if not settings.onset_threshold_db < 0:
        raise UsageError(f"the onset threshold is a level below the peak (negative dB), not "
                         f"{settings.onset_threshold_db:g}")
    data = as_frames(h, "impulse response")
    raw = data
    check_channel_levels(settings.noise_levels, data.shape[1])
    # before any filtering (a high-pass rings at the ends), and before the work
    problems = [ir_problem(raw[:, c], rate, ir_onset(raw[:, c])) for c in range(raw.shape[1])]
    for c, problem in enumerate(problems):
        if problem and not settings.force:
            raise InvalidSignalError(f"channel {c} does not look like an impulse response: {problem}; "
                                     "analyse it anyway with --force (force=True in the library)")
    if settings.highpass is not None:
        data = highpass(data, rate, settings.highpass)
    frames = data.shape[0]
    nominals, fraction = resolve_bands(settings.bands, rate, settings.fraction)
    filtered = {}
    for nominal in nominals:
        reason = band_reason(nominal, rate, frames, fraction)
        filtered[band_label(nominal)] = (reason, None if reason else
                                         band_filter(data, rate, nominal, fraction, settings.filter_mode))
    usable = [n for n in nominals if filtered[band_label(n)][0] is None] or list(nominals)
    span = (band_edges(min(usable), fraction)[0], band_edges(max(usable), fraction)[1])
    wide, described = broadband_response(data, rate, settings.broadband, span)
    channels = []
    for c in range(data.shape[1]):
        x = data[:, c]
        onset = ir_onset(x, settings.onset_threshold_db)
        warnings = [f"this does not look like an impulse response: {problems[c]}"] if problems[c] else []
        peak = int(np.argmax(np.abs(raw[:, c])))
        energy = float(np.sum(np.square(raw[:, c])))
        results = {}
        for name, (reason, band_data) in filtered.items():
            if reason:
                results[name] = BandResult(dict.fromkeys(PARAMETERS), dict.fromkeys(PARAMETERS, reason))
            else:
                results[name] = _analyse_band(band_data[onset:, c], rate, settings)
        results[BROADBAND] = _analyse_band(wide[onset:, c], rate, settings)
        done = {name: band_data[:, c] for name, (reason, band_data) in filtered.items()
                if fraction == 1 and reason is None}
        noise = lundeby(x[onset:], rate)
        drr = direct_to_reverberant(x[onset:], rate, noise)
        reasons = {} if drr is not None else {"DRR": "no energy after the direct sound"}
        # a response cut where its decay meets the noise holds no noise to measure: the level of its end is a bound
        bound = noise is not None and math.isfinite(noise.noise_db) and (
            noise.crossing >= 0.9 * (frames - onset) or still_decaying(x[onset:]))
        channels.append(ChannelInfo(
            channel=c, length_s=frames / rate, peak_s=peak / rate,
            peak_dbfs=20 * math.log10(abs(raw[peak, c])) if raw[peak, c] else -math.inf, onset_s=onset / rate,
            energy_db=10 * math.log10(energy) if energy else -math.inf,
            noise_floor_db=noise.noise_db if noise else None,
            decay_range_db=noise.range_db if noise else None,
            drr=drr, bands=results, reasons=reasons, sti=channel_sti(x, rate, onset, settings, done, c), noise_is_bound=bound,
            warnings=warnings,
        ))
    return ImpulseInfo(rate, channels, settings, fraction, described)
