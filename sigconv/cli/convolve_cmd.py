"""``sigconv convolve``."""

from __future__ import annotations

import click

from ..compute.modes import MODES
from ..convolution.mixing import NORMALIZE_CHOICES
from ..convolution.files import ConvolveJob, ConvolveSettings
from ..limits import MAX_BLOCK, MAX_PARTITIONS, MIN_BLOCK
from ..progress import progress_bar
from .common import report_clipping, report_notes
from .options import FINITE, FiniteFloat, common_options, compute_options, io_options, resolve_output


@click.command(name="convolve")
@click.argument("input_path", metavar="INPUT")
@click.argument("ir_path", metavar="IR")
@io_options
@click.option("--mode", type=click.Choice(MODES), default="full", show_default=True,
              help="Output length as in scipy.signal.convolve; full keeps the reverb tail.")
@click.option("--wet", type=FINITE, default=1.0, show_default=True, help="Linear gain of the convolved signal.")
@click.option("--dry", type=FINITE, default=0.0, show_default=True,
              help="Linear gain of the unprocessed input, aligned with the IR's onset.")
@click.option("--gain", "gain_db", type=FINITE, default=0.0, show_default=True, metavar="DB",
              help="Level change applied last, in dB.")
@click.option("--normalize", type=click.Choice(NORMALIZE_CHOICES), default="none", show_default=True,
              help="none: exact LTI output; peak: scale the result to 0 dBFS; ir-energy: scale the IR to unit "
              "energy; rms-match: make the output as loud (RMS) as the input.")
@click.option("--predelay", "predelay_ms", type=FiniteFloat(min=0), default=0.0, show_default=True,
              metavar="MS", help="Delay the wet signal by this many milliseconds.")
@click.option("--trim-ir", "trim_ir", is_flag=True,
              help="Drop the IR's leading silence (below --trim-db) so that no latency is added.")
@click.option("--trim-db", type=FiniteFloat(max=0), default=-60.0, show_default=True, metavar="DB",
              help="Level relative to the IR's peak below which --trim-ir drops leading samples.")
@click.option("--resample", "resample_ir", is_flag=True,
              help="Resample the IR to the input's sample rate when they differ (its gain is kept).")
@click.option("--precision", type=click.Choice(["64", "32"]), default="64", show_default=True,
              help="Bits of the float computation.")
@click.option("--block", type=click.IntRange(min=1), default=None, metavar="FRAMES",
              help=f"Experts: engine partition length in frames, {MIN_BLOCK} to {MAX_BLOCK} and at least the IR's "
              f"length / {MAX_PARTITIONS} (default: chosen by the cost model).")
@compute_options
@common_options
def convolve_command(input_path, ir_path, io, mode, backend, wet, dry, gain_db, normalize, predelay_ms, trim_ir,
                     trim_db, resample_ir, precision, block, context, quiet):
    """Convolve INPUT with the impulse response IR: the output of the LTI system.

    INPUT and IR are audio files (WAV, FLAC, OGG, AIFF, ...) or CSV; INPUT
    may be - for standard input. The result keeps the input's sample rate
    and, where the output format allows, its sample type. Long inputs are
    streamed: memory stays bounded whatever their length.

    \b
    Examples:
      sigconv convolve dry.wav hall.wav -o wet.wav
      sigconv convolve guitar.flac cab.wav --dry 0.7 --wet 0.3 -o mix.flac
      sigconv convolve vocal.wav plate.wav --trim-ir --predelay 20 --normalize rms-match -o out.wav
      sigconv convolve sensor.csv --rate 100 lowpass.csv -o smooth.csv
      cat dry.wav | sigconv convolve - hall.wav -o - | sox -t wav - -d
    """
    output = resolve_output(io.output)
    with progress_bar("convolving", quiet) as update:
        settings = ConvolveSettings(mode=mode, backend=backend, wet=wet, dry=dry, gain_db=gain_db,
                                    normalize=normalize, precision=int(precision), resample_ir=resample_ir,
                                    trim_db=trim_db if trim_ir else None, predelay_ms=predelay_ms, block=block)
        report = ConvolveJob(input_path, ir_path, output, settings, io.files).run(context, progress=update)
    report_notes(report.notes, quiet)
    report_clipping(report.write)

