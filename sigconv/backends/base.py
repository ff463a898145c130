"""What a compute backend is, and the helpers every backend shares."""

from __future__ import annotations

import numpy as np

from ..errors import UsageError

__all__ = ["Backend", "MODES", "check_mode", "mode_slice", "pair_channels"]

#: Output-length modes, with the meaning of ``scipy.signal.convolve``.
MODES = ("full", "same", "valid")


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is one of :data:`MODES`, else raise :class:`UsageError`."""
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def mode_slice(n: int, m: int, mode: str) -> slice:
    """The part of a full convolution (length ``n + m - 1``) that ``mode`` keeps.

    Parameters
    ----------
    n, m : int
        Lengths of the signal and the kernel.
    mode : {'full', 'same', 'valid'}
        ``full``: everything; ``same``: ``n`` samples centred as in
        ``scipy.signal.convolve``; ``valid``: the ``max(n, m) - min(n, m) + 1``
        samples where the two overlap completely.

    Examples
    --------
    >>> mode_slice(5, 3, "same"), mode_slice(5, 3, "valid")
    (slice(1, 6, None), slice(2, 5, None))
    """
    check_mode(mode)
    if mode == "full":
        return slice(0, n + m - 1)
    if mode == "same":
        start = (m - 1) // 2
        return slice(start, start + n)
    return slice(min(n, m) - 1, max(n, m))


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
    mode. A backend that needs an optional library overrides
    :meth:`unavailable_reason` and imports the library only inside its
    methods, so that listing backends stays cheap.

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
    """

    name: str = ""
    description: str = ""

    def unavailable_reason(self) -> str | None:
        """Why the backend cannot run here, or None if it can."""
        return None

    @property
    def available(self) -> bool:
        """True when :meth:`unavailable_reason` is None."""
        return self.unavailable_reason() is None

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

    def stream(self, h, routes, in_channels, out_channels, dtype=np.float64, n_hint=None, block=None):
        """A streaming engine that convolves input blocks with ``h`` along ``routes``.

        The default runs :meth:`convolve_full` block by block and adds the
        overlapping tails (:class:`sigconv.compute.engine.BlockOverlapAdd`), so every
        backend streams; backends with a better scheme override this.

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
        """
        from ..compute.engine import BlockOverlapAdd

        return BlockOverlapAdd(self, h, routes, in_channels, out_channels, block=block or (1 << 16), dtype=dtype)

    def convolve(self, x: np.ndarray, h: np.ndarray, mode: str = "full") -> np.ndarray:
        """Convolve ``x`` with ``h`` along axis 0.

        Parameters
        ----------
        x, h : numpy.ndarray
            Real float arrays, shape ``(frames,)`` or ``(frames, channels)``.
        mode : {'full', 'same', 'valid'}
            Output length as in ``scipy.signal.convolve``.

        Returns
        -------
        numpy.ndarray
            1-D if both inputs are 1-D, else ``(frames, channels)``.
        """
        check_mode(mode)
        x2, h2, squeeze = pair_channels(np.asarray(x), np.asarray(h))
        out = self.convolve_full(x2, h2)[mode_slice(x2.shape[0], h2.shape[0], mode)]
        return out[:, 0] if squeeze else out

    def __repr__(self) -> str:
        return f"<sigconv backend {self.name!r}>"
