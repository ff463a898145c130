"""The ``sigconv`` command line: a thin layer over the library."""

from __future__ import annotations

from .process import one_blas_thread, reuse_freed_blocks, shorten_switch_interval

one_blas_thread()  # before anything imports numpy

import click  # noqa: E402

from .. import __version__  # noqa: E402
from .errors import SigconvGroup  # noqa: E402
from .options import _remember_debug  # noqa: E402

__all__ = ["main"]


@click.group(cls=SigconvGroup, context_settings={"help_option_names": ["-h", "--help"]}, lazy={
    "convolve": (".convolve_cmd:convolve_command", "Convolve INPUT with the impulse response IR."),
    "correlate": (".correlate_cmd:correlate_command", "Estimate how far B lags A (time-delay estimation)."),
    "deconvolve": (".deconvolve_cmd:deconvolve_command", "Estimate x such that SIGNAL ≈ x ⊗ KERNEL."),
    "impulse": (".impulse_cmd:impulse_group", "Measure, synthesize and analyse impulse responses."),
    "backends": (".backends_cmd:backends_command", "List the compute backends and whether each is available."),
    "tune": (".tune_cmd:tune_command", "Measure the fastest FFTW plans for this machine, once."),
})
@click.version_option(__version__, "-V", "--version", prog_name="sigconv")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_remember_debug,
              help="Show the full traceback of an error.")
def main():
    """sigconv: convolve, deconvolve, correlate and analyse signals (LTI systems).

    Inputs are audio files (WAV, FLAC, OGG, AIFF, ...) or CSV; - means
    standard input or output. Errors print one line and exit non-zero
    (2 usage, 3 bad input, 4 incompatible signals, 5 backend, 6 output,
    7 no reliable delay found, 8 no correlation peak: a silent or constant
    signal, 9 not an exact FIR product: deconvolve --method exact,
    10 an optional package is missing, e.g. matplotlib for --plot).

    \b
    Examples:
      sigconv convolve samples/dry.wav samples/room-ir.wav -o wet.wav
      sigconv deconvolve wet.wav samples/room-ir.wav --snr 90 -o dry-again.wav
      sigconv correlate samples/dry.wav wet.wav --max-lag 0.5
      sigconv impulse info samples/room-ir.wav
      sigconv backends
    """
    reuse_freed_blocks()
    shorten_switch_interval()

