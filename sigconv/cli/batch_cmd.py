"""``sigconv batch``."""

from __future__ import annotations

import time

import click

from ..compute.onsets import ONSET_THRESHOLD_DB
from ..convolution.alignment import ALIGNMENTS, CONVOLVE_MODES
from ..convolution.mixing import NORMALIZE_CHOICES
from ..progress import task_progress
from .options import LevelType, TimeType, common_options

_PAIRINGS = ("all", "zip", "random")


def _ceiling(ctx, param, value):
    from ..convolution.levels import check_ceiling
    from ..errors import UsageError

    try:
        return check_ceiling(value)
    except UsageError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _convolve_options(fn):
    """The options of ``sigconv convolve`` that make sense per pair, with its units and defaults.

    ``--precision`` is the one default that differs: 32 here (see its help).
    """
    for decorator in reversed((
        click.option("--mode", type=click.Choice(CONVOLVE_MODES), default="full", show_default=True,
                     help="Output length as for sigconv convolve: full keeps the reverb tail; keep: the input's "
                     "length from time zero; same, valid as in scipy.signal.convolve."),
        click.option("--align", type=click.Choice(ALIGNMENTS), default="wet", show_default=True,
                     help="Which path keeps time zero, as for sigconv convolve: wet (the dry input is delayed "
                     "to the IR's onset), dry, none."),
        click.option("--wet", default="1", show_default=True, metavar="LEVEL|LOW:HIGH",
                     help="Gain of the convolved signal, linear (0.5) or in dB (-6dB); LOW:HIGH draws it per "
                     "pair by --seed (0.3:1.0 uniform in the factor, -12dB:-3dB uniform in dB)."),
        click.option("--dry", default="0", show_default=True, metavar="LEVEL|LOW:HIGH",
                     help="Gain of the unprocessed input, aligned as --align says; a level or LOW:HIGH as --wet."),
        click.option("--gain", "gain_db", type=LevelType("dB", into="dB"), default=0.0, show_default=True,
                     help="Level change in dB (-6 or -6dB), after --normalize and before --ceiling."),
        click.option("--normalize", type=click.Choice(NORMALIZE_CHOICES), default="none", show_default=True,
                     help="As for sigconv convolve: none, peak, ir-energy, rms-match, lufs (to --loudness)."),
        click.option("--loudness", type=LevelType("LUFS", units=("LUFS",)), default=None, metavar="LUFS",
                     help="Integrated loudness of every output (ITU-R BS.1770-4), e.g. -23LUFS; implies "
                     "--normalize lufs."),
        click.option("--ceiling", default=None, metavar="LEVEL", callback=_ceiling,
                     help="Peak limit of every output, applied last as a gain that never raises the level: "
                     "-1dBTP (true peak; a bare number is dBTP) or -0.1dBFS (sample peak)."),
        click.option("--predelay", "predelay_ms", type=TimeType("ms", min=0), default="0", show_default=True,
                     help="Delay the wet signal: 20ms, 0.02s, 960smp; a bare number is milliseconds."),
        click.option("--trim-ir", "trim_ir", is_flag=True, help="Drop each IR's leading samples below --trim-db."),
        click.option("--trim-db", type=LevelType("dB", into="dB", units=("dB",), max=0), default=ONSET_THRESHOLD_DB,
                     show_default=True,
                     help="Level relative to the IR's peak below which --trim-ir drops leading samples; the "
                     "default is the onset that --dry is aligned to."),
        click.option("--resample", "resample_ir", is_flag=True,
                     help="Resample an IR to an input's sample rate when they differ."),
        click.option("--precision", type=click.Choice(["64", "32"]), default="32", show_default=True,
                     help="Bits of the float computation and of the samples read. 32 (sigconv convolve: 64) "
                     "makes a batch of 16-bit clips 1.2-1.5x faster; its outputs differ from 64's by float32 "
                     "rounding (at most 1 LSB of PCM_16). Give 64 for the files sigconv convolve makes."),
        click.option("-f", "--format", "output_format", metavar="FMT",
                     help="Output format: wav, flac, ogg, aiff (default: the input's)."),
        click.option("--subtype", metavar="SUBTYPE",
                     help="Output sample type: FLOAT, PCM_16, PCM_24... (default: the input's, where it fits)."),
        click.option("-b", "--backend", default="auto", show_default=True, metavar="NAME",
                     help="Compute backend (see `sigconv backends`)."),
    )):
        fn = decorator(fn)
    return fn


@click.command(name="batch")
@click.argument("inputs", metavar="INPUTS...", nargs=-1)
@click.option("--ir", "irs", multiple=True, metavar="IR_OR_DIR",
              help="Impulse response: a file, a folder or a glob; repeat for more.")
@click.option("-o", "--output", "outdir", metavar="OUTDIR", required=True,
              help="Folder of the outputs (made if missing).")
@click.option("--pairs", type=click.Choice(_PAIRINGS), default="all", show_default=True,
              help="all: every input with every IR; zip: the i-th input with the i-th IR; random: each input "
              "with one IR drawn by --seed.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --pairs random and of level ranges.")
@_convolve_options
@click.option("--name", "template", default="{stem}__{ir}.{ext}", show_default=True, metavar="TEMPLATE",
              help="Output file name; fields {stem} {ir} {ext} {index} {parent}.")
@click.option("--manifest", metavar="FILE",
              help="Record every output's input, IR, levels, settings, status and error (.csv, else JSON Lines).")
@click.option("--from-manifest", "from_manifest", metavar="FILE",
              help="Make the outputs a manifest records again, into OUTDIR (no INPUTS or --ir).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes (default: all cores); also the workers of --scheduler local.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on Dask: a scheduler address (tcp://host:8786), or local for a LocalCluster "
              "(needs pip install 'sigconv[dist]').")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Threads per task; keep 1 when every core runs a worker.")
@click.option("--force", is_flag=True, help="Make outputs that exist already again (default: skip them).")
@common_options
def batch_command(inputs, irs, outdir, pairs, seed, mode, align, wet, dry, gain_db, normalize, loudness, ceiling,
                  predelay_ms, trim_ir, trim_db, resample_ir, precision, output_format, subtype, backend, template, manifest,
                  from_manifest, jobs, scheduler, threads, force, quiet):
    """Convolve many INPUTS with many impulse responses into OUTDIR.

    INPUTS and --ir take files, folders (searched recursively for audio)
    and glob patterns. Outputs that exist already are skipped (writes are
    atomic, so a killed run leaves no partial file: run it again to finish),
    two pairs that would write one file are refused before any work, and a
    pair that fails is reported while the others complete; the exit status
    is then that of the failures (3 for an unreadable input).

    \b
    Examples:
      sigconv batch clips/ --ir irs/ -o wet/ --pairs random --seed 1 --wet 0.3:1.0 --manifest wet/manifest.csv
      sigconv batch 'stems/*.wav' --ir hall.wav --ir plate.wav -o renders/ --trim-ir --normalize rms-match
      sigconv batch clips/ --ir irs/ -o wet/ --mode keep --align dry --dry 1 --wet -18dB:-6dB --ceiling -1dBTP
      sigconv batch clips/ --ir irs/ -o wet/ --scheduler tcp://10.0.0.5:8786
      sigconv batch --from-manifest wet/manifest.csv -o rebuilt/
    """
    from ..batch.planning import plan_batch, plan_from_manifest
    from ..batch.running import default_jobs, run_batch
    from ..errors import UsageError

    workers = jobs or default_jobs()
    if from_manifest:
        if inputs or irs:
            raise UsageError("--from-manifest takes its inputs and IRs from the manifest; give no INPUTS or --ir")
        plan = plan_from_manifest(from_manifest, outdir, force=force, workers=workers, threads=threads)
    else:
        if not inputs or not irs:
            raise UsageError("give INPUTS and at least one --ir (or --from-manifest FILE)")
        if loudness is not None:
            if normalize not in ("none", "lufs"):
                raise UsageError(f"--loudness sets --normalize lufs, and --normalize {normalize} was given too; "
                                 "keep one of them (--ceiling combines with either)")
            normalize = "lufs"
        plan = plan_batch(inputs, irs, outdir, pairs=pairs, seed=seed, wet=wet, dry=dry, template=template,
                          force=force, workers=workers, threads=threads, mode=mode, backend=backend,
                          gain_db=gain_db, normalize=normalize, precision=int(precision), resample_ir=resample_ir,
                          trim_db=trim_db if trim_ir else None, predelay_ms=predelay_ms, format=output_format,
                          subtype=subtype, align=align, ceiling=ceiling,
                          **({} if loudness is None else {"target_lufs": loudness.value}))
    with task_progress("batch", quiet) as update:
        summary = run_batch(plan, jobs=workers, scheduler=scheduler, manifest=manifest,
                            progress=_rate_display(update))
    for pair, result in summary.failures:
        click.echo(f"failed: {pair.input} with {pair.ir}: {result.error}", err=True)
    if not quiet:
        click.echo(summary.line(), err=True)
    if summary.exit_code:
        where = f"; see {manifest}" if manifest else ""
        click.echo(f"Error: {summary.failed} of {len(summary.pairs)} pairs failed{where}", err=True)
        click.get_current_context().exit(summary.exit_code)


def _rate_display(update):
    """``progress(finished, total)`` for the bar: files per second and the time left beside the count."""
    started = time.perf_counter()

    def progress(finished: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        rate = finished / elapsed if elapsed > 0 else 0.0
        left = (total - finished) / rate if rate > 0 else None
        eta = "" if left is None else f"  ETA {int(left) // 60}:{int(left) % 60:02d}"
        update(finished, total, f"{rate:.1f} files/s{eta}")

    return progress
