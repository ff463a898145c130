"""Overlap reading and writing with computation: one thread each way.

libsndfile (through cffi), numpy and the FFT libraries release the GIL, so
on two cores decoding the next block, transforming this one and encoding
the last one proceed together.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

__all__ = ["prefetch", "BackgroundWriter"]

_DONE = object()


def prefetch(blocks: Iterator, depth: int = 2) -> Iterator:
    """Yield the items of ``blocks``, produced ``depth`` ahead in a background thread.

    An exception in the producer is raised in the consumer at the point
    where the failed item would have arrived.
    """
    pending: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce():
        try:
            for item in blocks:
                while not stop.is_set():
                    try:
                        pending.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            pending.put((_DONE, None))
        except BaseException as exc:  # handed to the consumer
            pending.put((_DONE, exc))

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
        thread.join(timeout=5)


class BackgroundWriter:
    """Calls ``write(block)`` of a writer in a background thread, in order.

    :meth:`close` waits for the queue to drain and raises any error the
    writer met; an error also surfaces at the next :meth:`write`.
    """

    def __init__(self, writer, depth: int = 2):
        self.writer = writer
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sigconv-writer", daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            block = self._queue.get()
            if block is _DONE:
                return
            if self._error is None:
                try:
                    self.writer.write(block)
                except BaseException as exc:
                    self._error = exc

    def write(self, block) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(block)

    def close(self) -> None:
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error
