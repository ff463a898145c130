"""A batch's plan: its pairs, the outputs that exist already, and the tasks that make the others.

Nothing is convolved here, and everything that can be refused is refused
here, before any work starts: missing files, a bad pairing, an unknown
template field, two pairs writing one output.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..convolution.files import ConvolveSettings
from ..errors import OutputError, UsageError
from ..io.options import FileOptions
from ..options import gather
from .discovery import discover
from .jobs import SKIPPED, BatchTask, PairJob, PairResult
from .naming import DEFAULT_TEMPLATE, check_outputs, check_template, output_name
from .pairing import Range, draw, pair_up

__all__ = ["BatchPlan", "plan_batch", "plan_from_manifest", "is_complete"]

#: Most pairs in one task: small enough for a live progress bar and balanced workers.
_MAX_CHUNK = 64


@dataclass
class BatchPlan:
    """What a batch will do.

    Attributes
    ----------
    entries : list of (PairJob, ConvolveSettings, FileOptions)
        Every pair with the settings it is made with, in order.
    skipped : list of PairResult
        Pairs whose output exists already (not run again without ``force``).
    tasks : list of BatchTask
        The work: chunks of the remaining pairs, one IR per task. Submit
        them to a Dask client of your own with
        ``client.map(sigconv.batch.run_task, plan.tasks)``, or run them
        with :func:`~sigconv.batch.running.run_batch`.
    """

    entries: list[tuple[PairJob, ConvolveSettings, FileOptions]] = field(default_factory=list)
    skipped: list[PairResult] = field(default_factory=list)
    tasks: list[BatchTask] = field(default_factory=list)

    @property
    def pairs(self) -> list[PairJob]:
        """Every pair, in order."""
        return [pair for pair, _, _ in self.entries]


def is_complete(path: str) -> bool:
    """Whether ``path`` holds a finished output: sigconv writes atomically, so one that exists and opens is.

    An audio file must open with a frame count (a file some other program
    left half-written does not); other files must not be empty.
    """
    try:
        if os.path.getsize(path) == 0:
            return False
    except OSError:
        return False
    from ..io.formats import CSV, format_from_name

    if format_from_name(path) in (None, CSV):
        return True
    import soundfile

    try:
        return soundfile.info(path).frames > 0
    except (RuntimeError, OSError):
        return False


def plan_batch(inputs: Sequence[str], irs: Sequence[str], outdir: str, *, pairs: str = "all", seed: int = 0,
               wet=1.0, dry=0.0, template: str = DEFAULT_TEMPLATE, settings: ConvolveSettings | None = None,
               files: FileOptions | None = None, force: bool = False, workers: int = 1, chunk: int | None = None,
               threads: int = 1, **options) -> BatchPlan:
    """Plan a batch: every input through its IR(s) into ``outdir``.

    Parameters
    ----------
    inputs, irs : sequence of str
        Files, folders (searched recursively for audio) or glob patterns.
    outdir : str
        Folder of the outputs (made if missing).
    pairs : {'all', 'zip', 'random'}
        See :func:`~sigconv.batch.pairing.pair_up`.
    seed : int
        Seed of the random pairing and of the level draws.
    wet, dry : float, (low, high) or "LOW:HIGH"
        Levels, fixed or drawn uniformly per pair (reproducibly by ``seed``).
    template : str
        Output name (see :func:`~sigconv.batch.naming.output_name`).
    settings : ConvolveSettings, optional
        Mode, normalization, IR trimming, pre-delay, resampling, precision,
        gain, backend; its ``wet`` and ``dry`` are ignored. Default: the
        defaults of ``sigconv convolve`` but 32-bit precision (samples
        read as float32, half the bytes; its 24-bit mantissa holds every
        PCM_16 and PCM_24 sample), as ``sigconv batch`` has it.
    files : FileOptions, optional
        Output ``format`` and ``subtype``; ``input_format``/``rate`` for CSV.
    force : bool
        Make outputs that exist already again.
    workers : int
        Workers the tasks are for: the pairs are cut into at least four
        tasks per worker (at most 64 pairs each) unless ``chunk`` says.
    chunk : int, optional
        Pairs per task.
    threads : int
        Threads each task may use on its worker (default 1).
    **options
        Fields of :class:`ConvolveSettings` or :class:`FileOptions` by name.

    Returns
    -------
    BatchPlan

    Raises
    ------
    SignalNotFoundError, UsageError, OutputError
        Before any work: files that are not there, bad options, outputs
        that collide or would overwrite an input.
    """
    settings, files = gather(options, settings or ConvolveSettings(precision=32), files or FileOptions())
    settings = replace(settings, wet=1.0, dry=0.0)
    settings.check()
    check_template(template)
    wet_range, dry_range = Range.of(wet, "--wet"), Range.of(dry, "--dry")
    input_files, ir_files = discover(inputs, "input"), discover(irs, "IR")
    entries = []
    for index, (x, h) in enumerate(pair_up(input_files, ir_files, pairs, seed)):
        output = os.path.join(outdir, output_name(template, x, h, index, files.format))
        pair = PairJob(x, h, output, draw(wet_range, seed, "wet", x, h), draw(dry_range, seed, "dry", x, h))
        entries.append((pair, settings, files))
    return _plan(entries, outdir, force, workers, chunk, threads)


def plan_from_manifest(path: str, outdir: str | None = None, *, force: bool = False, workers: int = 1,
                       chunk: int | None = None, threads: int = 1) -> BatchPlan:
    """The plan that makes the outputs of a manifest again, with the inputs, IRs, levels and settings it records.

    Parameters
    ----------
    path : str
        A manifest written by a batch (CSV or JSON Lines).
    outdir : str, optional
        Folder to write into instead of the recorded one (each output keeps its file name).
    """
    from .manifest import read_manifest

    entries = read_manifest(path)
    if outdir is not None:
        entries = [(replace(pair, output=os.path.join(outdir, os.path.basename(pair.output))), s, f)
                   for pair, s, f in entries]
    if not entries:
        raise UsageError(f"manifest {path!r} lists no outputs")
    for _, s, _ in entries:
        s.check()
    folder = outdir if outdir is not None else os.path.dirname(entries[0][0].output) or "."
    return _plan(entries, folder, force, workers, chunk, threads, each_folder=outdir is None)


def _plan(entries, outdir: str, force: bool, workers: int, chunk: int | None, threads: int,
          each_folder: bool = False) -> BatchPlan:
    check_outputs([(pair.output, pair.input, pair.ir) for pair, _, _ in entries])
    folders = {os.path.dirname(pair.output) or "." for pair, _, _ in entries} if each_folder else {outdir}
    for folder in folders:
        _make_folder(folder)
    plan = BatchPlan(entries=list(entries))
    pending = []
    for pair, s, f in entries:
        if not force and is_complete(pair.output):
            plan.skipped.append(PairResult(pair.output, SKIPPED))
        else:
            pending.append((pair, s, f))
    if chunk is None:
        chunk = max(1, min(_MAX_CHUNK, math.ceil(len(pending) / (4 * max(1, workers)))))
    elif chunk < 1:
        raise UsageError(f"chunk must be a positive number of pairs per task, not {chunk}")
    groups: dict[tuple, list[PairJob]] = {}
    for pair, s, f in pending:
        groups.setdefault((pair.ir, s, f), []).append(pair)
    for (ir, s, f), members in groups.items():
        pieces = math.ceil(len(members) / chunk)  # an IR's pairs in pieces of equal size, none left short
        size = math.ceil(len(members) / pieces)
        for start in range(0, len(members), size):
            plan.tasks.append(BatchTask(ir, tuple(members[start:start + size]), s, f, threads))
    return plan


def _make_folder(folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot make the output folder {folder!r}: {exc.strerror}; choose another -o") from None
