"""``sigconv correlate``: time delays, clock drift, and a clip's occurrences in a recording."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass

import click

from ..correlation.delays import DEFAULT_METHOD, DEFAULT_MIN_CONFIDENCE, METHODS
from ..errors import UsageError
from ..io.atomic import refuse_input_overwrite
from ..correlation.peaks import REFINEMENTS
from ..progress import progress_bar
from .common import report_notes
from .options import IOOptions, _stack, common_options, compute_options


@dataclass(frozen=True)
class SearchOptions:
    """How delays are searched and judged, and which backend computes them."""

    method: str | None
    normalize: bool
    max_lag: float | None
    min_lag: float | None
    lag_range: tuple[float, float] | None
    ref_channel: int
    refine: str
    min_confidence: float
    resample: bool
    block: int | None
    backend: str = "auto"

    def correlate_settings(self, keep_function: bool):
        """The library's :class:`~sigconv.correlation.files.CorrelateSettings` for a plain correlation."""
        from ..correlation.files import CorrelateSettings

        return CorrelateSettings(
            method=self.method or DEFAULT_METHOD, normalize=self.normalize, max_lag=self.max_lag,
            min_lag=self.min_lag, lag_range=self.lag_range, ref_channel=self.ref_channel, refine=self.refine,
            min_confidence=self.min_confidence or None, resample_b=self.resample, block=self.block,
            keep_function=keep_function, backend=self.backend,
        )

    def drift_settings(self, window: float | None):
        """The library's :class:`~sigconv.correlation.files.DriftSettings` for ``--drift``."""
        from ..correlation.files import DriftSettings

        return DriftSettings(method=self.method or DEFAULT_METHOD, max_lag=self.max_lag, lag_range=self.lag_range,
                             ref_channel=self.ref_channel, min_confidence=self.min_confidence, refine=self.refine,
                             resample_b=self.resample, backend=self.backend,
                             **({} if window is None else {"window": window}))

    def locate_settings(self, threshold: float | None):
        """The library's :class:`~sigconv.correlation.files.LocateSettings` for ``--locate``."""
        from ..correlation.files import LocateSettings

        return LocateSettings(block=self.block, resample_clip=self.resample, backend=self.backend,
                              **({} if threshold is None else {"threshold": threshold}))


@dataclass(frozen=True)
class ModeOptions:
    """Which job: plain delays, drift (``--drift``) or clip search (``--locate``)."""

    drift: bool
    window: float | None
    locate: bool
    threshold: float | None
    as_json: bool


def search_options(fn):
    """The options of the delay search, gathered into ``search``."""

    @_stack(
        click.option("-m", "--method", type=click.Choice(METHODS), default=None,
                     help="Weighting: gcc-phat (default; robust to reverberation), scot, or cc (plain)."),
        click.option("--normalize", is_flag=True,
                     help="For --method cc: the normalized coefficient, -1..1 (1: identical signals)."),
        click.option("--max-lag", type=float, metavar="SECONDS", help="Search only |delay| <= SECONDS."),
        click.option("--min-lag", type=float, metavar="SECONDS", help="Leave out |delay| < SECONDS."),
        click.option("--lag-range", type=(float, float), default=None, metavar="LO HI",
                     help="Search only LO <= delay <= HI seconds (signed; instead of --max-lag)."),
        click.option("--ref-channel", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
                     help="Channel of A that every channel of B is compared with."),
        click.option("--refine", type=click.Choice(REFINEMENTS), default="bandlimited", show_default=True,
                     help="Sub-sample refinement of the peak."),
        click.option("--min-confidence", type=click.FloatRange(min=0), default=DEFAULT_MIN_CONFIDENCE,
                     show_default=True, metavar="X",
                     help="Exit with status 7 instead of reporting a delay whose confidence is below X (0: never)."),
        click.option("--resample", is_flag=True,
                     help="Resample B (with --locate: the clip) to the other's rate when they differ."),
        click.option("--block", type=click.IntRange(min=1), default=None, metavar="FRAMES",
                     help="Experts: frames per block of the block-by-block computation."),
    )
    @functools.wraps(fn)
    def wrapper(*args, method, normalize, max_lag, min_lag, lag_range, ref_channel, refine, min_confidence,
                resample, block, **kwargs):
        kwargs["search"] = SearchOptions(method, normalize, max_lag, min_lag, lag_range, ref_channel, refine,
                                         min_confidence, resample, block)
        return fn(*args, **kwargs)

    return wrapper


def mode_options(fn):
    """``--drift``, ``--window``, ``--locate``, ``--threshold``, ``--json``, gathered into ``mode``."""

    @_stack(
        click.option("--drift", is_flag=True,
                     help="Measure the delay in overlapping windows and fit the initial offset and the clock drift."),
        click.option("--window", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
                     help="With --drift: window length (default 10; windows overlap by half)."),
        click.option("--locate", is_flag=True,
                     help="Find every occurrence of the clip A in the recording B (streamed)."),
        click.option("--threshold", type=click.FloatRange(-1, 1), default=None, metavar="SCORE",
                     help="With --locate: the smallest score reported, -1..1 (default 0.5)."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text."),
    )
    @functools.wraps(fn)
    def wrapper(*args, drift, window, locate, threshold, as_json, **kwargs):
        kwargs["mode"] = ModeOptions(drift, window, locate, threshold, as_json)
        return fn(*args, **kwargs)

    return wrapper


def output_options(fn):
    """``-o``, ``--format``, ``--subtype``, ``--input-format``, ``--rate``, gathered into ``io``.

    As ``io_options``, with help that says what ``correlate`` writes: no
    file unless ``-o`` is given.
    """

    @_stack(
        click.option("-o", "--output", metavar="FILE",
                     help="Also write the correlation function over the searched window: CSV (lag_samples, "
                     "lag_seconds, one column per channel pair) or audio (one channel per pair, frame 0 = the "
                     "lowest lag); - for standard output (the report then goes to stderr)."),
        click.option("-f", "--format", "output_format", metavar="FMT",
                     help="Format of -o: csv, wav, flac... (default: from the extension; wav for -)."),
        click.option("--subtype", metavar="SUBTYPE",
                     help="Sample type of an audio -o (default: FLOAT for WAV and AIFF, PCM_24 for FLAC)."),
        click.option("--input-format", metavar="FMT",
                     help="Format of the inputs when neither name nor content tells it (e.g. csv)."),
        click.option("--rate", type=click.FloatRange(min=0, min_open=True), metavar="HZ",
                     help="Sample rate of CSV inputs that have no time column."),
    )
    @functools.wraps(fn)
    def wrapper(*args, output, output_format, subtype, input_format, rate, **kwargs):
        kwargs["io"] = IOOptions(output, output_format, subtype, input_format, rate)
        return fn(*args, **kwargs)

    return wrapper


def _refuse_conflicts(search: SearchOptions, mode: ModeOptions, output: str | None) -> None:
    if mode.drift and mode.locate:
        raise UsageError("--drift and --locate are different jobs; give one of them")
    if mode.window is not None and not mode.drift:
        raise UsageError("--window applies to --drift; add --drift or leave --window out")
    if mode.threshold is not None and not mode.locate:
        raise UsageError("--threshold applies to --locate; add --locate or leave --threshold out")
    if mode.locate:
        given = [("--method", search.method is not None), ("--normalize", search.normalize),
                 ("--max-lag", search.max_lag is not None), ("--min-lag", search.min_lag is not None),
                 ("--lag-range", search.lag_range is not None), ("--ref-channel", search.ref_channel != 0),
                 ("--refine", search.refine != "bandlimited"), ("-o", output is not None)]
        bad = [name for name, present in given if present]
        if bad:
            raise UsageError(f"{_names(bad)} not apply to --locate, which scores the clip by normalized "
                             "cross-correlation at every position; leave them out")
    if mode.drift:
        bad = [name for name, present in [("--normalize", search.normalize), ("--min-lag", search.min_lag is not None),
                                          ("-o", output is not None)] if present]
        if bad:
            raise UsageError(f"{_names(bad)} not apply to --drift; leave them out (--json gives the "
                             "per-window delays)")


def _names(options: list[str]) -> str:
    """``--a does`` or ``--a, --b do``."""
    return f"{options[0]} does" if len(options) == 1 else f"{', '.join(options)} do"


def _confidence_text(confidence) -> str:
    if confidence is None:
        return "n/a"
    if math.isinf(confidence):
        return "inf"
    return f"{confidence:.1f}" if confidence < 1e5 else f"{confidence:.3g}"


@click.command(name="correlate")
@click.argument("a_path", metavar="A")
@click.argument("b_path", metavar="B")
@search_options
@mode_options
@output_options
@compute_options
@common_options
def correlate_command(a_path, b_path, search, mode, io, backend, context, quiet):
    """Estimate how far B lags A: if B is A delayed by d seconds, the delay is +d.

    Prints one line per channel of B (compared with channel --ref-channel
    of A): the delay in samples and seconds (refined between samples), the
    correlation peak, and the confidence (the peak over the highest other
    peak, outside 8 samples and the peak's main lobe; about 1 for unrelated
    signals). Below --min-confidence it prints no delay and exits with
    status 7; a silent or constant input exits with status 8. A or B may be
    - for standard input.

    --drift measures the delay in windows along the recordings and reports
    the initial offset and the clock drift in ppm. --locate treats A as a
    short clip and B as a long recording (streamed, also from a pipe) and
    prints the start time and score of every occurrence.

    \b
    Examples:
      sigconv correlate cam1.wav cam2.wav
      sigconv correlate cam1.wav cam2.wav --max-lag 5 --json
      sigconv correlate mics.wav mics.wav --ref-channel 0 --max-lag 0.002
      sigconv correlate a.wav b.wav --method cc --normalize -o xcorr.csv
      sigconv correlate recorder1.flac recorder2.flac --drift --window 30
      sigconv correlate --locate jingle.wav broadcast.flac --threshold 0.6
    """
    search = dataclasses.replace(search, backend=backend)
    _refuse_conflicts(search, mode, io.output)
    if io.output is not None:
        refuse_input_overwrite(io.output, [a_path, b_path])
    to_stderr = io.output == "-"  # standard output carries the correlation function then
    if mode.locate:
        return _locate(a_path, b_path, search, mode, io, context, quiet)
    if mode.drift:
        return _drift(a_path, b_path, search, mode, io, context, quiet)
    from ..correlation.files import CorrelateJob, write_correlation

    settings = search.correlate_settings(keep_function=io.output is not None)
    with progress_bar("correlating", quiet) as update:
        result = CorrelateJob(a_path, b_path, settings, io.files).run(context, progress=update)
    notes = list(result.notes)
    for p in result.pairs:
        if p.at_edge:
            notes.append(f"B channel {p.channel}: the peak is at the edge of the search window ({p.lag:+d} samples); "
                         "the delay may lie outside it: widen --max-lag or --lag-range")
        if p.confidence is None:
            notes.append(f"B channel {p.channel}: the search window is too narrow to measure the confidence")
    if io.output is not None:
        report = write_correlation(result, io.output, format=io.format, subtype=io.subtype, protect=[a_path, b_path])
        if report.clipped:
            click.echo(f"Warning: {report.clipped} correlation values beyond full scale were clipped while writing "
                       f"{report.subtype}; write WAV float (the default), CSV, or use --method cc --normalize", err=True)
    report_notes(notes, quiet)
    if mode.as_json:
        document = {"a": a_path, "b": b_path, **result.as_dict(), "notes": notes}
        click.echo(json.dumps(document, indent=2), err=to_stderr)
        return
    several = len(result.pairs) > 1
    for p in result.pairs:
        prefix = f"channel {p.channel}: " if several else ""
        click.echo(f"{prefix}delay: {p.delay_samples:+.2f} samples ({p.delay_seconds:+.6f} s)  peak {p.peak:.3g}  "
                   f"confidence {_confidence_text(p.confidence)}", err=to_stderr)


def _drift(a_path, b_path, search, mode, io, context, quiet):
    from ..correlation.files import drift_files

    with progress_bar("measuring drift", quiet) as update:
        result, notes = drift_files(a_path, b_path, search.drift_settings(mode.window), files=io.files,
                                    context=context, progress=update)
    report_notes(notes, quiet)
    if mode.as_json:
        click.echo(json.dumps({"a": a_path, "b": b_path, **result.as_dict(), "notes": notes}, indent=2))
        return
    several = len(result.pairs) > 1
    for p in result.pairs:
        prefix = f"channel {p.channel}: " if several else ""
        click.echo(f"{prefix}offset: {p.offset_samples:+.2f} samples ({p.offset_seconds:+.6f} s)  drift "
                   f"{p.drift_ppm:+.2f} ppm  ({p.windows_used} of {len(p.windows)} windows, residual "
                   f"{p.residual_samples:.3f} samples)")


def _locate(clip_path, recording_path, search, mode, io, context, quiet):
    from ..correlation.files import locate_file

    settings = search.locate_settings(mode.threshold)
    threshold = settings.threshold
    with progress_bar("searching", quiet) as update:
        result, notes = locate_file(clip_path, recording_path, settings, files=io.files, context=context,
                                    progress=update)
    if not result.matches and result.best is not None:
        notes.append(f"no occurrence reached --threshold {threshold:g}; the best score was {result.best.score:.3f} "
                     f"at {result.best.start_seconds:.6f} s")
    report_notes(notes, quiet)
    if mode.as_json:
        click.echo(json.dumps({"clip": clip_path, "recording": recording_path, **result.as_dict(), "notes": notes},
                              indent=2))
        return
    for m in result.matches:
        click.echo(f"{m.start_seconds:.6f} s  score {m.score:.3f}")
