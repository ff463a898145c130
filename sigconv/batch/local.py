"""Running tasks on this machine: in this process (one job) or in a pool of worker processes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .jobs import BatchTask, PairResult

__all__ = ["run_local", "task_failed"]


def task_failed(task: BatchTask, exc: BaseException) -> list[PairResult]:
    """Every pair of a task whose worker died (or could not run it) as failed with the reason."""
    from .jobs import FAILED

    reason = f"the worker running it failed: {type(exc).__name__}: {exc}"
    return [PairResult(pair.output, FAILED, reason, 1) for pair in task.pairs]


def run_local(tasks: Sequence[BatchTask], jobs: int, on_results: Callable[[list[PairResult]], None]) -> None:
    """Run ``tasks`` with ``jobs`` processes, handing each task's results to ``on_results`` as it finishes.

    One job runs the tasks in this process. More start a pool of that many
    processes, each running one task at a time on one thread; a worker
    that dies fails only the pairs of its task. The workers are forked
    from multiprocessing's fork server, which imports the convolution
    modules once for every worker and every pool of this process (about
    1.3 s of CPU each otherwise), and which copies no threads or locks of
    this process as a plain fork would; each runs
    :func:`~sigconv.batch.preload.setup_worker` first.

    As with every fork-server or spawn pool, each worker runs the top level
    of the caller's main script again (``sigconv``'s launcher: 0.05-0.1 s);
    a script that calls :func:`~sigconv.batch.running.convolve_batch`
    should keep heavy imports and work under ``if __name__ == "__main__":``
    (importing scipy.signal at the top of the benchmark's script cost a
    two-worker run 2.5 s).
    """
    if jobs <= 1 or len(tasks) <= 1:
        from .execution import run_task

        for task in tasks:
            on_results(run_task(task))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from .execution import run_task
    from .preload import setup_worker

    pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=_worker_context(multiprocessing),
                               initializer=setup_worker)
    try:
        futures = {pool.submit(run_task, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                results = future.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker fails its task, not the batch
                results = task_failed(futures[future], exc)
            on_results(results)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_context(multiprocessing):
    """The fork-server start method where the system has it (Linux, macOS), else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    from .preload import MODULES

    # "__main__" asks the fork server to run the caller's script once so that its workers need not (the
    # multiprocessing documentation's advice); Python 3.11 does not pass the script's path to the server,
    # so there every worker still runs it (see run_local)
    context.set_forkserver_preload(["__main__", *MODULES])
    return context
