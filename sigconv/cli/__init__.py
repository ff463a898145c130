"""The ``sigconv`` command line: a thin layer over the library."""

from __future__ import annotations

from .process import (Terminated, collect_garbage_rarely, one_blas_thread, reuse_freed_blocks,
                      shorten_switch_interval, signals_unwind)

one_blas_thread()  # before anything imports numpy

import os  # noqa: E402
import sys  # noqa: E402

import click  # noqa: E402

from .. import __version__  # noqa: E402
from .errors import SigconvGroup  # noqa: E402
from .options import _remember_debug  # noqa: E402

__all__ = ["main", "program", "run"]


@click.group(cls=SigconvGroup, context_settings={"help_option_names": ["-h", "--help"]}, lazy={
    "convolve": (".convolve_cmd:convolve_command", "Convolve INPUT with the impulse response IR."),
    "batch": (".batch_cmd:batch_command", "Convolve many inputs with many impulse responses, locally or on Dask."),
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


#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130
#: Exit status when standard output cannot be written (an output error).
OUTPUT_FAILED = 6


def run(args: list[str] | None = None) -> None:
    """The ``sigconv`` program: set up this process, run :data:`main` on ``args``, exit with its status.

    Everything that belongs to the process rather than to a command lives
    here, not in :data:`main`, which tests and other programs call in their
    own process: signals unwind the run so that it removes what it made
    (exit 130 for Ctrl-C, 128 + the number for SIGTERM and SIGHUP),
    standard output that cannot be written (``/dev/full``, closed) is an
    ``Error:`` line and exit 6 for every command including ``--help``, and
    the allocator and GIL settings of :mod:`sigconv.cli.process` apply.
    """
    collect_garbage_rarely()
    reuse_freed_blocks()
    shorten_switch_interval()
    with signals_unwind():
        status = _status_of(args)
    sys.exit(status)


def program() -> None:
    """The ``sigconv`` executable and ``python -m sigconv``: :func:`run`, then leave at once.

    Once a command has returned, its outputs are committed, its threads
    joined and its temporary files gone; what is left of the interpreter's
    shutdown (a last garbage collection over every imported module, the
    modules' teardown) took 40-90 ms of CPU after every command here, as
    long as a small job's work. Standard output and error are flushed,
    registered ``atexit`` functions run, and the process ends with
    :func:`os._exit`. Programs that call :func:`run` in their own process
    keep the ordinary :class:`SystemExit`.
    """
    try:
        run()
    except SystemExit as exit_request:
        status = _exit_status(exit_request.code)
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            status = status or OUTPUT_FAILED
    os._exit(status)


def _exit_status(code) -> int:
    """The process status :class:`SystemExit` would give for ``code`` (a message is printed, status 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _status_of(args: list[str] | None) -> int:
    debug = "--debug" in (sys.argv[1:] if args is None else args)
    try:
        outcome = main.main(args=args, prog_name="sigconv", standalone_mode=False)
        _flush_standard_output()
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        return INTERRUPTED
    except Terminated as stop:
        return 128 + stop.signal_number
    except BrokenPipeError:
        _silence_standard_output()
        return 141
    except OSError as exc:
        if debug:
            raise
        _silence_standard_output()
        click.echo(f"Error: writing standard output failed: {exc.strerror or exc}", err=True)
        return OUTPUT_FAILED
    return outcome if isinstance(outcome, int) else 0


def _flush_standard_output() -> None:
    if sys.stdout is not None:
        sys.stdout.flush()


def _silence_standard_output() -> None:
    """Point standard output at the null device, so that the flush at exit cannot fail again."""
    if sys.stdout is None:
        return
    with open(os.devnull, "wb") as null:
        try:
            os.dup2(null.fileno(), sys.stdout.fileno())
        except (OSError, ValueError):
            sys.stdout = None

