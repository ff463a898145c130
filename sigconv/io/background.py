"""Overlap reading and writing with computation: one thread each way.

libsndfile (through cffi), numpy and the FFT libraries release the GIL, so
on two cores decoding the next block, transforming this one and encoding
the last one proceed together.

Neither thread outlives the caller's use of it: :func:`prefetch` stops and
joins its reader when the consumer finishes, fails or stops early, and
:class:`BackgroundWriter` joins its writer in :meth:`~BackgroundWriter.close`
or :meth:`~BackgroundWriter.abort`. An exception in either thread is raised
in the caller as the same object, so its type (and traceback) is kept.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from ..errors import UsageError

__all__ = ["prefetch", "BackgroundWriter"]

_DONE = object()

#: Seconds a blocked producer waits on a full queue before it looks at the stop flag again.
_POLL = 0.05


def prefetch(blocks: Iterator, depth: int = 2) -> Iterator:
    """Yield the items of ``blocks``, produced up to ``depth`` ahead in a background thread.

    Parameters
    ----------
    blocks : iterator
        The source; it is iterated, and closed at the end (if it has
        ``close``), in the reader thread named ``sigconv-reader``.
    depth : int
        Items the reader may hold ready before it waits for the consumer.

    Yields
    ------
    object
        The items of ``blocks``, in order.

    Notes
    -----
    An exception raised by ``blocks`` is raised in the consumer, unchanged,
    at the point where the failed item would have arrived. When the
    consumer stops early (``break``, an error of its own, ``close()`` of
    this generator) the reader is told to stop and is joined before control
    returns: it ends as soon as the item it is producing is ready, and
    never waits on the full queue for a consumer that has gone. The thread
    starts on the first ``next()``, so a generator never iterated holds none.
    Callers should close this generator explicitly (``contextlib.closing``)
    rather than leave it to garbage collection: a traceback that refers to
    the consumer's frame keeps the generator, and the reader, alive.
    """
    pending: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry) -> bool:
        """Put ``entry`` on the queue unless the consumer has gone; True when it was put."""
        while not stop.is_set():
            try:
                pending.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        last = (_DONE, None)
        try:
            try:
                for item in blocks:
                    if not offer((item, None)):
                        return
            finally:
                close = getattr(blocks, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the consumer
            last = (_DONE, exc)
        offer(last)

    thread = threading.Thread(target=produce, name="sigconv-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = pending.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()


class BackgroundWriter:
    """Calls ``writer.write(block)`` in a background thread (``sigconv-writer``), in order.

    Parameters
    ----------
    writer : object
        Anything with ``write(block)``; it is not closed here.
    depth : int
        Blocks that may wait in the queue before :meth:`write` blocks.

    Notes
    -----
    An exception raised by ``writer.write`` is raised, unchanged, by the
    next :meth:`write` or by :meth:`close`, whichever comes first (once);
    the blocks after it are dropped. The thread ends in :meth:`close`
    (after writing every block queued) or :meth:`abort` (without writing
    them), both safe to call more than once; leaving a ``with`` block calls
    :meth:`close`, or :meth:`abort` when the block raised.
    """

    def __init__(self, writer, depth: int = 2):
        self.writer = writer
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._reported = False
        self._dropping = threading.Event()
        self._done_sent = False
        self._thread = threading.Thread(target=self._run, name="sigconv-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            block = self._queue.get()
            if block is _DONE:
                return
            if self._error is None and not self._dropping.is_set():
                try:
                    self.writer.write(block)
                except BaseException as exc:  # handed to the caller
                    self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None and not self._reported:
            self._reported = True
            raise self._error

    def write(self, block) -> None:
        """Queue ``block``; raise the writer's error if it has failed since the last call.

        Raises
        ------
        UsageError
            After :meth:`close` or :meth:`abort`.
        """
        if self._done_sent:
            raise UsageError("this BackgroundWriter was closed; make a new one")
        self._raise_error()
        self._queue.put(block)

    def _stop(self) -> None:
        # the thread takes every entry until _DONE, so this put always returns
        if not self._done_sent:
            self._queue.put(_DONE)
            self._done_sent = True
        self._thread.join()

    def close(self) -> None:
        """Write what is queued, end the thread, and raise the writer's error if not raised yet."""
        self._stop()
        self._raise_error()

    def abort(self) -> None:
        """End the thread without writing what is queued; an error the writer met is dropped.

        For error paths, where the caller is already raising an error of its
        own and the output will be discarded.
        """
        self._dropping.set()
        self._stop()

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
