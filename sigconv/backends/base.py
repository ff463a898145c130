"""What a compute backend is: the operations it runs, its array operations, its cost estimates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..compute.modes import check_mode, mode_slice
from ..errors import BackendUnavailableError, UsageError

__all__ = ["Backend", "EXACT_FLOAT_LIMIT", "Estimate", "OPERATIONS", "Workload", "pair_channels"]

#: The operations a backend may run: ``convolve`` (arrays and streams),
#: ``correlate`` (delays, lag windows, locate, drift), ``deconvolve`` (inverse
#: design, Wiener/Tikhonov streaming, Richardson-Lucy, exact division) and
#: ``measure`` (impulse responses from sweep recordings).
OPERATIONS = ("convolve", "correlate", "deconvolve", "measure")
#: Largest integer result magnitude that float64 transforms (then rounding) keep exact.
EXACT_FLOAT_LIMIT = 2**52 - 1


@dataclass(frozen=True)
class Workload:
    """The size of a job, as the planner prices it.

    Attributes
    ----------
    operation : str
        One of :data:`OPERATIONS`.
    frames : int or None
        Input frames (``n``); None when unknown (a pipe), priced as 10
        minutes at 48 kHz.
    taps : int
        Kernel length, or the second signal's (``m``).
    in_channels, out_channels, paths : int
        Channels in and out, and input-to-output paths.
    dtype : str
        ``"float64"`` or ``"float32"``.
    integer_bound : float or None
        For integer inputs whose exact result is wanted: the largest
        magnitude a result sample could reach
        (``max|x| * max|h| * min(n, m)``, as ``scipy.signal.choose_conv_method``
        bounds it). Transforms whose round-off is removed by rounding
        stay exact below 2^52; above, only exact backends qualify.
    partition : int or None
        A partition length the user forced (``--block``).
    in_memory : bool
        The whole signal is an array in memory (a library call), not a
        stream: a plan that covers it in one transform reuses the plans of
        earlier calls of the same size, so its set-up costs nothing.
    """

    operation: str = "convolve"
    frames: int | None = None
    taps: int = 1
    in_channels: int = 1
    out_channels: int = 1
    paths: int = 1
    dtype: str = "float64"
    integer_bound: float | None = None
    partition: int | None = None
    in_memory: bool = False

    @property
    def known_frames(self) -> int:
        """:attr:`frames`, or 10 minutes at 48 kHz when unknown."""
        return self.frames if self.frames is not None else 48000 * 600


@dataclass(frozen=True)
class Estimate:
    """A backend's prediction for a :class:`Workload`: seconds, and the plan it would run."""

    seconds: float
    plan: object = None


def pair_channels(x: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Bring ``x`` and ``h`` to 2-D ``(frames, channels)`` with matching channels.

    A 1-D array is one channel. A one-channel kernel is shared by every
    channel of ``x`` (and a one-channel ``x`` by every channel of ``h``).

    Returns
    -------
    x2, h2 : numpy.ndarray
        2-D views; the channel count of each is 1 or the common count.
    squeeze : bool
        True when both inputs were 1-D, so the result should be 1-D too.
    """
    squeeze = x.ndim == 1 and h.ndim == 1
    x2 = x.reshape(x.shape[0], -1)
    h2 = h.reshape(h.shape[0], -1)
    cx, ch = x2.shape[1], h2.shape[1]
    if cx != ch and 1 not in (cx, ch):
        raise UsageError(
            f"a backend convolves channel by channel: the signal has {cx} channels and the "
            f"kernel {ch}; give the kernel 1 or {cx} channels"
        )
    return x2, h2, squeeze


class Backend:
    """A compute backend: a name, a description, an availability check, operations.

    Subclasses set :attr:`name` and :attr:`description` and implement
    :meth:`convolve_full`; :meth:`convolve` does the shape handling and the
    mode, and :meth:`stream` runs :meth:`convolve_full` block by block. A
    backend that runs the transform-based operations too (correlate,
    deconvolve, measure) lists them in :attr:`operations` and returns its
    :class:`~sigconv.compute.ops.ArrayOps` from :meth:`ops`; to be chosen by
    ``"auto"`` it prices a :class:`Workload` in :meth:`estimate`. A backend
    that needs an optional library overrides :meth:`unavailable_reason` and
    imports the library only inside its methods, so that listing backends
    stays cheap.

    Examples
    --------
    >>> import numpy as np
    >>> class Naive(Backend):
    ...     name, description = "naive", "numpy.convolve per channel"
    ...     def convolve_full(self, x, h):
    ...         return np.stack([np.convolve(x[:, c % x.shape[1]], h[:, c % h.shape[1]])
    ...                          for c in range(max(x.shape[1], h.shape[1]))], axis=1)
    >>> Naive().convolve(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([1., 3., 2.])
    >>> Naive().supports("correlate")
    False
    """

    name: str = ""
    description: str = ""
    #: The :data:`OPERATIONS` this backend runs.
    operations: frozenset = frozenset({"convolve"})
    #: True when integer inputs give exact results whatever their size (no transform round-off).
    exact: bool = False

    def unavailable_reason(self) -> str | None:
        """Why the backend cannot run here, or None if it can."""
        return None

    @property
    def available(self) -> bool:
        """True when :meth:`unavailable_reason` is None."""
        return self.unavailable_reason() is None

    def supports(self, operation: str) -> bool:
        """True when this backend runs ``operation`` (one of :data:`OPERATIONS`)."""
        return operation in self.operations

    @property
    def has_ops(self) -> bool:
        """True when :meth:`ops` gives array operations: the backend runs more than convolutions."""
        return bool(set(self.operations) - {"convolve"})

    def ops(self, context=None):
        """The :class:`~sigconv.compute.ops.ArrayOps` this backend computes with, for ``context``.

        Raises
        ------
        BackendUnavailableError
            The backend runs convolutions only (no array operations).
        """
        raise BackendUnavailableError(
            f"backend {self.name!r} computes convolutions only; correlate, deconvolve and impulse measure "
            "need a backend with transforms (fft, or auto)"
        )

    def estimate(self, workload: Workload, context=None) -> Estimate | None:
        """Predicted cost of ``workload`` here, or None when this backend does not price it.

        ``"auto"`` picks the cheapest of the backends that give an estimate;
        a backend that gives none is used only when named.
        """
        return None

    def convolve_full(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Full linear convolution along axis 0.

        Parameters
        ----------
        x, h : numpy.ndarray
            2-D ``(frames, channels)`` float arrays of one dtype; each has
            either 1 channel or the common channel count.

        Returns
        -------
        numpy.ndarray
            ``(len(x) + len(h) - 1, channels)``, in the inputs' dtype.
        """
        raise NotImplementedError

    def convolve_planned(self, x: np.ndarray, h: np.ndarray, context=None, plan=None) -> np.ndarray:
        """:meth:`convolve_full` with the execution context and the plan of :meth:`estimate`, when it made one.

        The default ignores both; backends that plan override this.
        """
        return self.convolve_full(x, h)

    def stream(self, h, routes, in_channels, out_channels, dtype=np.float64, n_hint=None, block=None,
               context=None, plan=None):
        """A streaming engine that convolves input blocks with ``h`` along ``routes``.

        The default runs :meth:`convolve_full` block by block and adds the
        overlapping tails (:class:`sigconv.compute.engine.BlockOverlapAdd`),
        so every backend streams; backends with a better scheme override
        this.

        Parameters
        ----------
        h : numpy.ndarray
            ``(m, kernel_channels)`` impulse response.
        routes : list of sigconv.compute.routing.Route
            Input-to-output paths.
        in_channels, out_channels : int
        dtype : numpy dtype
        n_hint : int, optional
            Expected input length, when known.
        block : int, optional
            Block length chosen by the user (``--block``).
        context : ExecutionContext, optional
            Threads the engine may use.
        plan : object, optional
            What :meth:`estimate` planned for this job (so it is not planned twice).
        """
        from ..compute.engine import BlockOverlapAdd

        return BlockOverlapAdd(self, h, routes, in_channels, out_channels, block=block or (1 << 16), dtype=dtype)

    def convolve(self, x: np.ndarray, h: np.ndarray, mode: str = "full", *, context=None, plan=None) -> np.ndarray:
        """Convolve ``x`` with ``h`` along axis 0.

        Parameters
        ----------
        x, h : numpy.ndarray
            Real float arrays, shape ``(frames,)`` or ``(frames, channels)``.
        mode : {'full', 'same', 'valid'}
            Output length as in ``scipy.signal.convolve``.
        context : ExecutionContext, optional
        plan : object, optional
            As for :meth:`stream`.

        Returns
        -------
        numpy.ndarray
            1-D if both inputs are 1-D, else ``(frames, channels)``.
        """
        check_mode(mode)
        x2, h2, squeeze = pair_channels(np.asarray(x), np.asarray(h))
        out = self.convolve_planned(x2, h2, context, plan)[mode_slice(x2.shape[0], h2.shape[0], mode)]
        return out[:, 0] if squeeze else out

    def __repr__(self) -> str:
        return f"<sigconv backend {self.name!r}>"
