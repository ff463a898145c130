"""The same batch on a real Dask cluster (a scheduler and two worker processes on loopback) writes the same bytes."""

from __future__ import annotations

import os

import pytest

from sigconv.batch import plan_batch, run_batch

from .material import dataset, tree_bytes

distributed = pytest.importorskip("distributed",
                                  reason="dask.distributed is not installed (pip install 'sigconv[dist]')")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield cluster


def test_cluster_run_writes_what_the_local_run_writes(tmp_path, rng, cluster, cli):
    clips, irs = dataset(tmp_path, rng, clips=5, irs=3)
    options = {"pairs": "all", "seed": 9, "wet": "0.5:1.0", "dry": "0:0.3", "normalize": "peak", "subtype": "PCM_24"}
    local = run_batch(plan_batch([str(clips)], [str(irs)], str(tmp_path / "local"), chunk=4, **options), jobs=1)
    assert (local.done, local.failed) == (15, 0)
    with distributed.Client(cluster) as client:
        plan = plan_batch([str(clips)], [str(irs)], str(tmp_path / "dask"), workers=2, chunk=4, **options)
        assert len(plan.tasks) == 6  # three IRs, five inputs each, four pairs a task
        summary = run_batch(plan, scheduler=client)
        ran_on = set(client.run(os.getpid).values())
    assert (summary.done, summary.failed) == (15, 0)
    assert len(ran_on) == 2 and os.getpid() not in ran_on  # two worker processes of their own
    assert tree_bytes(tmp_path / "dask") == tree_bytes(tmp_path / "local") and len(tree_bytes(tmp_path / "local")) == 15
    # the command line, sent to the scheduler by its address, with a corrupt input among the clips
    (clips / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    result = cli("batch", clips, "--ir", irs, "-o", tmp_path / "cli", "--scheduler", cluster.scheduler_address,
                 "--seed", "9", "--wet", "0.5:1.0", "--dry", "0:0.3", "--normalize", "peak", "--subtype", "PCM_24")
    assert result.exit_code == 3, result.stderr
    assert "done 15, skipped 0, failed 3" in result.stderr
    assert tree_bytes(tmp_path / "cli") == tree_bytes(tmp_path / "local")


def test_a_task_list_for_the_callers_own_client(tmp_path, rng, cluster):
    """plan_batch's tasks are small picklable objects a Dask user maps with their own client."""
    import pickle

    from sigconv.batch import run_task

    clips, irs = dataset(tmp_path, rng, clips=3, irs=1)
    plan = plan_batch([str(clips)], [str(irs)], str(tmp_path / "out"), chunk=1)
    assert all(len(pickle.dumps(task)) < 1500 for task in plan.tasks)
    with distributed.Client(cluster) as client:
        results = [r for rs in client.gather(client.map(run_task, plan.tasks, pure=False)) for r in rs]
    assert sorted(r.status for r in results) == ["done"] * 3
    assert sorted(os.listdir(tmp_path / "out")) == [f"clip{i}__room0.wav" for i in range(3)]
