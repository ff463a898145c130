"""Recover impulse responses from recordings of an exponential sine sweep (Farina's method).

The recording is convolved with a regularised inverse of the sweep that
was played (:func:`sigconv.compute.inverses.regularised_inverse`): in
the sweep's band the product of the two spectra is exactly one, outside it
a raised-cosine taper keeps noise from being amplified where the sweep put
no energy. The backend chosen for the ``measure`` operation designs the
inverse with its :class:`~sigconv.compute.ops.ArrayOps` and convolves the
recording with it. Any sweep file works, not
only sigconv's own: its start and stop frequencies and its rate of rise
``L`` are read from the file (instantaneous frequency of the analytic
signal, fitted as :math:`\\ln f(t) = \\ln f_0 + t / L`).

Time zero of the result (the moment the sweep starts playing) falls at the
inverse's modelling delay; the response of harmonic *k* arrives
:math:`L \\ln k` seconds before it, so harmonic distortion is cut away from
the linear response and can be kept on its own. The spectrum of the *k*-th
harmonic response at frequency *f* is the distortion produced at *f* by an
excitation at *f / k*.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..backends.base import Workload
from ..backends.planner import choose_backend
from ..backends.registry import AUTO
from ..compute.context import ExecutionContext, resolve_context
from ..compute.frames import zero_padded_slice
from ..compute.inverses import regularised_inverse
from ..compute.onsets import ir_onset
from ..errors import InvalidSignalError, UsageError
from ..limits import check_finite
from ..validation import as_frames
from .acoustics import lundeby

__all__ = ["SweepEstimate", "IRMeasurement", "estimate_sweep", "inverse_filter", "measure_ir"]

#: Default pre-delay kept before the direct sound when the start is trimmed, in seconds.
DEFAULT_PREDELAY = 0.002
#: Default highest harmonic order separated.
DEFAULT_MAX_ORDER = 5

# In-band regularisation relative to the sweep's largest spectral power:
# 60 dB below it, so that the inverse is exact to -60 dB even where a
# 20 Hz - 20 kHz sweep is 30 dB weaker than at its start.
_EPSILON = 1e-6
# Energy of the IR after the 2nd-harmonic gap, relative to all of it, above which a note warns of overlap.
_OVERLAP_ENERGY = 1e-6
# Width of the raised-cosine tapers inside the band edges, in octaves.
_TAPER_LOW, _TAPER_HIGH = 1 / 6, 1 / 12


@dataclass(frozen=True)
class SweepEstimate:
    """What the sweep file says about the sweep: frames, band and rate of rise.

    Attributes
    ----------
    start, stop : int
        First and one-past-last frame of the sweep (without silence).
    f0, f1 : float
        Start and stop frequencies in Hz.
    sweep_rate : float
        ``L`` in seconds: the sweep multiplies its frequency by *e* every
        ``L`` seconds.
    """

    start: int
    stop: int
    f0: float
    f1: float
    sweep_rate: float

    def harmonic_delay(self, order: int) -> float:
        """Seconds by which harmonic ``order``'s response precedes the linear one: ``L ln k``."""
        return self.sweep_rate * math.log(order)


@dataclass
class IRMeasurement:
    """The result of :func:`measure_ir`.

    Attributes
    ----------
    ir : numpy.ndarray
        The linear impulse response, ``(frames, channels)``.
    rate : float
    start_s : float
        Time of the IR's first frame after the sweep started playing (the
        system's latency less the kept pre-delay; 0 when not trimmed).
    harmonics : dict
        Harmonic order (2, 3, ...) to its response, ``(frames, channels)``,
        on the same time base as `ir` relative to its own arrival.
    sweep : SweepEstimate
    noise_floor_db : float or None
        Noise floor in dBFS: the RMS level (full scale 1.0) of the noise
        after the decay, Lundeby's estimate on the whole deconvolved channel
        from its onset, for the noisiest channel. ``sigconv impulse info``
        states it the same way; on a response trimmed where its decay meets
        the noise it can only give an upper bound.
    notes : list of str
    peak_dbfs : float
        The IR's peak sample in dBFS (property); the noise floor relative to
        the peak is ``noise_floor_db - peak_dbfs``.
    """

    ir: np.ndarray
    rate: float
    start_s: float
    harmonics: dict
    sweep: SweepEstimate
    noise_floor_db: float | None = None
    notes: list = field(default_factory=list)

    @property
    def peak_dbfs(self) -> float:
        peak = float(np.max(np.abs(self.ir))) if self.ir.size else 0.0
        return 20 * math.log10(peak) if peak > 0 else -math.inf


def _default_ops(ops):
    if ops is None:
        from ..compute.ops import ArrayOps

        return ArrayOps()
    return ops


def _analytic(ops, x: np.ndarray) -> np.ndarray:
    """The analytic signal ``x + i H{x}`` of the host signal ``x`` (as ``scipy.signal.hilbert``), on the host.

    The Hilbert transform turns each positive frequency by -90°; DC and
    Nyquist have none.
    """
    spectrum = ops.rfft(ops.to_device(x))
    spectrum *= -1j
    spectrum[0] = 0
    if x.size % 2 == 0:
        spectrum[-1] = 0
    return x + 1j * ops.to_host(ops.irfft(spectrum, x.size))


def estimate_sweep(x: np.ndarray, rate: float, ops=None) -> SweepEstimate:
    """Read the band and the rate of rise of an exponential sine sweep from its samples.

    ``ops`` computes the transforms (default: NumPy and scipy.fft).

    Raises
    ------
    InvalidSignalError
        Silence, or a signal whose instantaneous frequency does not rise
        exponentially (not an exponential sweep).

    Examples
    --------
    >>> from sigconv.impulse.sweep import exponential_sweep
    >>> est = estimate_sweep(exponential_sweep(8000, 2.0, 50, 2000, silence=0.5), 8000)
    >>> round(est.f0), round(est.f1, -1), round(est.sweep_rate, 3), est.stop <= 16000
    (50, 2000.0, 0.542, True)
    """
    x = np.asarray(x, dtype=np.float64)
    peak = np.max(np.abs(x))
    if peak == 0:
        raise InvalidSignalError("the sweep is silent; give the sweep file that was played")
    active = np.flatnonzero(np.abs(x) > 1e-4 * peak)
    start, stop = int(active[0]), int(active[-1]) + 1
    if stop - start < 16:
        raise InvalidSignalError(f"the sweep has only {stop - start} samples of signal; it needs far more")
    z = _analytic(_default_ops(ops), x[start:stop])
    strong = np.abs(z[1:]) > 0.5 * np.max(np.abs(z))
    frequency = np.angle(z[1:] * np.conj(z[:-1])) * rate / (2 * np.pi)
    keep = strong & (frequency > 0)
    t = (np.arange(1, stop - start) / rate)[keep]
    if t.size < 16:
        raise InvalidSignalError("the sweep file does not hold an exponential sine sweep (no steady tone found)")
    log_f = np.log(frequency[keep])
    slope, intercept = np.polyfit(t, log_f, 1)
    misfit = float(np.sqrt(np.mean((log_f - (intercept + slope * t)) ** 2)))
    if slope <= 0 or misfit > 0.05:
        raise InvalidSignalError(
            "the sweep file does not hold an exponential sine sweep (its frequency does not rise by a constant "
            f"ratio per second: misfit {misfit:.2f}); make one with `sigconv impulse sweep`"
        )
    duration = (stop - start) / rate
    f0 = math.exp(intercept)
    f1 = min(math.exp(intercept + slope * duration), rate / 2)
    return SweepEstimate(start, stop, f0, f1, float(1 / slope))


def _band_window(xp, freqs, f0: float, f1: float):
    """1 inside ``[f0, f1]`` less raised-cosine tapers (log-frequency) just inside the edges, 0 outside."""
    positive = xp.maximum(freqs, 1e-300)  # 0 Hz lies outside any band; its logarithm is not needed
    octaves_up = xp.log2(positive / f0)
    octaves_down = xp.log2(f1 / positive)
    inside = (octaves_up >= 0) & (octaves_down >= 0)
    rise = xp.clip(octaves_up / _TAPER_LOW, 0, 1)
    fall = xp.clip(octaves_down / _TAPER_HIGH, 0, 1)
    return xp.where(inside, (0.5 - 0.5 * xp.cos(np.pi * rise)) * (0.5 - 0.5 * xp.cos(np.pi * fall)), 0.0)


def _inverse_fir(ops, x, rate: float, sweep: SweepEstimate):
    """The inverse FIR of :func:`inverse_filter` for the device sweep ``x``, on the device."""
    xp = ops.xp
    n = ops.next_fast_len(2 * x.shape[0])
    spectrum = ops.rfft(x, n)
    power = xp.square(spectrum.real)
    power += xp.square(spectrum.imag)
    g = regularised_inverse(ops, spectrum, _EPSILON * xp.max(power), power=power)
    g *= _band_window(xp, xp.arange(g.shape[0]) * (rate / n), sweep.f0, sweep.f1)
    return xp.roll(ops.irfft(g, n), x.shape[0])


def inverse_filter(x: np.ndarray, rate: float, sweep: SweepEstimate, ops=None) -> tuple[np.ndarray, int]:
    """A causal FIR that turns the sweep ``x`` into a band-limited impulse, and its modelling delay.

    ``G(f) = W(f) X*(f) / (|X(f)|² + ε)``, with ``W`` the band window and
    ``ε`` 60 dB below the sweep's largest spectral power, shifted by
    ``len(x)`` frames to make it causal. ``ops`` computes it (default:
    NumPy and scipy.fft); the FIR comes back on the host.

    Returns
    -------
    fir : numpy.ndarray
        ``2 len(x)`` (rounded up to a fast FFT length) taps.
    delay : int
        The frame of ``x ⊗ fir`` at which the impulse stands (time zero).

    Examples
    --------
    >>> from sigconv.impulse.sweep import exponential_sweep
    >>> x = exponential_sweep(8000, 1.0, 50, 3000, silence=0.2)
    >>> fir, delay = inverse_filter(x, 8000, estimate_sweep(x, 8000))
    >>> y = np.convolve(x, fir)
    >>> gain = np.abs(np.fft.rfft(y[delay - 4000 : delay + 4000]))  # 1 Hz per bin
    >>> int(np.argmax(y)) == delay, [round(float(gain[f]), 4) for f in (100, 1000, 2500)], float(gain[3500])
    (True, [1.0, 1.0, 1.0], 0.0)
    """
    ops = _default_ops(ops)
    x = np.asarray(x, dtype=np.float64)
    return ops.to_host(_inverse_fir(ops, ops.to_device(x), rate, sweep)), x.size


def _check_inputs(recording: np.ndarray, sweep: np.ndarray, est: SweepEstimate, rate: float) -> None:
    if recording.shape[0] < est.stop:
        raise InvalidSignalError(
            f"the recording ({recording.shape[0] / rate:.3f} s) is shorter than the sweep ({est.stop / rate:.3f} s); "
            "record the whole sweep and the silence after it"
        )


def measure_ir(recording, sweep, rate: float, *, length: float | None = None, trim_start: bool = True,
               keep_predelay: float = DEFAULT_PREDELAY, trim_end: bool = True,
               max_order: int = DEFAULT_MAX_ORDER, backend: str = AUTO,
               context: ExecutionContext | int | None = None,
               progress: Callable[[int, int, str], None] | None = None) -> IRMeasurement:
    """Impulse response(s) of a system from a recording of a sine sweep played through it.

    Parameters
    ----------
    recording : array_like
        The recorded output, ``(frames,)`` or ``(frames, channels)``: every
        channel gives one channel of the IR. It must start no later than
        the sweep started playing and hold the whole sweep.
    sweep : array_like
        The sweep that was played, 1-D (or a single channel), with its
        trailing silence, as :func:`exponential_sweep` makes it.
    rate : float
        Sample rate of both, in Hz.
    length : float, optional
        Longest IR to keep, in seconds from its first frame. Default: as
        much as the recording holds after the sweep ended.
    trim_start : bool, optional
        Start the IR `keep_predelay` seconds before the direct sound (the
        first sample within 20 dB of the peak, shared by all channels)
        instead of at the moment the sweep started (default True).
    keep_predelay : float, optional
        Seconds kept before the direct sound (default 0.002).
    trim_end : bool, optional
        End the IR where its decay meets the noise floor (Lundeby's
        method; the latest channel decides), default True.
    max_order : int, optional
        Highest harmonic order whose response is separated (default 5;
        1 for none).
    backend : str, optional
        Compute backend (see ``sigconv backends``); ``"auto"`` (default)
        picks the fastest of those that run measure. It designs the
        sweep's inverse and convolves the recording with it.
    context : ExecutionContext or int, optional
        Threads the job may use (an int is a thread count).
    progress : callable, optional
        Called as ``progress(step, steps, description)``.

    Returns
    -------
    IRMeasurement
        The IR, the harmonic responses, the latency and notes.

    Raises
    ------
    InvalidSignalError
        The sweep is not an exponential sweep; the recording is shorter
        than the sweep.
    UsageError
        A negative `length` or `keep_predelay`, a `max_order` below 1.
    BackendUnavailableError
        `backend` is unknown, unavailable, or does not run measure.

    Examples
    --------
    >>> from sigconv.impulse.sweep import exponential_sweep
    >>> x = exponential_sweep(8000, 2.0, 40, 3500, silence=1.0)
    >>> room = np.zeros(400); room[100], room[300] = 1.0, -0.5
    >>> result = measure_ir(np.convolve(x, room), x, 8000, trim_start=False)
    >>> h = result.ir[:, 0]
    >>> first, second = sorted(np.argsort(-np.abs(h))[:2].tolist())
    >>> first, second, round(float(h[second] / h[first]), 3)
    (100, 300, -0.5)
    """
    if length is not None and not (check_finite(length, "length", " of seconds") > 0):
        raise UsageError(f"the IR length must be positive, not {length:g} s")
    if check_finite(keep_predelay, "keep_predelay", " of seconds") < 0:
        raise UsageError(f"the pre-delay to keep must be zero or more seconds, not {keep_predelay:g}")
    if max_order < 1:
        raise UsageError(f"the highest harmonic order must be 1 (none) or more, not {max_order}")
    step = progress or (lambda done, total, what: None)
    y_rec = as_frames(recording, "recording")
    x = as_frames(sweep, "sweep")
    if x.shape[1] > 1:
        if not np.allclose(x, x[:, :1]):
            raise InvalidSignalError(f"the sweep has {x.shape[1]} different channels; give the mono sweep that was "
                                     "played")
        notes_sweep = [f"the sweep's {x.shape[1]} channels are identical; used the first"]
    else:
        notes_sweep = []
    x = x[:, 0]
    context = resolve_context(context)
    workload = Workload("measure", y_rec.shape[0], x.shape[0], y_rec.shape[1], y_rec.shape[1], y_rec.shape[1])
    chosen, _ = choose_backend(backend, workload, context)
    ops = chosen.ops(context)
    step(0, 3, "reading the sweep")
    est = estimate_sweep(x, rate, ops)
    _check_inputs(y_rec, x, est, rate)
    notes = list(notes_sweep)
    fir, delay = inverse_filter(x, rate, est, ops)
    step(1, 3, "deconvolving")
    available = y_rec.shape[0] - est.stop  # frames recorded after the sweep ended
    if available < 0.05 * rate:
        notes.append(f"only {available / rate:.3f} s were recorded after the sweep ended, so the IR is at most that "
                     "long; record the sweep's trailing silence too")
    # the backend's own convolution: host arrays in and out, its ops inside
    y = chosen.convolve(y_rec, fir, context=context)[: delay + max(available, 1)]
    step(2, 3, "trimming")
    linear = y[delay:]
    onset = ir_onset(linear)
    pre = int(round(keep_predelay * rate))
    first = onset - pre if trim_start else 0
    stop = linear.shape[0]
    noise_db = None
    ends = []
    for c in range(linear.shape[1]):
        truncation = lundeby(linear[onset:, c], rate)
        if truncation is not None:
            ends.append(onset + truncation.crossing)
            if noise_db is None or truncation.noise_db > noise_db:
                noise_db = truncation.noise_db
    if trim_end and ends:
        stop = min(stop, max(ends))
    if length is not None:
        stop = min(stop, first + int(round(length * rate)))
    # from before time zero where the kept pre-delay reaches there
    ir = zero_padded_slice(y, delay + first, delay + max(stop, first + 1))
    gap = est.harmonic_delay(2)
    energy = np.square(ir)
    if energy[onset - first + int(gap * rate):].sum() > _OVERLAP_ENERGY * energy.sum():
        notes.append(f"the IR has not decayed by 60 dB when the 2nd-harmonic response starts ({gap:.2f} s after the "
                     "direct sound): any distortion's reverberant tail overlaps the IR; use a longer sweep")
    harmonics = {}
    for k in range(2, max_order + 1):
        begin = delay + first - int(round(est.harmonic_delay(k) * rate))
        end = delay + first - int(round(est.harmonic_delay(k - 1) * rate))
        if begin < 0 or end - begin < 2:
            notes.append(f"harmonic orders from {k} on arrive before the recording's start; not separated")
            break
        harmonics[k] = zero_padded_slice(y, begin, min(end, begin + ir.shape[0]))
    step(3, 3, "done")
    return IRMeasurement(ir, rate, first / rate, harmonics, est, noise_db, notes)
