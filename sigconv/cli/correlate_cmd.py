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
from ..limits import MIN_BLOCK
from ..correlation.peaks import REFINEMENTS
from ..progress import progress_bar
from .common import raw_input_options, report_notes
from .options import FiniteFloat, IOOptions, TimeType, _stack, common_options, compute_options


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
    """Which job: plain delays, drift (``--drift``) or clip search (``--locate``); ``aligned``: where B
    aligned to A goes (``--aligned``)."""

    drift: bool
    window: float | None
    locate: bool
    threshold: float | None
    as_json: bool
    aligned: str | None = None


def search_options(fn):
    """The options of the delay search, gathered into ``search``."""

    @_stack(
        click.option("-m", "--method", type=click.Choice(METHODS), default=None,
                     help="Weighting: gcc-phat (default; robust to reverberation), scot, or cc (plain)."),
        click.option("--normalize", is_flag=True,
                     help="For --method cc: the normalized coefficient, -1..1 (1: identical signals)."),
        click.option("--max-lag", type=TimeType("s", into="s"), metavar="SECONDS",
                     help="Search only |delay| <= this time (5, 5s or 200ms; a bare number is seconds)."),
        click.option("--min-lag", type=TimeType("s", into="s"), metavar="SECONDS",
                     help="Leave out |delay| < this time (0.005 or 5ms; a bare number is seconds)."),
        click.option("--lag-range", type=(TimeType("s", into="s"), TimeType("s", into="s")), default=None, metavar="LO HI",
                     help="Search only LO <= delay <= HI seconds (signed; instead of --max-lag)."),
        click.option("--ref-channel", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
                     help="Channel of A that every channel of B is compared with; channels count from 0."),
        click.option("--refine", type=click.Choice(REFINEMENTS), default="bandlimited", show_default=True,
                     help="Sub-sample refinement of the peak."),
        click.option("--min-confidence", type=FiniteFloat(min=0), default=DEFAULT_MIN_CONFIDENCE,
                     show_default=True, metavar="X",
                     help="A channel pair whose confidence is below X gets no delay; after reporting every pair "
                     "the command exits with status 7 (0: never)."),
        click.option("--resample", is_flag=True,
                     help="Resample B (with --locate: the clip) to the other's rate when they differ."),
        click.option("--block", type=click.IntRange(min=MIN_BLOCK), default=None, metavar="FRAMES",
                     help="Experts: frames per block of the block-by-block computation (shorter blocks cost "
                     "more in overhead than they save)."),
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
        click.option("--window", type=TimeType("s", into="s", min=0, min_open=True), default=None, metavar="SECONDS",
                     help="With --drift: window length (default 10; windows overlap by half)."),
        click.option("--locate", is_flag=True,
                     help="Find every occurrence of the clip A in the recording B (streamed)."),
        click.option("--threshold", type=FiniteFloat(-1, 1), default=None, metavar="SCORE",
                     help="With --locate: the smallest score reported, -1..1 (default 0.5)."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text."),
        click.option("--aligned", metavar="FILE",
                     help="Also write B aligned to A: B shifted by the delay (its head cut, or silence before it) "
                     "and, with --drift, resampled onto A's clock, as long as A, so that it lines up with A sample "
                     "for sample. Written only when the delay (or drift fit) is reliable; in B's sample type "
                     "unless --subtype says otherwise."),
    )
    @functools.wraps(fn)
    def wrapper(*args, drift, window, locate, threshold, as_json, aligned, **kwargs):
        kwargs["mode"] = ModeOptions(drift, window, locate, threshold, as_json, aligned)
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
                     "lowest lag); - for standard output (the report then goes to stderr). Written even when a "
                     "delay is unreliable (with a warning and exit status 7)."),
        click.option("-f", "--format", "output_format", metavar="FMT",
                     help="Format of -o: csv, wav, flac... (default: from the extension; wav for -)."),
        click.option("--subtype", metavar="SUBTYPE",
                     help="Sample type of an audio -o (default: FLOAT for WAV and AIFF, PCM_24 for FLAC)."),
        click.option("--input-format", metavar="FMT",
                     help="Format of the inputs when neither name nor content tells it (e.g. csv)."),
        click.option("--rate", type=FiniteFloat(min=0, min_open=True), metavar="HZ",
                     help=("Sample rate of CSV inputs that have no time column, and of raw PCM inputs "
                           "(--input-format raw).")),
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
    if mode.aligned is not None:
        _refuse_align_conflicts(mode, output)
    if mode.drift:
        bad = [name for name, present in [("--normalize", search.normalize), ("--min-lag", search.min_lag is not None),
                                          ("-o", output is not None)] if present]
        if bad:
            raise UsageError(f"{_names(bad)} not apply to --drift; leave them out (--json gives the "
                             "per-window delays)")


def _refuse_align_conflicts(mode: ModeOptions, output: str | None) -> None:
    if mode.locate:
        raise UsageError("--aligned does not apply to --locate; it writes B aligned to A after --drift or a plain "
                         "correlation")
    if mode.aligned == "-":
        raise UsageError("--aligned writes a file, not standard output (which carries the report); give a file name")
    if output is not None and output == mode.aligned:
        raise UsageError(f"-o and --aligned both name {output!r}; give them different files")


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
@raw_input_options
@compute_options
@common_options
def correlate_command(a_path, b_path, search, mode, io, backend, context, quiet):
    """Estimate how far B lags A: if B is A delayed by d seconds, the delay is +d.

    Prints one line per channel of B (compared with channel --ref-channel
    of A): the delay in samples and seconds (refined between samples), the
    correlation peak, and the confidence. The delay is the direct path:
    arrivals within 5 ms of the strongest peak are one event (the direct
    sound and its early reflections) and the earliest strong one of them
    is reported; an inverted B is detected and said. The confidence is the
    event's peak over the highest other peak (leaving out the event and,
    on the reverberant side, 100 ms of its echoes), measured on the
    GCC-PHAT correlation whatever --method: about 1 for unrelated signals.

    A channel whose confidence is below --min-confidence gets no delay
    (the line says why); if any channel fails, the command exits with
    status 7 after printing every channel, with --json too (each pair then
    has "status" and "reason"), and -o still writes the correlation
    function (with a warning). A silent or constant input exits with
    status 8. A or B may be - for standard input. Without a lag window,
    long recordings are searched coarse to fine in bounded memory (under
    300 MB for two 1-hour 48 kHz files).

    --drift measures the delay in windows along the recordings and reports
    the initial offset and the clock drift in ppm: the line of delays that
    most windows agree on (music that repeats does not fool it). A fit that
    fewer than half the windows agree on, or whose windows scatter from the
    line by more than 1 sample RMS, exits with status 7 (--json still
    prints what was found). --aligned FILE also writes B lined up with A
    (shifted, and with --drift resampled onto A's clock). --locate treats A as a
    short clip and B as a long recording (streamed, also from a pipe) and
    prints the start time (also as hh:mm:ss.mmm) and score of every
    occurrence.

    \b
    Examples:
      sigconv correlate cam1.wav cam2.wav
      sigconv correlate cam1.wav cam2.wav --max-lag 5 --json
      sigconv correlate mics.wav mics.wav --ref-channel 0 --max-lag 0.002
      sigconv correlate a.wav b.wav --method cc --normalize -o xcorr.csv
      sigconv correlate recorder1.flac recorder2.flac --drift --window 30
      sigconv correlate recorder1.flac recorder2.flac --drift --aligned recorder2-synced.flac
      sigconv correlate --locate jingle.wav broadcast.flac --threshold 0.6
    """
    search = dataclasses.replace(search, backend=backend)
    _refuse_conflicts(search, mode, io.output)
    if io.output is not None:
        refuse_input_overwrite(io.output, [a_path, b_path])
    if mode.aligned is not None:
        _refuse_aligned_inputs(a_path, b_path, mode.aligned)
    if mode.locate:
        return _locate(a_path, b_path, search, mode, io, context, quiet)
    if mode.drift:
        return _drift(a_path, b_path, search, mode, io, context, quiet)
    return _delays(a_path, b_path, search, mode, io, context, quiet)


def _delays(a_path, b_path, search, mode, io, context, quiet):
    """Plain delays: every pair reported (or said unreliable), -o written, then exit 7 if any pair failed."""
    from ..correlation.files import CorrelateJob, write_correlation
    from ..correlation.results import NO_DELAY_ADVICE, judge
    from ..errors import NoReliableDelayError

    to_stderr = io.output == "-"  # standard output carries the correlation function then
    settings = dataclasses.replace(search.correlate_settings(keep_function=io.output is not None),
                                   min_confidence=None)
    with progress_bar("correlating", quiet) as update:
        result = CorrelateJob(a_path, b_path, settings, io.files).run(context, progress=update)
    result = judge(result, search.min_confidence)
    notes = list(result.notes)
    for p in result.pairs:
        if p.at_edge:
            notes.append(f"B channel {p.channel}: the peak is at the edge of the search window ({p.lag:+d} samples); "
                         "the delay may lie outside it: widen --max-lag or --lag-range")
        if p.confidence is None:
            notes.append(f"B channel {p.channel}: the search window is too narrow to measure the confidence")
        if p.inverted and p.reliable is not False:
            notes.append(f"B channel {p.channel} is inverted against A channel {p.ref_channel} (its strongest "
                         "arrival is negative)")
    if io.output is not None:
        report = write_correlation(result, io.output, format=io.format, subtype=io.subtype, protect=[a_path, b_path])
        if report.clipped:
            click.echo(f"Warning: {report.clipped} correlation values beyond full scale were clipped while writing "
                       f"{report.subtype}; write WAV float (the default), CSV, or use --method cc --normalize", err=True)
        if result.failed:
            click.echo(f"Warning: wrote the correlation function to {io.output}, but "
                       f"{_count(result.failed)} no reliable delay", err=True)
    if mode.aligned is not None:
        notes.append(_aligned_by_delay(a_path, b_path, mode.aligned, io, result))
    report_notes(notes, quiet)
    if mode.as_json:
        document = {"a": a_path, "b": b_path, **result.as_dict(), "notes": notes}
        click.echo(json.dumps(document, indent=2), err=to_stderr)
    else:
        several = len(result.pairs) > 1
        for p in result.pairs:
            prefix = f"channel {p.channel}: " if several else ""
            click.echo(prefix + _pair_text(p), err=to_stderr)
    if result.failed:
        raise NoReliableDelayError(
            f"no reliable delay found ({'; '.join(p.reason for p in result.failed)}). {NO_DELAY_ADVICE}")


def _count(failed) -> str:
    return "1 channel pair has" if len(failed) == 1 else f"{len(failed)} channel pairs have"


def _pair_text(p) -> str:
    """One line for a pair: its delay, or why there is none."""
    if p.reliable is False:
        return (f"no reliable delay (best lag {p.lag:+d} samples, {p.lag / p.rate:+.6f} s, peak {p.peak:.3g}, "
                f"confidence {_confidence_text(p.confidence)})")
    polarity = "  inverted" if p.inverted else ""
    return (f"delay: {p.delay_samples:+.2f} samples ({p.delay_seconds:+.6f} s)  peak {p.peak:.3g}  "
            f"confidence {_confidence_text(p.confidence)}{polarity}")


def _refuse_aligned_inputs(a_path, b_path, destination) -> None:
    if b_path == "-":
        raise UsageError("--aligned needs B as a file: B is read again to write it aligned, and standard input "
                         "can be read only once")
    refuse_input_overwrite(destination, [a_path, b_path])


def _aligned_by_delay(a_path, b_path, destination, io, result) -> str:
    """``--aligned`` after a plain correlation: B's channels move together, by the most confident reliable pair."""
    reliable = [p for p in result.pairs if getattr(p, "reliable", True) is not False]
    if not reliable:
        return f"wrote no B aligned to A to {destination!r}: no channel pair has a reliable delay"
    steadiest = max(reliable, key=lambda p: -1.0 if p.confidence is None else p.confidence)
    return _write_aligned(a_path, b_path, destination, io, steadiest.delay_seconds, 0.0, result.frames_a,
                          result.rate)


def _write_aligned(a_path, b_path, destination, io, delay_seconds, drift_ppm, length, rate) -> str:
    """Write B aligned to A (``--aligned``); returns the note that says what was written."""
    from ..correlation.align import align_file

    report = align_file(b_path, destination, delay_seconds, drift_ppm=drift_ppm, length=length, rate=rate,
                        files=io.files, subtype=io.subtype, protect=[a_path])
    if report.clipped:
        click.echo(f"Warning: {report.clipped} samples of B aligned to A went beyond full scale and were clipped "
                   f"while writing {report.subtype}; give --subtype FLOAT", err=True)
    how = f"shifted by {delay_seconds:+.6f} s" + (f" and resampled by {drift_ppm:+.3f} ppm" if drift_ppm else "")
    return f"wrote B aligned to A ({how}, {report.frames} frames) to {destination!r}"


def _drift(a_path, b_path, search, mode, io, context, quiet):
    from ..correlation.drift import UnreliableDriftError
    from ..correlation.files import drift_files

    with progress_bar("measuring drift", quiet) as update:
        try:
            result, notes = drift_files(a_path, b_path, search.drift_settings(mode.window), files=io.files,
                                        context=context, progress=update)
        except UnreliableDriftError as exc:  # --json still shows what was found; the status stays 7
            if mode.as_json:
                click.echo(json.dumps({"a": a_path, "b": b_path, **exc.result.as_dict(), "error": str(exc)},
                                      indent=2))
            raise
    if mode.aligned is not None:  # the channels of B share one clock: the fit with the most windows
        steadiest = max(result.pairs, key=lambda p: p.windows_used)
        notes.append(_write_aligned(a_path, b_path, mode.aligned, io, steadiest.offset_seconds, steadiest.drift_ppm,
                                    result.frames_a, result.rate))
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
        click.echo(f"{m.start_seconds:.6f} s  {m.start_clock}  score {m.score:.3f}")
