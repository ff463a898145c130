"""Running tasks on Dask: a running distributed scheduler, a local cluster, or the caller's own client.

sigconv has no scheduler of its own: when one machine is not enough, the
same :class:`~sigconv.batch.jobs.BatchTask` objects go to Dask workers,
which must have sigconv installed and see the same paths (a shared file
system). Each worker process keeps the IRs it has prepared, so a task
that uses an IR the worker has seen does not read or transform it again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from ..errors import missing_dependency
from .jobs import BatchTask, PairResult
from .local import task_failed

__all__ = ["run_dask", "LOCAL"]

#: The scheduler "address" that starts a Dask LocalCluster for the run.
LOCAL = "local"


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise missing_dependency("dask.distributed", "dist", "running a batch on Dask (--scheduler)") from exc
    return distributed


@contextlib.contextmanager
def _client(scheduler, workers: int):
    """A Dask client: the one given, one connected to an address, or one on a LocalCluster of ``workers``."""
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if scheduler == LOCAL:
        with distributed.LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None,
                                      preload=["sigconv.batch.preload"]) as cluster, \
                distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout="20s")
    except OSError as exc:
        from ..errors import UsageError

        raise UsageError(f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); start one with "
                         "`dask scheduler`, or use --scheduler local") from None
    with client:
        yield client


def run_dask(tasks: Sequence[BatchTask], scheduler, workers: int,
             on_results: Callable[[list[PairResult]], None]) -> None:
    """Run ``tasks`` on Dask, handing each task's results to ``on_results`` as it finishes.

    Parameters
    ----------
    tasks : sequence of BatchTask
    scheduler : str or distributed.Client
        ``"local"`` (a LocalCluster of ``workers`` single-threaded
        processes on loopback), a scheduler address (``tcp://host:8786``),
        or a client of the caller's.
    workers : int
        Workers of a LocalCluster.
    on_results : callable

    Raises
    ------
    MissingDependencyError
        dask.distributed is not installed (``pip install 'sigconv[dist]'``).
    """
    from .execution import run_task

    with _client(scheduler, workers) as client:
        distributed = _distributed()
        futures = client.map(run_task, list(tasks), pure=False)
        owner = {future.key: task for future, task in zip(futures, tasks)}
        try:
            for future in distributed.as_completed(futures):
                try:
                    results = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker fails its task, not the batch
                    results = task_failed(owner[future.key], exc)
                on_results(results)
        finally:
            client.cancel(futures)
