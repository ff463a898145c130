"""``sigconv convolve``."""

from __future__ import annotations

import click

from ..compute.onsets import ONSET_THRESHOLD_DB
from ..convolution.alignment import ALIGNMENTS, CONVOLVE_MODES
from ..convolution.mixing import NORMALIZE_CHOICES
from ..convolution.files import ConvolveJob, ConvolveSettings
from ..errors import UsageError
from ..limits import MAX_BLOCK, MAX_PARTITIONS, MIN_BLOCK
from ..progress import progress_bar
from .common import raw_input_options, report_notes
from .options import LevelType, TimeType, common_options, compute_options, io_options, resolve_output


def _ceiling(ctx, param, value):
    from ..convolution.levels import check_ceiling

    try:
        return check_ceiling(value)
    except UsageError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@click.command(name="convolve")
@click.argument("input_path", metavar="INPUT")
@click.argument("ir_path", metavar="IR")
@io_options
@raw_input_options
@click.option("--mode", type=click.Choice(CONVOLVE_MODES), default="full", show_default=True,
              help="Output length. full: n + m - 1 frames, the whole reverb tail; keep: the input's n frames from "
              "time zero (for a mix); same: n frames centred as in scipy.signal.convolve (cuts the start of a "
              "reverb's result: it warns); valid: where the two overlap completely.")
@click.option("--align", type=click.Choice(ALIGNMENTS), default="wet", show_default=True,
              help="Which path keeps time zero. wet: the dry input is delayed by the IR's onset (first sample "
              "within 20 dB of its peak) to meet the direct sound; dry: the input stays at time zero and the wet "
              "path is pulled earlier by the onset (with --mode keep, --dry 1 --wet 0 gives back the input); "
              "none: nothing moves.")
@click.option("--wet", type=LevelType("linear", into="linear"), default=1.0, show_default=True,
              help="Gain of the convolved signal: linear (0.5) or in dB (-6dB).")
@click.option("--dry", type=LevelType("linear", into="linear"), default=0.0, show_default=True,
              help="Gain of the unprocessed input, linear (0.7) or in dB (-3dB); aligned as --align says.")
@click.option("--gain", "gain_db", type=LevelType("dB", into="dB"), default=0.0, show_default=True,
              help="Level change in dB (-6 or -6dB: a bare number is dB), applied after --normalize and "
              "before --ceiling.")
@click.option("--normalize", type=click.Choice(NORMALIZE_CHOICES), default="none", show_default=True,
              help="none: exact LTI output; peak: scale the result to 0 dBFS; ir-energy: scale the IR to unit "
              "energy; rms-match: make the output as loud (RMS) as the input; lufs: bring the output to the "
              "--loudness target (-23 LUFS by default).")
@click.option("--loudness", type=LevelType("LUFS", units=("LUFS",)), default=None, metavar="LUFS",
              help="Integrated loudness target (ITU-R BS.1770-4 / EBU R128), e.g. -23LUFS or -16; implies "
              "--normalize lufs.")
@click.option("--ceiling", default=None, metavar="LEVEL", callback=_ceiling,
              help="Peak limit applied as a gain after everything else, never raising the level: -1dBTP (true "
              "peak, 4x oversampled per ITU-R BS.1770-4; a bare number is dBTP) or -0.1dBFS (sample peak). "
              "Combines with every --normalize.")
@click.option("--predelay", "predelay_ms", type=TimeType("ms", min=0), default="0", show_default=True,
              help="Delay the wet signal: 20ms, 0.02s, 960smp; a bare number is milliseconds.")
@click.option("--trim-ir", "trim_ir", is_flag=True,
              help="Drop the IR's leading samples below --trim-db so that no latency is added.")
@click.option("--trim-db", type=LevelType("dB", into="dB", units=("dB",), max=0), default=ONSET_THRESHOLD_DB,
              show_default=True,
              help="Level relative to the IR's peak below which --trim-ir drops leading samples; the default is "
              "the onset that --dry is aligned to and `impulse info` reports.")
@click.option("--resample", "resample_ir", is_flag=True,
              help="Resample the IR to the input's sample rate when they differ (its gain is kept).")
@click.option("--precision", type=click.Choice(["64", "32"]), default="64", show_default=True,
              help="Bits of the float computation.")
@click.option("--block", type=click.IntRange(min=1), default=None, metavar="FRAMES",
              help=f"Experts: engine partition length in frames, {MIN_BLOCK} to {MAX_BLOCK} and at least the IR's "
              f"length / {MAX_PARTITIONS} (default: chosen by the cost model).")
@compute_options
@common_options
def convolve_command(input_path, ir_path, io, mode, align, backend, wet, dry, gain_db, normalize, loudness, ceiling,
                     predelay_ms, trim_ir, trim_db, resample_ir, precision, block, context, quiet):
    """Convolve INPUT with the impulse response IR: the output of the LTI system.

    INPUT and IR are audio files (WAV, FLAC, OGG, AIFF, ...) or CSV; INPUT
    may be - for standard input. The result keeps the input's sample rate
    and, where the output format allows, its sample type. Long inputs are
    streamed: memory stays bounded whatever their length.

    \b
    Times take a unit (20ms, 0.5s, 480smp) and levels one too (-6dB,
    -1dBTP, -23LUFS); a bare number is in the unit each option states.

    \b
    Examples:
      sigconv convolve dry.wav hall.wav -o wet.wav
      sigconv convolve guitar.flac cab.wav --dry 0.7 --wet 0.3 -o mix.flac
      sigconv convolve drums.wav hall.wav --mode keep --align dry --dry 1 --wet -12dB -o mix.wav
      sigconv convolve vocal.wav plate.wav --trim-ir --predelay 20ms --normalize rms-match -o out.wav
      sigconv convolve podcast.wav room.wav --loudness -16LUFS --ceiling -1dBTP -o out.flac
      sigconv convolve sensor.csv --rate 100 lowpass.csv -o smooth.csv
      cat dry.wav | sigconv convolve - hall.wav -o - | sox -t wav - -d
    """
    from ..convolution.levels import output_advice

    if loudness is not None:
        if normalize not in ("none", "lufs"):
            raise UsageError(f"--loudness sets --normalize lufs, and --normalize {normalize} was given too; "
                             "keep one of them (--ceiling combines with either)")
        normalize = "lufs"
    output = resolve_output(io.output)
    with progress_bar("convolving", quiet) as update:
        settings = ConvolveSettings(mode=mode, backend=backend, wet=wet, dry=dry, gain_db=gain_db,
                                    normalize=normalize, precision=int(precision), resample_ir=resample_ir,
                                    trim_db=trim_db if trim_ir else None, predelay_ms=predelay_ms, block=block,
                                    align=align, ceiling=ceiling,
                                    **({} if loudness is None else {"target_lufs": loudness.value}))
        report = ConvolveJob(input_path, ir_path, output, settings, io.files).run(context, progress=update)
    report_notes(report.notes, quiet)
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    advice = output_advice(report.write)
    if advice:
        click.echo(f"Warning: {advice}", err=True)

