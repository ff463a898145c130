"""``sigconv deconvolve``."""

from __future__ import annotations

import dataclasses
import functools
import json

import click

from ..deconvolution.files import DeconvolveJob
from ..deconvolution.lucy import DEFAULT_ITERATIONS
from ..deconvolution.polydiv import DEFAULT_TOLERANCE
from ..deconvolution.settings import DEFAULT_REG, METHODS, DeconvolveSettings
from ..deconvolution.wiener import DEFAULT_SNR_DB
from ..limits import MAX_ITERATIONS
from ..progress import progress_bar
from .common import raw_input_options, report_clipping, report_notes
from .options import FINITE, LevelType, _stack, common_options, compute_options, io_options, resolve_output


def method_options(fn):
    """``--method`` and the options of each method, gathered into ``how`` (settings) and ``noise_path``."""

    @_stack(
        click.option("-m", "--method", type=click.Choice(METHODS), default="wiener", show_default=True,
                     help="wiener: noise-aware inverse; tikhonov: regularised inverse (Kirkeby with --band); "
                     "exact: polynomial division of an exact FIR product; lucy: Richardson-Lucy for "
                     "non-negative data."),
        click.option("--snr", "snr_db", type=LevelType("dB", into="dB", units=("dB",)), default=None, metavar="DB",
                     help=f"wiener: the recording's signal-to-noise ratio [default: {DEFAULT_SNR_DB:g}, the low "
                     "end of ordinary recordings: too low blurs a little, too high boosts noise]."),
        click.option("--noise", metavar="FILE",
                     help="wiener: a noise-only recording; the noise and signal spectra are estimated from it "
                     "and from SIGNAL (instead of --snr)."),
        click.option("--reg", type=FINITE, default=None, metavar="LAMBDA",
                     help=f"tikhonov: λ relative to the kernel's mean power gain [default: {DEFAULT_REG:g}]."),
        click.option("--band", type=(FINITE, FINITE), default=None, metavar="F1 F2",
                     help="tikhonov: invert only F1..F2 Hz; outside, λ rises to the kernel's mean power over "
                     "1/3 octave (Kirkeby)."),
        click.option("--iterations", type=click.IntRange(1, MAX_ITERATIONS), default=None, metavar="N",
                     help=f"lucy: iterations, 1 to {MAX_ITERATIONS} [default: {DEFAULT_ITERATIONS}]; more sharpen and "
                     "amplify noise."),
        click.option("--tolerance", type=FINITE, default=None, metavar="X",
                     help=f"exact: largest remainder, RMS relative to SIGNAL's [default: {DEFAULT_TOLERANCE:g}]; "
                     "above it exit 9."),
    )
    @functools.wraps(fn)
    def wrapper(*args, method, snr_db, noise, reg, band, iterations, tolerance, **kwargs):
        # None where not given: the library fills in each method's defaults
        kwargs["how"] = DeconvolveSettings(method=method, snr_db=snr_db, reg=reg, band=band, iterations=iterations,
                                           tolerance=tolerance)
        kwargs["noise_path"] = noise
        return fn(*args, **kwargs)

    return wrapper


@click.command(name="deconvolve")
@click.argument("signal_path", metavar="SIGNAL")
@click.argument("kernel_path", metavar="KERNEL")
@io_options
@raw_input_options
@method_options
@click.option("--length", metavar="N|DURATION",
              help="Output length: frames (48000) or a duration (2.5s, 500ms) [default: SIGNAL - KERNEL + 1 "
              "frames, the length of x when SIGNAL is the full product].")
@click.option("--from-mono", is_flag=True,
              help="SIGNAL is a mono source through KERNEL's channels (convolve mono by a stereo IR): recover the "
              "mono source by least squares over all channels.")
@click.option("--resample", "resample_inputs", is_flag=True,
              help="Resample KERNEL (and --noise) to SIGNAL's rate when they differ.")
@click.option("--precision", type=click.Choice(["64", "32"]), default="64", show_default=True,
              help="Bits of the float computation.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON report (on stderr when -o -): the inverse filter, the SNR assumed (per octave "
              "band with --noise), warnings.")
@click.option("-v", "--verbose", is_flag=True, help="Print the SNR the filter assumed (per octave band with --noise).")
@compute_options
@common_options
def deconvolve_command(signal_path, kernel_path, io, how, noise_path, length, from_mono, resample_inputs, precision,
                       as_json, verbose, backend, context, quiet):
    """Estimate x such that SIGNAL ≈ x ⊗ KERNEL: undo a known response.

    SIGNAL may be - for standard input and -o - writes standard output, so
    deconvolve sits in a pipeline after convolve. wiener and tikhonov
    stream (memory bounded whatever SIGNAL's length); exact and lucy read
    SIGNAL whole, up to 2^20 samples (10.9 s of stereo at 48 kHz). KERNEL has one channel (used for every channel), one per
    channel of SIGNAL, or for a stereo SIGNAL four (true stereo LL, LR, RL,
    RR: the 2x2 matrix is inverted); --from-mono recovers a mono source
    from a SIGNAL that convolve made with a multichannel KERNEL. A kernel more than 60 dB below its peak somewhere
    gets a warning naming those frequencies: they cannot be recovered.
    Exit 9: --method exact found that SIGNAL is not an exact FIR product.

    \b
    Examples:
      sigconv deconvolve wet.wav room-ir.wav -o dry-again.wav
      sigconv deconvolve take.wav mic-response.wav --noise room-tone.wav -o take-flat.wav -v
      sigconv deconvolve sweep-rec.wav speaker.wav -m tikhonov --reg 1e-3 --band 40 18000 -o eq.wav
      sigconv deconvolve product.csv --rate 100 factor.csv -m exact -o quotient.csv
      sigconv deconvolve spectrum.csv --rate 1 line-shape.csv -m lucy --iterations 200 -o sharp.csv
      sigconv convolve dry.wav ir.wav -o - | sigconv deconvolve - ir.wav -o dry-again.wav
      sigconv convolve mono.wav stereo-ir.wav -o - | sigconv deconvolve - stereo-ir.wav --from-mono -o mono.wav
    """
    output = resolve_output(io.output)
    settings = dataclasses.replace(how, length=length, resample_inputs=resample_inputs, precision=int(precision),
                                   backend=backend, from_mono=from_mono)
    with progress_bar("deconvolving", quiet) as update:
        job = DeconvolveJob(signal_path, kernel_path, output, settings, io.files, noise_path)
        report = job.run(context, progress=update)
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    report_notes(report.notes, quiet)
    report_clipping(report.write)
    if verbose:
        for line in report.band_lines():
            click.echo(line, err=True)
    if as_json:
        click.echo(json.dumps({"signal": signal_path, "kernel": kernel_path, "noise": noise_path, "output": output,
                               **report.as_dict()}, indent=2), err=output == "-")
