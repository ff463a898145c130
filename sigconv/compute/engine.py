"""Streaming convolution engines: blocks in, blocks out, the tail flushed at the end.

Every engine takes input blocks of any length through :meth:`push`, returns
the output samples that are complete so far, and :meth:`finish` returns the
rest, so that the concatenated output is exactly the full linear
convolution (``n + m - 1`` frames) of everything pushed. Channel paths are
given as :class:`~sigconv.compute.routing.Route` objects.

:class:`OverlapSave` is uniformly partitioned overlap-save (the scheme of
ffmpeg's afir, BruteFIR and zita-convolver): the IR is cut into ``P``
partitions of ``B`` samples whose spectra wait in memory; each hop of ``B``
input samples is transformed once and its spectrum enters a
frequency-domain delay line, where it meets partition ``p`` ``p`` hops
later. With one partition it is plain overlap-save with a hop of
``N - m + 1``. :class:`BlockOverlapAdd` runs any backend's array
convolution block by block and adds the overlapping tails.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import UsageError
from .ops import ArrayOps
from .routing import Route, sum_paths

__all__ = ["StreamEngine", "OverlapSave", "ChannelLanes", "BlockOverlapAdd", "run_engine", "one_path_per_output",
           "hops_per_batch"]


class StreamEngine:
    """Interface of a streaming convolution engine.

    Blocks go in and come out as host (NumPy) arrays, whatever the
    engine's :class:`~sigconv.compute.ops.ArrayOps` computes on. An engine
    that holds threads or device memory frees them in :meth:`close`; every
    engine is a context manager that calls it.
    """

    out_channels: int
    dtype: np.dtype
    #: Frames per push that suit the engine best (0: any)
    push_frames: int = 0

    def push(self, block: np.ndarray) -> np.ndarray:
        """Take ``(frames, in_channels)`` input; return the ``(k, out_channels)`` outputs now complete."""
        raise NotImplementedError

    def finish(self) -> np.ndarray:
        """Return the remaining outputs, up to ``n + m - 1`` in all."""
        raise NotImplementedError

    def close(self) -> None:
        """Free the engine's threads and buffers; it cannot be used afterwards. Safe to call twice."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def run_engine(engine: StreamEngine, x: np.ndarray, block: int = 1 << 18) -> np.ndarray:
    """Convolve an in-memory ``(frames, channels)`` array through ``engine``; returns the full result.

    The engine is closed afterwards, also when a push fails.
    """
    with engine:
        parts = [engine.push(x[start : start + block]) for start in range(0, x.shape[0], block)]
        parts.append(engine.finish())
    return np.concatenate(parts, axis=0)


#: Points of the hops that :class:`OverlapSave` transforms together (see ``_process_batch``).
BATCH_POINTS = 1 << 18


def hops_per_batch(fft_size: int, channels: int = 1) -> int:
    """How many hops of ``fft_size`` points on ``channels`` channels overlap-save transforms in one call.

    1 for transforms of :data:`BATCH_POINTS` or more.
    """
    return max(1, BATCH_POINTS // (fft_size * channels))


class _Pending:
    """Input samples waiting for a whole hop, channel-major, on the engine's device."""

    def __init__(self):
        self.chunks: list[np.ndarray] = []
        self.size = 0

    def add(self, block: np.ndarray) -> None:
        if block.shape[0]:
            self.chunks.append(block.T)  # converted to the engine's dtype when taken
            self.size += block.shape[0]

    def take_into(self, out: np.ndarray) -> None:
        """Move the first ``out.shape[1]`` samples into ``out`` (channel-major), converting the dtype.

        Filling a buffer that already exists matters: a fresh array of a
        few hundred kilobytes per hop costs more in page faults than the copy.
        """
        self.copy_into(out)
        self.drop(out.shape[1])

    def copy_into(self, out: np.ndarray, offset: int = 0) -> None:
        """Copy ``out.shape[1]`` samples from ``offset`` on into ``out`` (channel-major), converting the dtype.

        The samples stay pending.
        """
        count = out.shape[1]
        filled = 0
        for chunk in self.chunks:
            width = chunk.shape[1]
            if offset >= width:
                offset -= width
                continue
            used = min(count - filled, width - offset)
            out[:, filled : filled + used] = chunk[:, offset : offset + used]
            filled += used
            offset = 0
            if filled == count:
                break

    def windows_into(self, out: np.ndarray, step: int) -> None:
        """Fill ``out[j]`` (``(channels, n)``) with the ``n`` samples from ``j * step`` on, for every ``j``; keep them.

        Consecutive windows that lie in one block are copied in one strided
        pass; only a window that spans two blocks is put together piece by piece.
        """
        count, width = out.shape[0], out.shape[-1]
        j, chunk_index, base = 0, 0, 0
        while j < count:
            begin = j * step
            while begin >= base + self.chunks[chunk_index].shape[1]:
                base += self.chunks[chunk_index].shape[1]
                chunk_index += 1
            chunk = self.chunks[chunk_index]
            start = begin - base
            inside = (chunk.shape[1] - start - width) // step + 1 if chunk.shape[1] - start >= width else 0
            if inside == 0:
                self.copy_into(out[j], begin)
                j += 1
                continue
            run = min(inside, count - j)
            rows, columns = chunk.strides
            out[j : j + run] = np.lib.stride_tricks.as_strided(
                chunk[:, start:], shape=(run, chunk.shape[0], width), strides=(step * columns, rows, columns),
                writeable=False)
            j += run

    def drop(self, count: int) -> None:
        """Forget the first ``count`` samples."""
        self.size -= count
        while count:
            head = self.chunks[0]
            if count >= head.shape[1]:
                self.chunks.pop(0)
                count -= head.shape[1]
            else:
                self.chunks[0] = head[:, count:]
                count = 0


class OverlapSave(StreamEngine):
    """Uniformly partitioned overlap-save convolution.

    Parameters
    ----------
    h : numpy.ndarray
        Impulse response, ``(m, kernel_channels)``.
    routes : sequence of Route
        Paths from input channels through IR channels to output channels.
    in_channels, out_channels : int
        Channel counts of the input and output blocks.
    partition : int
        Partition length ``B``. ``B >= m`` means one partition (plain
        overlap-save).
    fft_size : int
        Transform length ``N``: at least ``m`` (one partition, hop
        ``N - m + 1``) or ``2 B`` (several partitions, hop ``B``).
    dtype : numpy dtype
        ``float64`` or ``float32``.
    ops : ArrayOps, optional
        Arrays and transforms (with their thread count); default NumPy and
        scipy.fft on one thread.
    """

    def __init__(self, h: np.ndarray, routes: Sequence[Route], in_channels: int, out_channels: int,
                 partition: int, fft_size: int, dtype=np.float64, ops: ArrayOps | None = None):
        self.ops = ops = ops if ops is not None else ArrayOps()
        xp = ops.xp
        self.dtype = np.dtype(dtype)
        m = h.shape[0]
        self.taps = m
        self.routes = list(routes)
        self.in_channels, self.out_channels = in_channels, out_channels
        if partition >= m:
            partition, parts = m, 1
            if fft_size < m:
                raise UsageError(f"the transform length {fft_size} is shorter than the IR ({m} taps)")
            self.hop = fft_size - m + 1
        else:
            parts = math.ceil(m / partition)
            if fft_size < 2 * partition - 1:
                raise UsageError(f"the transform length {fft_size} must be at least 2 * partition - 1 = "
                                 f"{2 * partition - 1}")
            self.hop = partition
        self.partition, self.parts, self.fft_size = partition, parts, fft_size
        targets = [r.target for r in self.routes]
        sources = [r.source for r in self.routes]
        kernels = [r.kernel for r in self.routes]
        identity = list(range(out_channels))
        # one vectorised multiply per partition when path c runs from input c
        # through IR channel c (or a shared IR channel 0) to output c
        self._vectorised = targets == identity and sources == identity and (
            kernels == identity or set(kernels) == {0})
        self._kernel_rows = slice(0, out_channels) if kernels == identity else slice(0, 1)
        self._pending = _Pending()
        #: samples at the head of the pending input that the next hop reads again (see _setup_in_place)
        self._lead = 0
        #: dtype of the output blocks; float32 saves a conversion when the output file is FLOAT
        self.output_dtype = self.dtype
        self._hops = 0
        self._pushed = 0
        self._emitted = 0
        self._in_place = None
        self._batched, self._batch = None, 1  # see _process_batch
        #: the transform library: "pyfftw", "scipy", or another ops' name
        self.fft_library = ops.name
        hc = ops.to_device(np.ascontiguousarray(h.T, dtype=self.dtype))
        if parts == 1 and self._vectorised:
            self._setup_in_place(hc)
            return
        self._forward = ops.real_fft(fft_size, in_channels, self.dtype)
        self._inverse = (ops.real_fft(fft_size, out_channels, self.dtype) if out_channels != in_channels
                         else self._forward)
        bins = self._forward.bins
        kernel_fft = ops.real_fft(fft_size, h.shape[1], self.dtype)
        self._spectra = xp.empty((parts, h.shape[1], bins), dtype=self._forward.complex_dtype)
        for p in range(parts):
            self._spectra[p] = kernel_fft.forward(hc[:, p * partition : (p + 1) * partition])
        # frequency-domain delay line: slot (k - p) % P holds the spectrum of hop k - p
        self._delay_line = xp.zeros((parts, in_channels, bins), dtype=self._forward.complex_dtype) if parts > 1 else None
        self._product = xp.empty(bins, dtype=self._forward.complex_dtype)
        self._frame = self._forward.frame
        self._frame[:] = 0

    def _setup_in_place(self, hc) -> None:
        """Plain overlap-save on channel-parallel paths: one buffer, transformed in place.

        The frame is a window of ``fft_size`` input samples that slides by
        ``hop``: its first ``fft_size - hop`` samples (the last input of the
        hop before) stay in the pending input, in the input's own dtype, and
        each hop converts the whole window into the buffer in one pass. (Keeping
        them aside as float64 cost two more copies of them per hop: 4.3% of a
        10-minute job's CPU.) ``1 / fft_size`` is folded into the IR spectra.
        """
        ops = self.ops
        fft = ops.in_place_fft(self.fft_size, self.in_channels, self.dtype)
        rows = self._kernel_rows.stop
        kernel = ops.in_place_fft(self.fft_size, rows, self.dtype) if rows != self.in_channels else fft
        kernel.real[:] = 0
        kernel.real[:, : hc.shape[1]] = hc[:rows]
        kernel.forward()
        self._spectra = kernel.spectrum[None, :rows] * (1.0 / self.fft_size)
        self._in_place = fft
        self._lead = self.fft_size - self.hop
        self._pending.add(ops.zeros((self._lead, self.in_channels), self.dtype))
        if ops.xp is np:
            self._batch = hops_per_batch(self.fft_size, self.in_channels)  # its buffers are made when first used

    @property
    def push_frames(self) -> int:
        """Whole hops, as many as one call transforms."""
        return self.hop * self._batch

    def _process_hop_in_place(self, out: np.ndarray | None) -> np.ndarray:
        fft = self._in_place
        self._pending.copy_into(fft.real)
        self._pending.drop(self.hop)
        fft.forward()
        self.ops.xp.multiply(fft.spectrum, self._spectra[0], out=fft.spectrum)
        fft.inverse()
        self._hops += 1
        return self._emit(fft.real, out)

    def _process_batch(self, out: np.ndarray) -> None:
        """:meth:`_process_hop_in_place` for ``batch`` hops at once: one call of each step for all of them.

        A hop of a short transform costs more in the Python calls around
        it than in FFTW: 50 us against 90 us at 16,384 points, spent
        holding the GIL, which the channel lanes and the I/O threads then wait for.
        """
        batch, channels, size, hop = self._batch, self.in_channels, self.fft_size, self.hop
        if self._batched is None:
            self._batched = self.ops.in_place_fft(size, batch * channels, self.dtype)
        fft = self._batched
        frames = fft.real.reshape(batch, channels, size)
        self._pending.windows_into(frames, hop)
        self._pending.drop(batch * hop)
        fft.forward()
        spectra = fft.spectrum.reshape(batch, channels, -1)
        np.multiply(spectra, self._spectra[0], out=spectra)
        fft.inverse()
        self._hops += batch
        rows, columns = out.strides
        by_hop = np.lib.stride_tricks.as_strided(out, shape=(batch, hop, self.out_channels),
                                                 strides=(hop * rows, rows, columns))
        for channel in range(self.out_channels):
            by_hop[:, :, channel] = frames[:, channel, size - hop :]

    def _process_hops(self, count: int, out: np.ndarray | None = None) -> np.ndarray:
        """Transform the next ``count`` hops of pending input; their frames go to ``out`` (or a new array)."""
        hop = self.hop
        if out is None:
            out = self.ops.xp.empty((count * hop, self.out_channels), dtype=self.output_dtype)
        done = 0
        if self._batch > 1:
            while count - done >= self._batch:
                self._process_batch(out[done * hop : (done + self._batch) * hop])
                done += self._batch
        for k in range(done, count):
            self._process_hop(out[k * hop : (k + 1) * hop])
        return out

    def _emit(self, result: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        """The last ``hop`` samples of each row of ``result`` as the columns of ``out`` (or a new array).

        A copy, since the transform's buffer is reused by the next hop, and
        column by column: numpy runs a transposing copy with an inner loop
        over the channels, 5x slower (0.92 against 0.19 ms for 2 x 380,000
        frames, float64 to float32).
        """
        if out is None:
            out = self.ops.xp.empty((self.hop, self.out_channels), dtype=self.output_dtype)
        for channel in range(self.out_channels):
            out[:, channel] = result[channel, self.fft_size - self.hop :]
        return out

    def _process_hop(self, out: np.ndarray | None = None) -> np.ndarray:
        """Transform the next hop of pending input; its ``hop`` output frames go to ``out`` (or a new array)."""
        if self._in_place is not None:
            return self._process_hop_in_place(out)
        hop, size = self.hop, self.fft_size
        frame = self._frame
        frame[:, : size - hop] = frame[:, hop:]
        self._pending.take_into(frame[:, size - hop :])
        slot = self._hops % self.parts
        spectrum = self._forward.forward_frame()
        if self._delay_line is not None:
            self._delay_line[slot] = spectrum

        def delayed(p):
            return spectrum if self._delay_line is None else self._delay_line[(slot - p) % self.parts]

        acc, product, xp = self._inverse.spectrum, self._product, self.ops.xp
        if self._vectorised:
            xp.multiply(self._spectra[0, self._kernel_rows], delayed(0), out=acc)
            for p in range(1, self.parts):
                acc += self._spectra[p, self._kernel_rows] * delayed(p)
        else:
            acc[:] = 0
            for route in self.routes:
                for p in range(self.parts):
                    xp.multiply(self._spectra[p, route.kernel], delayed(p)[route.source], out=product)
                    acc[route.target] += product
        self._hops += 1
        return self._emit(self._inverse.inverse_spectrum(), out)

    @property
    def waiting(self) -> int:
        """Input frames pushed and not yet transformed as a hop's new samples."""
        return self._pending.size - self._lead

    def push(self, block: np.ndarray) -> np.ndarray:
        self._pending.add(self.ops.to_device(block))
        self._pushed += block.shape[0]
        hops = self.waiting // self.hop
        return self._collect([self._process_hops(hops)] if hops else [])

    def _collect(self, outputs: list) -> np.ndarray:
        if not outputs:
            return np.empty((0, self.out_channels), dtype=self.output_dtype)
        out = self.ops.xp.concatenate(outputs, axis=0) if len(outputs) > 1 else outputs[0]
        self._emitted += out.shape[0]
        return self.ops.to_host(out)

    def finish(self) -> np.ndarray:
        total = self._pushed + self.taps - 1
        outputs = []
        emitted = self._emitted
        while emitted < total:
            missing = self.hop - self.waiting
            if missing > 0:
                self._pending.add(self.ops.zeros((missing, self.in_channels), self.dtype))
            out = self._process_hop()
            outputs.append(out[: total - emitted])
            emitted += out.shape[0]
        return self._collect(outputs)


def one_path_per_output(routes: Sequence[Route], out_channels: int) -> bool:
    """True when every output channel is one input channel through one IR channel.

    So it is for a stereo IR on stereo input, a mono IR on every channel,
    and a stereo IR on mono input (one input feeding both outputs); not for
    a true-stereo IR, whose outputs each sum two paths.
    """
    return len(routes) == out_channels and sorted(r.target for r in routes) == list(range(out_channels))


class ChannelLanes(StreamEngine):
    """Overlap-save with each channel in a lane of its own, the lanes run side by side in threads.

    For jobs whose every output channel is one path (a stereo IR on stereo
    input, a mono IR on every channel, a stereo IR on mono input: see
    :func:`one_path_per_output`). Each lane is a one-channel
    :class:`OverlapSave` with single-threaded transforms and does all of its
    channel's work (framing, transforms, spectral products, writing its
    column of the output) in a worker thread; FFTW, pocketfft and numpy
    release the GIL. Splitting the transforms alone over two FFTW threads
    left the rest of each hop (a third of it) on one core.

    :meth:`push` hands its block to the workers and returns the output of
    the block pushed before, so that the caller's reading and writing
    overlap the lanes' work; :meth:`finish` returns everything left.

    Parameters
    ----------
    h, routes, in_channels, out_channels, partition, fft_size, dtype
        As for :class:`OverlapSave`; ``routes`` must satisfy
        :func:`one_path_per_output`.
    workers : int
        Threads the lanes are shared among (lane ``c`` runs on worker
        ``c % workers``, always the same thread, so its hops stay in order).
    ops : ArrayOps, optional
        As for :class:`OverlapSave`; each lane transforms on one thread.

    An error in a lane is raised by the :meth:`push` or :meth:`finish`
    that collects the lane's work. :meth:`close` (or leaving a ``with``
    block) stops the worker threads.
    """

    def __init__(self, h: np.ndarray, routes: Sequence[Route], in_channels: int, out_channels: int,
                 partition: int, fft_size: int, dtype=np.float64, workers: int = 2, ops: ArrayOps | None = None):
        import weakref
        from concurrent.futures import ThreadPoolExecutor

        if not one_path_per_output(routes, out_channels):
            raise UsageError("channel lanes need exactly one path into each output channel")
        self.ops = ops if ops is not None else ArrayOps()
        lane_ops = self.ops.with_threads(1)
        by_target = sorted(routes, key=lambda r: r.target)
        self._sources = [r.source for r in by_target]  # the input column each lane reads
        self.lanes = [OverlapSave(h[:, r.kernel : r.kernel + 1], [Route(0, 0, 0)], 1, 1, partition, fft_size,
                                  dtype, ops=lane_ops) for r in by_target]
        self.fft_library = self.ops.name
        first = self.lanes[0]
        self.dtype, self.out_channels, self.taps = first.dtype, out_channels, first.taps
        self.hop, self.partition, self.parts, self.fft_size = first.hop, first.partition, first.parts, first.fft_size
        self.workers = max(1, min(int(workers), len(self.lanes)))
        self._threads = [ThreadPoolExecutor(1, thread_name_prefix=f"sigconv-lane{w}") for w in range(self.workers)]
        # a safety net for engines that are dropped without close()
        self._finalizers = [weakref.finalize(self, thread.shutdown, wait=False) for thread in self._threads]
        self._pushed = 0
        self._scheduled = 0  # output frames handed to the workers so far
        self._in_flight = None  # (futures, output) of the last push

    @property
    def push_frames(self) -> int:
        """As for :class:`OverlapSave`'s lanes."""
        return self.lanes[0].push_frames

    @property
    def output_dtype(self) -> np.dtype:
        """dtype of the output blocks, as for :class:`OverlapSave`."""
        return self.lanes[0].output_dtype

    @output_dtype.setter
    def output_dtype(self, dtype) -> None:
        for lane in self.lanes:
            lane.output_dtype = np.dtype(dtype)

    def _schedule(self, block: np.ndarray | None, hops: int):
        """Have the workers add ``block`` (or zeros filling ``hops`` hops) to their lanes and run ``hops`` hops."""
        hop, ops = self.hop, self.ops
        if self._threads is None:
            raise UsageError("this engine was closed; make a new one")
        out = ops.xp.empty((hops * hop, self.out_channels), dtype=self.output_dtype)

        def run(worker: int) -> None:
            for channel in range(worker, len(self.lanes), self.workers):
                lane = self.lanes[channel]
                if block is not None:
                    source = self._sources[channel]
                    lane._pending.add(block[:, source : source + 1])
                missing = hops * hop - lane.waiting
                if missing > 0:
                    lane._pending.add(ops.zeros((missing, 1), self.dtype))
                lane._process_hops(hops, out[:, channel : channel + 1])

        self._scheduled += out.shape[0]
        return [thread.submit(run, worker) for worker, thread in enumerate(self._threads)], out

    def _collect(self) -> np.ndarray:
        """Wait for the work in flight and return its output (empty when there is none)."""
        if self._in_flight is None:
            return np.empty((0, self.out_channels), dtype=self.output_dtype)
        futures, out = self._in_flight
        self._in_flight = None
        for future in futures:
            future.result()
        return self.ops.to_host(out)

    def push(self, block: np.ndarray) -> np.ndarray:
        # each lane's input waiting for a hop is what was pushed less what was scheduled
        hops = (self._pushed + block.shape[0] - self._scheduled) // self.hop
        self._pushed += block.shape[0]
        # queued behind the work in flight, on the same threads
        scheduled = self._schedule(self.ops.to_device(block), hops)
        ready = self._collect()
        self._in_flight = scheduled
        return ready

    def finish(self) -> np.ndarray:
        ready = self._collect()
        remaining = self._pushed + self.taps - 1 - self._scheduled
        self._in_flight = self._schedule(None, -(-remaining // self.hop))
        tail = self._collect()[:remaining]
        return np.concatenate([ready, tail]) if ready.shape[0] else tail

    def close(self) -> None:
        """Wait for the work in flight (its errors no longer matter) and stop the worker threads."""
        if self._threads is None:
            return
        in_flight, self._in_flight = self._in_flight, None
        for future in in_flight[0] if in_flight else ():
            future.exception()
        for finalizer in self._finalizers:
            finalizer.detach()
        for thread in self._threads:
            thread.shutdown(wait=True)
        self._threads = None


class BlockOverlapAdd(StreamEngine):
    """Block-by-block overlap-add around any backend's ``convolve_full``.

    Each block of up to ``block`` frames is convolved in full with the IR
    and its ``m - 1`` overhanging samples are added into the next outputs.
    This gives every backend a streaming form; the ``direct`` backend uses
    it as is.
    """

    def __init__(self, backend, h: np.ndarray, routes: Sequence[Route], in_channels: int, out_channels: int,
                 block: int = 1 << 16, dtype=np.float64):
        self.dtype = np.dtype(dtype)
        self.backend = backend
        self.routes = list(routes)
        self.out_channels = out_channels
        self.block = int(block)
        self.taps = h.shape[0]
        self._sources = [r.source for r in self.routes]
        self._kernels = np.ascontiguousarray(h[:, [r.kernel for r in self.routes]], dtype=self.dtype)
        self._tail = np.zeros((self.taps - 1, out_channels), dtype=self.dtype)

    def _convolve_block(self, x: np.ndarray) -> np.ndarray:
        paths = self.backend.convolve_full(np.ascontiguousarray(x[:, self._sources], dtype=self.dtype), self._kernels)
        y = np.array(sum_paths(paths, self.routes, self.out_channels), dtype=self.dtype)
        y[: self.taps - 1] += self._tail
        frames = x.shape[0]
        self._tail = y[frames:].copy()
        # a view of a block much shorter than the IR would keep the whole (frames + taps - 1) result alive
        return y[:frames] if frames >= self.taps else y[:frames].copy()

    def push(self, block: np.ndarray) -> np.ndarray:
        outputs = [self._convolve_block(block[s : s + self.block]) for s in range(0, block.shape[0], self.block)]
        if not outputs:
            return np.empty((0, self.out_channels), dtype=self.dtype)
        return np.concatenate(outputs, axis=0) if len(outputs) > 1 else outputs[0]

    def finish(self) -> np.ndarray:
        tail, self._tail = self._tail, np.zeros((0, self.out_channels), dtype=self.dtype)
        return tail
