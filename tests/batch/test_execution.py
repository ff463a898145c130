"""A worker prepares each IR once and reuses it for every task that goes through it."""

from __future__ import annotations

import os

import soundfile as sf

from sigconv.batch import plan_batch, run_task
from sigconv.batch.execution import clear_prepared, prepared_ir

from .material import dataset, room


def test_each_ir_is_prepared_once_per_process_and_again_when_its_file_changes(tmp_path, rng):
    clips, irs = dataset(tmp_path, rng, clips=4, irs=1)
    plan = plan_batch([str(clips)], [str(irs)], str(tmp_path / "out"), chunk=2)
    assert len(plan.tasks) == 2
    clear_prepared()
    run_task(plan.tasks[0])
    first = prepared_ir(plan.tasks[0], 8000, 1)
    run_task(plan.tasks[1])
    assert prepared_ir(plan.tasks[1], 8000, 1) is first  # the second task reused the first one's IR
    assert first.convolver.cached_lengths  # and its spectra
    ir = irs / "room0.wav"
    stat = ir.stat()
    sf.write(ir, room(rng, 300), 8000, subtype="FLOAT")  # a new IR under the same name
    os.utime(ir, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert prepared_ir(plan.tasks[1], 8000, 1) is not first
    assert prepared_ir(plan.tasks[1], 8000, 1).taps == 300
