"""What a batch did: counts, time, rate and the failures, for the caller and the final line of the command."""

from __future__ import annotations

from dataclasses import dataclass, field

from .jobs import DONE, FAILED, SKIPPED, PairJob, PairResult

__all__ = ["BatchSummary"]


@dataclass
class BatchSummary:
    """The outcome of :func:`~sigconv.batch.running.run_batch`.

    Attributes
    ----------
    pairs : list of PairJob
        Every pair of the plan, in order.
    results : dict
        :class:`~sigconv.batch.jobs.PairResult` by output path.
    seconds : float
        Wall time of the run.
    manifest : str or None
        Where the manifest was written.
    """

    pairs: list[PairJob] = field(default_factory=list)
    results: dict[str, PairResult] = field(default_factory=dict)
    seconds: float = 0.0
    manifest: str | None = None

    def _count(self, status: str) -> int:
        return sum(1 for r in self.results.values() if r.status == status)

    @property
    def done(self) -> int:
        """Outputs written by this run."""
        return self._count(DONE)

    @property
    def skipped(self) -> int:
        """Outputs that existed already."""
        return self._count(SKIPPED)

    @property
    def failed(self) -> int:
        """Pairs that failed."""
        return self._count(FAILED)

    @property
    def clipped(self) -> int:
        """Outputs in which samples were clipped (integer subtypes)."""
        return sum(1 for r in self.results.values() if r.clipped)

    @property
    def files_per_second(self) -> float:
        """Outputs written per second of wall time."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_seconds(self) -> float:
        """CPU time the workers spent on the pairs of this run (their start-up not counted)."""
        return sum(r.cpu for r in self.results.values())

    @property
    def failures(self) -> list[tuple[PairJob, PairResult]]:
        """Each failed pair with its result, in the plan's order."""
        return [(p, self.results[p.output]) for p in self.pairs
                if p.output in self.results and self.results[p.output].status == FAILED]

    @property
    def exit_code(self) -> int:
        """0 when nothing failed; else the exit status the failures share (3: unreadable input...), or 1."""
        codes = {result.exit_code for _, result in self.failures}
        if not codes:
            return 0
        return codes.pop() if len(codes) == 1 else 1

    def line(self) -> str:
        """``done 8, skipped 0, failed 1 in 2.1 s (3.8 files/s)``."""
        text = (f"done {self.done}, skipped {self.skipped}, failed {self.failed} in {self.seconds:.1f} s "
                f"({self.files_per_second:.1f} files/s)")
        if self.clipped:
            text += f"; {self.clipped} output(s) clipped: write a float subtype or lower the --gain"
        return text
