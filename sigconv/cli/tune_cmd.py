"""``sigconv tune``."""

from __future__ import annotations

import time

import click

from ..progress import task_progress


@click.command(name="tune")
@click.option("--max-size", type=click.IntRange(min=64, max=1 << 24), default=1 << 20, show_default=True,
              metavar="N", help="Largest transform length to plan (powers of two from 64 up to N).")
@click.option("--precision", type=click.Choice(["64", "32", "both"]), default="both", show_default=True,
              help="Float precision(s) to plan for.")
@click.option("-q", "--quiet", is_flag=True, help="Show no progress display.")
@click.option("--backend", type=click.Choice(["fft", "gpu"]), default="fft", show_default=True,
              help="fft: FFTW plans and the CPU's costs. gpu: time the GPU (hops and host-device copies) so "
                   "that auto can weigh it against the CPU; auto never picks the GPU before this.")
def tune_command(max_size, precision, quiet, backend):
    """Measure the fastest FFTW plans for this machine, once, and keep them.

    Plans made with FFTW_MEASURE run the fft backend up to 1.8x faster
    than the quick plans sigconv makes otherwise, but take minutes to
    measure, so sigconv never measures during a job: this command does it
    and stores FFTW's "wisdom" in the cache folder ($SIGCONV_CACHE_DIR, else
    ~/.cache/sigconv), where every later run finds it. Needs pyFFTW (a
    dependency of sigconv; not with SIGCONV_FFT=scipy). Takes a few
    minutes; run it again after changing machine or library versions.

    \b
    Examples:
      sigconv tune
      sigconv tune --precision 64 --max-size 524288
      sigconv tune --backend gpu
    """
    from ..backends.tuning import tune

    dtypes = {"64": ["float64"], "32": ["float32"], "both": ["float64", "float32"]}[precision]
    started = time.perf_counter()
    if backend == "gpu":
        from ..backends.gpu_tuning import tune_gpu

        with task_progress("measuring the GPU", quiet) as update:
            path = tune_gpu(max_size=max_size, dtypes=dtypes, progress=update)
        if not quiet:
            click.echo(f"GPU costs saved in {path} ({time.perf_counter() - started:.0f} s)", err=True)
        return
    with task_progress("measuring FFT plans", quiet) as update:
        folder = tune(max_size=max_size, dtypes=dtypes, progress=update)
    if not quiet:
        click.echo(f"FFTW wisdom for sizes up to {max_size} saved in {folder} ({time.perf_counter() - started:.0f} s)",
                   err=True)
