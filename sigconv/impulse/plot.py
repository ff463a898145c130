"""One figure (PNG or SVG) that shows an impulse response's analysis: ETC, energy decays with fits, bands, STI.

matplotlib is optional (``pip install 'sigconv[plot]'``) and imported only
here, when a plot is asked for. The figure is drawn on matplotlib's Agg
canvas directly, without pyplot, so the caller's backend is left alone.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import UsageError, missing_dependency
from ..io.atomic import atomic_path, refuse_input_overwrite
from ..validation import as_frames
from .info import BROADBAND, ImpulseInfo

__all__ = ["plot_impulse", "plot_format", "require_matplotlib"]

_FIT_STYLES = {"EDT": ":", "T20": "--", "T30": "-.", "Topt": (0, (5, 1, 1, 1, 1, 1))}
_PLOT_FORMATS = {".png": "png", ".svg": "svg"}


def plot_format(destination: str) -> str:
    """``"png"`` or ``"svg"`` from the destination's extension.

    Raises
    ------
    UsageError
        Any other extension.

    Examples
    --------
    >>> plot_format("ir.SVG")
    'svg'
    """
    extension = os.path.splitext(os.fspath(destination))[1].lower()
    if extension not in _PLOT_FORMATS:
        raise UsageError(f"the plot is written as PNG or SVG, chosen by the extension; {destination!r} has "
                         f"{extension or 'none'}: name it .png or .svg")
    return _PLOT_FORMATS[extension]


def require_matplotlib():
    """matplotlib's ``Figure`` and Agg canvas.

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed; the message says ``pip install 'sigconv[plot]'``.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise missing_dependency("matplotlib", "plot", "plotting") from exc
    return Figure, FigureCanvasAgg


def _smoothed_power(h: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrum smoothed over a sixth of an octave, at log-spaced frequencies from 20 Hz."""
    n = max(h.size, int(rate))  # at least 1 Hz resolution
    power = np.abs(np.fft.rfft(h, n)) ** 2
    freqs = np.fft.rfftfreq(n, 1 / rate)
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    grid = np.geomspace(max(20.0, freqs[1]), rate / 2, 400)
    lo = np.searchsorted(freqs, grid * 2 ** (-1 / 12))
    hi = np.maximum(np.searchsorted(freqs, grid * 2 ** (1 / 12)), lo + 1)
    return grid, (cumulative[hi] - cumulative[lo]) / (hi - lo)


def _values(channel, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One parameter over the bands (NaN where missing), and which values are flagged."""
    results = list(channel.bands.values())
    y = np.array([np.nan if r.values.get(name) is None else r.values[name] for r in results], dtype=float)
    flagged = np.array([bool(r.flags.get(name)) for r in results])
    return y, flagged


def _per_band(axes, info: ImpulseInfo, names, markers, ylabel: str, title: str, scale=None) -> None:
    """Markers per band and channel; flagged values hollow."""
    labels = [n if n != BROADBAND else "all" for n in info.channels[0].bands]
    count = len(info.channels)
    for c, channel in enumerate(info.channels):
        x = np.arange(len(labels)) + (c - (count - 1) / 2) * 0.12
        for name, marker in zip(names, markers):
            y, flagged = _values(channel, name)
            if scale:
                y = y * scale
            label = f"{name}{' ch ' + str(c) if count > 1 else ''}"
            axes.plot(x[~flagged], y[~flagged], marker, color=f"C{c}", linestyle="none", label=label)
            if flagged.any():
                axes.plot(x[flagged], y[flagged], marker, color=f"C{c}", fillstyle="none", linestyle="none")
    axes.set_xticks(np.arange(len(labels)), labels, rotation=90 if len(labels) > 12 else 0,
                    fontsize="small" if len(labels) > 12 else None)
    axes.set(xlabel="band (Hz); hollow: flagged", ylabel=ylabel, title=title)
    axes.legend(loc="best", fontsize="x-small", ncol=2)


def _draw_fits(axes, result, onset_s: float, colour: str, label_fits: bool) -> None:
    """Each fitted line over its own evaluation range, and the truncation point."""
    for name, fit in result.fits.items():
        if fit.seconds is None:
            continue
        span = np.array([fit.start, fit.stop])
        axes.plot(onset_s + span, fit.intercept + fit.slope * span, linestyle=_FIT_STYLES[name], color=colour,
                  linewidth=2.2, alpha=0.8, label=f"{name} {fit.seconds:.2f} s" if label_fits else None)
    if result.truncation_s is not None and result.edc_db is not None:
        axes.axvline(onset_s + result.truncation_s, color=colour, linestyle=":", linewidth=0.8)


def plot_impulse(h, rate: float, info: ImpulseInfo, destination: str, *, title: str | None = None,
                 protect=()) -> str:
    """Draw the analysis into a PNG or SVG (by the extension of `destination`).

    Six panels: the energy-time curve in dB re peak with each channel's
    noise floor; the broadband energy decay curves of every channel with
    each fitted line drawn over its evaluation range and the truncation
    point (dotted); channel 0's energy decay per band with its T30 range
    and truncation; the magnitude response from 20 Hz; EDT, T20, T30 and
    Topt per band; C50, C80 and D50 per band with the STI.

    Parameters
    ----------
    h : array_like
        The response, ``(frames,)`` or ``(frames, channels)``.
    rate : float
        Sample rate in Hz.
    info : ImpulseInfo
        Its analysis (:func:`sigconv.impulse_info`).
    destination : str
        ``.png`` or ``.svg`` path, written atomically.
    title : str, optional
        Figure title (default: none).
    protect : iterable of str
        Inputs that must not be overwritten.

    Returns
    -------
    str
        `destination`.

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed (exit 10 on the command line).
    UsageError
        The extension is neither .png nor .svg.
    OutputError
        The destination is an input, or cannot be written.
    """
    destination = os.fspath(destination)
    fmt = plot_format(destination)
    Figure, FigureCanvasAgg = require_matplotlib()
    data = as_frames(h, "impulse response")
    refuse_input_overwrite(destination, protect)
    figure = Figure(figsize=(13, 12), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    (etc, decay), (bands, magnitude), (times, clarity) = figure.subplots(3, 2)
    if title:
        figure.suptitle(title)
    t = np.arange(data.shape[0]) / rate
    spectra = [_smoothed_power(data[:, c], rate) for c in range(data.shape[1])]
    reference = max(float(p.max()) for _, p in spectra) or 1.0
    lowest = 0.0
    for c, channel in enumerate(info.channels):
        colour = f"C{c}"
        suffix = f" ch {c}" if data.shape[1] > 1 else ""
        peak = np.max(np.abs(data[:, c])) or 1.0
        block = max(1, data.shape[0] // 4000)  # the envelope of blocks keeps an SVG small
        count = data.shape[0] // block
        envelope = np.abs(data[: count * block, c]).reshape(count, block).max(axis=1)
        with np.errstate(divide="ignore"):
            level = 20 * np.log10(envelope / peak)
        etc.plot(t[: count * block: block], level, color=colour, linewidth=0.4, alpha=0.8, label=f"ETC{suffix}")
        noise = channel.noise_re_peak_db
        if noise is not None:
            etc.axhline(noise, color=colour, linestyle="--", linewidth=1.0,
                        label=f"noise floor{suffix} {channel.noise_floor_db:.1f} dBFS")
            lowest = min(lowest, noise)
        broadband = channel.bands[BROADBAND]
        if broadband.edc_db is not None:
            te, curve = _thin(broadband.edc_db, channel.onset_s, rate)
            decay.plot(te, curve, color=colour, linewidth=1.2, label=f"EDC{suffix}")
            _draw_fits(decay, broadband, channel.onset_s, colour, True)
        freqs, power = spectra[c]
        with np.errstate(divide="ignore"):
            magnitude.semilogx(freqs, 10 * np.log10(power / reference), color=colour, linewidth=1.0,
                               label=f"channel {c}" if suffix else None)
    first = info.channels[0]
    names = [n for n in first.bands if n != BROADBAND]
    for i, name in enumerate(names):
        result = first.bands[name]
        if result.edc_db is None:
            continue
        colour = _band_colour(i, len(names))
        te, curve = _thin(result.edc_db, first.onset_s, rate)
        bands.plot(te, curve, color=colour, linewidth=0.9, label=f"{name} Hz")
        fit = result.fits.get("T30")
        if fit is not None and fit.seconds is not None:
            span = np.array([fit.start, fit.stop])
            bands.plot(first.onset_s + span, fit.intercept + fit.slope * span, "|", color=colour, markersize=9)
        at = min(result.edc_db.size - 1, int(round(result.truncation_s * rate)))
        bands.plot(first.onset_s + result.truncation_s, result.edc_db[at], "x", color=colour)
    etc.set(xlabel="time (s)", ylabel="level (dB re peak)", title="energy-time curve",
            ylim=(min(-80.0, lowest - 15), 3))
    decay.set(xlabel="time (s)", ylabel="energy decay (dB)", ylim=(-80, 3),
              title="broadband energy decay; fits over their ranges, dotted: truncation")
    bands.set(xlabel="time (s)", ylabel="energy decay (dB)", ylim=(-80, 3),
              title="energy decay per band (channel 0); |: T30 range, x: truncation")
    magnitude.set(xlabel="frequency (Hz)", ylabel="magnitude (dB, 1/6 octave)", title="magnitude response",
                  ylim=(-60, 3), xlim=(20, rate / 2))
    _per_band(times, info, ("EDT", "T20", "T30", "Topt"), ("^", "o", "s", "D"), "seconds",
              "decay times per band (Topt: over its straightest range)")
    times.set_ylim(bottom=0)
    sti = ", ".join(f"{c.sti.sti:.2f}" for c in info.channels if c.sti is not None and c.sti.sti is not None)
    _per_band(clarity, info, ("C50", "C80"), ("o", "s"), "dB",
              f"clarity C50, C80 and D50 (%, right){'; STI ' + sti if sti else ''}")
    right = clarity.twinx()
    for c, channel in enumerate(info.channels):
        y, _ = _values(channel, "D50")
        right.plot(np.arange(y.size), 100 * y, "d", color=f"C{c}", alpha=0.5)
    right.set(ylabel="D50 (%)", ylim=(0, 100))
    for axes in (etc, decay, bands, magnitude, times, clarity):
        axes.grid(True, which="both", alpha=0.3)
    etc.legend(loc="upper right", fontsize="small")
    decay.legend(loc="upper right", fontsize="small")
    bands.legend(loc="upper right", fontsize="x-small", ncol=2 if len(names) <= 12 else 4)
    if data.shape[1] > 1:
        magnitude.legend(loc="lower left", fontsize="small")
    with atomic_path(destination) as tmp:
        figure.savefig(tmp, format=fmt)
    return destination


def _thin(edc: np.ndarray, onset_s: float, rate: float, points: int = 2000):
    """Times and values of an energy decay curve, every k-th sample (a smooth curve needs no more)."""
    step = max(1, edc.size // points)
    index = np.arange(0, edc.size, step)
    return onset_s + index / rate, edc[index]


def _band_colour(index: int, count: int):
    from matplotlib import colormaps

    return colormaps["viridis"](index / max(1, count - 1))
