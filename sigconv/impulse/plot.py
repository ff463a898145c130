"""One PNG that shows an impulse response at a glance: waveform, energy decay with its fits, magnitude.

matplotlib is optional (``pip install 'sigconv[plot]'``) and imported only
here, when a plot is asked for. The figure is drawn on matplotlib's Agg
canvas directly, without pyplot, so the caller's backend is left alone.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import missing_dependency
from ..io.atomic import atomic_path, refuse_input_overwrite
from ..validation import as_frames
from .info import BROADBAND, ImpulseInfo

__all__ = ["plot_impulse", "require_matplotlib"]

_FIT_STYLES = {"EDT": ":", "T20": "--", "T30": "-."}


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
    """Power spectrum smoothed over a sixth of an octave, at log-spaced frequencies."""
    n = max(h.size, int(rate))  # at least 1 Hz resolution
    power = np.abs(np.fft.rfft(h, n)) ** 2
    freqs = np.fft.rfftfreq(n, 1 / rate)
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    grid = np.geomspace(max(10.0, freqs[1]), rate / 2, 400)
    lo = np.searchsorted(freqs, grid * 2 ** (-1 / 12))
    hi = np.maximum(np.searchsorted(freqs, grid * 2 ** (1 / 12)), lo + 1)
    return grid, (cumulative[hi] - cumulative[lo]) / (hi - lo)


def _draw_decay_times(axes, channel, colour: str, index: int, channels: int) -> None:
    """T20 and T30 of each band as markers (missing values are simply absent)."""
    names = list(channel.bands)
    x = np.arange(len(names)) + (index - (channels - 1) / 2) * 0.12
    for name, marker in (("T20", "o"), ("T30", "s")):
        values = [channel.bands[b].values.get(name) for b in names]
        y = np.array([np.nan if v is None else v for v in values], dtype=float)
        label = f"{name}{' ch ' + str(index) if channels > 1 else ''}"
        axes.plot(x, y, marker, color=colour, fillstyle="none" if name == "T20" else "full", label=label)
    axes.set_xticks(np.arange(len(names)), [n if n != BROADBAND else "all" for n in names])
    axes.set_ylim(bottom=0)


def plot_impulse(h, rate: float, info: ImpulseInfo, destination: str, *, title: str | None = None,
                 protect=()) -> str:
    """Draw waveform, energy decay curve (dB, with the EDT/T20/T30 lines) and magnitude response into a PNG.

    Parameters
    ----------
    h : array_like
        The response, ``(frames,)`` or ``(frames, channels)``.
    rate : float
        Sample rate in Hz.
    info : ImpulseInfo
        Its analysis (:func:`sigconv.impulse_info`), for the decay curves
        and fitted lines.
    destination : str
        The PNG's path, written atomically.
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
    OutputError
        The destination is an input, or cannot be written.
    """
    Figure, FigureCanvasAgg = require_matplotlib()
    data = as_frames(h, "impulse response")
    destination = os.fspath(destination)
    refuse_input_overwrite(destination, protect)
    figure = Figure(figsize=(12, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    (wave, decay), (magnitude, times) = figure.subplots(2, 2)
    t = np.arange(data.shape[0]) / rate
    spectra = [_smoothed_power(data[:, c], rate) for c in range(data.shape[1])]
    reference = max(float(p.max()) for _, p in spectra) or 1.0
    for c, channel in enumerate(info.channels):
        colour = f"C{c}"
        label = f"channel {c}" if data.shape[1] > 1 else None
        wave.plot(t, data[:, c], color=colour, linewidth=0.6, label=label)
        broadband = channel.bands[BROADBAND]
        if broadband.edc_db is not None:
            te = channel.onset_s + np.arange(broadband.edc_db.size) / rate
            decay.plot(te, broadband.edc_db, color=colour, linewidth=1.2, label=f"EDC{' ch ' + str(c) if label else ''}")
            for name, fit in broadband.fits.items():
                if fit.seconds is None:
                    continue
                # the fitted line, drawn on to -65 dB so that its slope stands out from the curve
                span = np.array([0.0, (-65 - fit.intercept) / fit.slope])
                decay.plot(channel.onset_s + span, fit.intercept + fit.slope * span, _FIT_STYLES[name], color="k",
                           linewidth=0.9, label=f"{name} {fit.seconds:.2f} s" if c == 0 else None)
        freqs, power = spectra[c]
        with np.errstate(divide="ignore"):
            magnitude.semilogx(freqs, 10 * np.log10(power / reference), color=colour, linewidth=1.0, label=label)
        _draw_decay_times(times, channel, colour, c, data.shape[1])
    wave.set(xlabel="time (s)", ylabel="amplitude", title=title or "impulse response")
    decay.set(xlabel="time (s)", ylabel="energy decay (dB)", ylim=(-80, 3), title="Schroeder energy decay (broadband)")
    magnitude.set(xlabel="frequency (Hz)", ylabel="magnitude (dB, 1/6 octave)", title="magnitude response",
                  ylim=(-60, 3))
    times.set(xlabel="octave band (Hz)", ylabel="seconds", title="decay times per band")
    times.legend(loc="lower right", fontsize="small")
    for axes in (wave, decay, magnitude, times):
        axes.grid(True, which="both", alpha=0.3)
    decay.legend(loc="upper right", fontsize="small")
    if data.shape[1] > 1:
        wave.legend(loc="upper right", fontsize="small")
    with atomic_path(destination) as tmp:
        figure.savefig(tmp, format="png")
    return destination
