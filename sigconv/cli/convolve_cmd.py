"""``sigconv convolve``."""

from __future__ import annotations

import click

from ..backends import AUTO, MODES
from ..convolution import convolve_signal
from ..mixing import NORMALIZE_CHOICES
from ..progress import stages
from ..validation import dtype_for_precision
from .common import read_input, write_result
from .options import common_options, io_options, resolve_output


@click.command(name="convolve")
@click.argument("input_path", metavar="INPUT")
@click.argument("ir_path", metavar="IR")
@io_options
@click.option("--mode", type=click.Choice(MODES), default="full", show_default=True,
              help="Output length as in scipy.signal.convolve; full keeps the reverb tail.")
@click.option("-b", "--backend", default=AUTO, show_default=True, metavar="NAME",
              help="Compute backend (see `sigconv backends`); auto picks the fastest.")
@click.option("--wet", type=float, default=1.0, show_default=True, help="Linear gain of the convolved signal.")
@click.option("--dry", type=float, default=0.0, show_default=True,
              help="Linear gain of the unprocessed input, aligned with the IR's onset.")
@click.option("--gain", "gain_db", type=float, default=0.0, show_default=True, metavar="DB",
              help="Level change applied last, in dB.")
@click.option("--normalize", type=click.Choice(NORMALIZE_CHOICES), default="none", show_default=True,
              help="none: exact LTI output; peak: scale the result to 0 dBFS; ir-energy: scale the IR to unit energy.")
@click.option("--resample", "resample_ir", is_flag=True,
              help="Resample the IR to the input's sample rate when they differ.")
@click.option("--precision", type=click.Choice(["64", "32"]), default="64", show_default=True,
              help="Bits of the float computation.")
@common_options
def convolve_command(input_path, ir_path, io, mode, backend, wet, dry, gain_db, normalize, resample_ir,
                     precision, quiet):
    """Convolve INPUT with the impulse response IR: the output of the LTI system.

    INPUT and IR are audio files (WAV, FLAC, OGG, AIFF, ...) or CSV; INPUT
    may be - for standard input. The result keeps the input's sample rate
    and, where the output format allows, its sample type.

    \b
    Examples:
      sigconv convolve dry.wav hall.wav -o wet.wav
      sigconv convolve guitar.flac cab.wav --dry 0.7 --wet 0.3 -o mix.flac
      sigconv convolve sensor.csv --rate 100 lowpass.csv -o smooth.csv
      cat dry.wav | sigconv convolve - hall.wav -o - | sox -t wav - -d
    """
    output = resolve_output(io.output)
    dtype = dtype_for_precision(precision)
    with stages("reading inputs", quiet) as stage:
        signal = read_input(input_path, io, dtype)
        ir = read_input(ir_path, io, dtype)
        stage.step(f"convolving {signal.frames} frames with a {ir.frames}-tap IR")
        result = convolve_signal(
            signal, ir, mode, resample_ir=resample_ir, backend=backend, wet=wet, dry=dry,
            gain_db=gain_db, normalize=normalize, precision=int(precision),
        )
        stage.step(f"writing {output}")
        write_result(output, result, io, [input_path, ir_path])
