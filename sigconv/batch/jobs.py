"""What a batch runs: small picklable dataclasses of paths and parameters, never arrays.

A :class:`PairJob` is one output: an input, the IR it goes through and the
levels drawn for it. A :class:`BatchTask` is one unit of work for a process
or a Dask worker: one IR with the settings of its convolution and a chunk
of pairs, so that the worker prepares the IR once for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..convolution.files import ConvolveSettings
from ..io.options import FileOptions

__all__ = ["PairJob", "BatchTask", "PairResult", "DONE", "SKIPPED", "FAILED"]

#: Status of a pair whose output was written in this run.
DONE = "done"
#: Status of a pair whose output existed already (and ``force`` was not given).
SKIPPED = "skipped"
#: Status of a pair that raised; its error is recorded and the batch goes on.
FAILED = "failed"


@dataclass(frozen=True)
class PairJob:
    """One output of a batch: ``input`` through ``ir`` into ``output`` with these levels.

    Attributes
    ----------
    input, ir, output : str
        Paths.
    wet, dry : float
        Linear gains of the convolved and the unprocessed signal, drawn
        per pair when the batch was given ranges.
    """

    input: str
    ir: str
    output: str
    wet: float = 1.0
    dry: float = 0.0


@dataclass(frozen=True)
class BatchTask:
    """One IR and a chunk of its pairs, as a worker runs them (it pickles in well under a kilobyte a pair).

    Attributes
    ----------
    ir : str
        Path of the impulse response every pair of the task goes through.
    pairs : tuple of PairJob
        The outputs to make.
    settings : ConvolveSettings
        How to convolve; its ``wet`` and ``dry`` are ignored (each pair
        carries its own).
    files : FileOptions
        Formats of the inputs and outputs.
    threads : int
        Threads each convolution may use on the worker (1: one task per core).
    """

    ir: str
    pairs: tuple[PairJob, ...]
    settings: ConvolveSettings = field(default_factory=ConvolveSettings)
    files: FileOptions = field(default_factory=FileOptions)
    threads: int = 1

    def run(self) -> list[PairResult]:
        """Run every pair of the task here; one :class:`PairResult` each, failures included."""
        from .execution import run_task

        return run_task(self)


@dataclass(frozen=True)
class PairResult:
    """What became of one pair.

    Attributes
    ----------
    output : str
        The pair's output path (its key in the plan).
    status : {'done', 'skipped', 'failed'}
    error : str
        Why it failed ('' otherwise).
    exit_code : int
        The exit status of its error class (0 unless failed).
    clipped : int
        Samples clipped when writing an integer subtype.
    seconds : float
        Time the pair took on its worker.
    cpu : float
        CPU time of the worker process for the pair (less than ``seconds``
        when the machine is busy with other work).
    """

    output: str
    status: str
    error: str = ""
    exit_code: int = 0
    clipped: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
