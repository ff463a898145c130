"""Side-by-side throughput of the real-FFT libraries sigconv can use.

Run:  python benchmarks/bench_fft.py

For each library that is installed (scipy.fft always; pyFFTW, ducc0, numpy.fft),
times a forward plus inverse real transform of a (2, N) batch — two channels,
as the engine does per block — at the sizes the engine uses, in float32 and
float64, with 1 and 2 threads. Plans are built once (FFTW_ESTIMATE for pyFFTW,
never FFTW_MEASURE: measuring took 14-25 s per size here) and reused, as the
engine reuses them across blocks. Prints the median time per pair and the
throughput in GFLOP/s (2.5 N log2 N per real transform of length N).
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np


def median_time(fn, repeat=15, budget=1.5):
    fn()
    times = []
    start = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget:
            break
    return statistics.median(times)


def candidates(size, dtype, threads):
    x = np.random.default_rng(0).standard_normal((2, size)).astype(dtype)
    out = {}
    from scipy import fft as sfft

    out["scipy.fft"] = lambda: sfft.irfft(sfft.rfft(x, axis=1, workers=threads), size, axis=1, workers=threads)
    if threads == 1:
        out["numpy.fft"] = lambda: np.fft.irfft(np.fft.rfft(x, axis=1), size, axis=1)
    try:
        import pyfftw

        a = pyfftw.empty_aligned((2, size), dtype=dtype)
        spec = pyfftw.empty_aligned((2, size // 2 + 1), dtype=np.complex64 if dtype == np.float32 else np.complex128)
        b = pyfftw.empty_aligned((2, size), dtype=dtype)
        fwd = pyfftw.FFTW(a, spec, axes=(1,), flags=("FFTW_ESTIMATE",), threads=threads)
        inv = pyfftw.FFTW(spec, b, axes=(1,), direction="FFTW_BACKWARD", flags=("FFTW_ESTIMATE", "FFTW_DESTROY_INPUT"),
                          threads=threads)
        a[:] = x

        def run_fftw():
            fwd()
            inv()

        out["pyfftw"] = run_fftw
    except ImportError:
        pass
    try:
        import ducc0

        spec = np.empty((2, size // 2 + 1), dtype=np.complex64 if dtype == np.float32 else np.complex128)
        back = np.empty((2, size), dtype=dtype)

        def run_ducc():
            ducc0.fft.r2c(x, axes=(1,), out=spec, nthreads=threads)
            ducc0.fft.c2r(spec, axes=(1,), lastsize=size, out=back, nthreads=threads, inorm=2)

        out["ducc0"] = run_ducc
    except ImportError:
        pass
    return out


def main():
    print(f"{'size':>8} {'dtype':>8} {'thr':>3} " + "  ".join(f"{n:>18}" for n in ["scipy.fft", "numpy.fft", "pyfftw", "ducc0"]))
    for exp in (12, 14, 16, 18, 19, 20):
        size = 1 << exp
        flops = 2 * 2 * 2.5 * size * math.log2(size)  # 2 channels, forward + inverse
        for dtype in (np.float32, np.float64):
            for threads in (1, 2):
                cells = []
                libs = candidates(size, dtype, threads)
                for name in ["scipy.fft", "numpy.fft", "pyfftw", "ducc0"]:
                    if name in libs:
                        t = median_time(libs[name])
                        cells.append(f"{t * 1e3:8.3f}ms {flops / t / 1e9:5.1f}GF")
                    else:
                        cells.append(f"{'-':>18}")
                print(f"{size:>8} {np.dtype(dtype).name:>8} {threads:>3} " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
