"""Running a batch: its plan, locally or on Dask, with a manifest, progress and a summary."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from ..errors import UsageError
from .jobs import PairResult
from .planning import BatchPlan, plan_batch
from .summary import BatchSummary

__all__ = ["run_batch", "convolve_batch", "default_jobs"]


def default_jobs() -> int:
    """Worker processes when not told: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def run_batch(plan: BatchPlan, *, jobs: int | None = None, scheduler=None, manifest: str | None = None,
              progress: Callable[[int, int], None] | None = None) -> BatchSummary:
    """Run a :class:`~sigconv.batch.planning.BatchPlan` and return its :class:`BatchSummary`.

    Parameters
    ----------
    plan : BatchPlan
    jobs : int, optional
        Worker processes (default: the CPUs); also the workers of a Dask
        LocalCluster.
    scheduler : str or distributed.Client, optional
        None (default): a local process pool. ``"local"``: a Dask
        LocalCluster on loopback. An address (``tcp://host:8786``): that
        running Dask scheduler. A ``distributed.Client``: the caller's.
    manifest : str, optional
        Where to write the manifest (``.csv`` or JSON Lines); written
        atomically before the work (every pair pending or skipped) and
        again when it ends.
    progress : callable, optional
        Called as ``progress(finished, total)`` as pairs finish
        (``total``: the pairs that run, skipped ones not counted).

    Returns
    -------
    BatchSummary
        Failed pairs are in it, with their errors; nothing is raised for them.
    """
    from .manifest import manifest_rows, write_manifest

    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise UsageError(f"jobs must be a positive number of worker processes, not {jobs}")
    started = time.perf_counter()
    results: dict[str, PairResult] = {r.output: r for r in plan.skipped}
    if manifest is not None:
        write_manifest(manifest, manifest_rows(plan.entries, results))
    total = sum(len(task.pairs) for task in plan.tasks)
    finished = 0
    if progress is not None:
        progress(0, total)

    def collect(task_results: list[PairResult]) -> None:
        nonlocal finished
        for result in task_results:
            results[result.output] = result
        finished += len(task_results)
        if progress is not None:
            progress(finished, total)

    if plan.tasks:
        if scheduler is None:
            from .local import run_local

            run_local(plan.tasks, jobs, collect)
        else:
            from .cluster import run_dask

            run_dask(plan.tasks, scheduler, jobs, collect)
    summary = BatchSummary(plan.pairs, results, time.perf_counter() - started, manifest)
    if manifest is not None:
        write_manifest(manifest, manifest_rows(plan.entries, results))
    return summary


def convolve_batch(inputs: Sequence[str], irs: Sequence[str], outdir: str, *, jobs: int | None = None,
                   scheduler=None, manifest: str | None = None, progress: Callable[[int, int], None] | None = None,
                   **plan_options) -> BatchSummary:
    """Convolve many signals with many impulse responses into ``outdir``: plan, run, summarize.

    Parameters
    ----------
    inputs, irs : sequence of str
        Files, folders or glob patterns.
    outdir : str
        Folder of the outputs.
    jobs, scheduler, manifest, progress
        As for :func:`run_batch`.
    **plan_options
        As for :func:`~sigconv.batch.planning.plan_batch`: ``pairs``,
        ``seed``, ``wet``, ``dry``, ``template``, ``force``, ``chunk``,
        ``threads`` and the convolution settings (``mode="same"``,
        ``normalize="peak"``, ``trim_db=-60``, ``predelay_ms=10``,
        ``resample_ir=True``, ``subtype="PCM_16"``, ``precision=32``...).

    Returns
    -------
    BatchSummary

    Examples
    --------
    >>> import numpy as np, soundfile as sf, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> for name in ("a", "b"):
    ...     sf.write(os.path.join(d, name + ".wav"), np.ones(4), 8000, subtype="FLOAT")
    >>> sf.write(os.path.join(d, "h.wav"), np.array([1.0, 0.5]), 8000, subtype="FLOAT")
    >>> out = os.path.join(d, "out")
    >>> s = convolve_batch([os.path.join(d, n) for n in ("a.wav", "b.wav")], [os.path.join(d, "h.wav")], out, jobs=1)
    >>> s.done, s.failed, sorted(os.listdir(out))
    (2, 0, ['a__h.wav', 'b__h.wav'])
    >>> sf.read(os.path.join(out, "a__h.wav"))[0].tolist()
    [1.0, 1.5, 1.5, 1.5, 0.5]
    """
    workers = default_jobs() if jobs is None else jobs
    plan = plan_batch(inputs, irs, outdir, workers=workers, **plan_options)
    return run_batch(plan, jobs=workers, scheduler=scheduler, manifest=manifest, progress=progress)
