"""The ``sigconv`` command line: a thin layer over the library."""

from __future__ import annotations

import click

from .. import __version__
from .allocator import reuse_freed_blocks
from .backends_cmd import backends_command
from .convolve_cmd import convolve_command
from .correlate_cmd import correlate_command
from .deconvolve_cmd import deconvolve_command
from .errors import SigconvGroup
from .impulse_cmd import impulse_group
from .tune_cmd import tune_command
from .options import _remember_debug

__all__ = ["main"]


@click.group(cls=SigconvGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="sigconv")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_remember_debug,
              help="Show the full traceback of an error.")
def main():
    """sigconv: convolve, deconvolve, correlate and analyse signals (LTI systems).

    Inputs are audio files (WAV, FLAC, OGG, AIFF, ...) or CSV; - means
    standard input or output. Errors print one line and exit non-zero
    (2 usage, 3 bad input, 4 incompatible signals, 5 backend, 6 output,
    7 no reliable delay found, 8 no correlation peak: a silent or constant
    signal, 9 not an exact FIR product: deconvolve --method exact).

    \b
    Examples:
      sigconv convolve samples/dry.wav samples/room-ir.wav -o wet.wav
      sigconv deconvolve wet.wav samples/room-ir.wav --snr 90 -o dry-again.wav
      sigconv correlate samples/dry.wav wet.wav --max-lag 0.5
      sigconv impulse info samples/room-ir.wav
      sigconv backends
    """
    reuse_freed_blocks()


main.add_command(convolve_command)
main.add_command(correlate_command)
main.add_command(deconvolve_command)
main.add_command(impulse_group)
main.add_command(backends_command)
main.add_command(tune_command)
