"""Measure the FFT engine's cost per hop on this machine and write sigconv/hop_costs.py.

Run:  python benchmarks/fit_planner.py            (~2 min; rewrites sigconv/hop_costs.py)
      python benchmarks/fit_planner.py --print    (prints the table instead)

For each FFT library (pyFFTW with FFTW_ESTIMATE plans when installed, and
scipy.fft) and each precision, every transform length from
``sigconv.backends.calibration.fast_sizes(2**12, 2**21)`` is timed inside the
engine (``sigconv.backends.calibration.measure_hop_seconds``: 2-channel float32
blocks in and out, IR of half the transform length, fastest of three
batches). The planner (sigconv/planner.py) predicts run
times from these tables. Idle the machine while this runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LO, HI = 1 << 12, 1 << 21

WORKER = """
import json, sys
import numpy as np
from sigconv.backends.calibration import fast_sizes, measure_hop_table
from sigconv.backends.fft import FFTBackend
lib = FFTBackend().fft_library()
if lib != sys.argv[1]:
    print(json.dumps(None)); sys.exit()
out = {}
for dtype in ("float64", "float32"):
    table = measure_hop_table(fast_sizes(int(sys.argv[2]), int(sys.argv[3])), np.dtype(dtype))
    out[dtype] = {str(k): float(f"{v:.4g}") for k, v in table.items()}
print(json.dumps(out))
"""


def measure(library: str) -> dict | None:
    env = dict(os.environ, SIGCONV_FFT=library, SIGCONV_CACHE_DIR=tempfile.mkdtemp())  # no wisdom
    proc = subprocess.run([sys.executable, "-c", WORKER, library, str(LO), str(HI)], env=env,
                          capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(proc.stdout)


def render(tables: dict) -> str:
    lines = [
        '"""Seconds per overlap-save hop by transform length, measured on the development machine.',
        "",
        f"Written by ``python benchmarks/fit_planner.py`` on {datetime.date.today().isoformat()}"
        f" ({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}):",
        "a 2-channel job through an IR of half the transform length, timed inside sigconv's engine",
        "(sigconv.backends.calibration.measure_hop_seconds; pyFFTW with FFTW_ESTIMATE plans on all cores,",
        "or scipy.fft), fastest of three batches. Do not edit by hand.",
        '"""',
        "",
        "HOP_SECONDS = {",
    ]
    for (library, dtype), table in tables.items():
        lines.append(f"    ({library!r}, {dtype!r}): {{")
        items = [f"{int(k)}: {v!r}" for k, v in sorted(table.items(), key=lambda kv: int(kv[0]))]
        for start in range(0, len(items), 6):
            lines.append("        " + ", ".join(items[start : start + 6]) + ",")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--print", action="store_true", help="print the table instead of writing sigconv/hop_costs.py")
    args = parser.parse_args()
    tables = {}
    for library in ("pyfftw", "scipy"):
        result = measure(library)
        if result is None:
            print(f"# {library} is not installed: its rows are kept as they were", file=sys.stderr)
            continue
        for dtype, table in result.items():
            tables[(library, dtype)] = table
    if not args.print:
        from importlib import util

        spec = util.spec_from_file_location("hop_costs", REPO / "sigconv" / "hop_costs.py")
        if spec and (REPO / "sigconv" / "hop_costs.py").exists():
            old = util.module_from_spec(spec)
            spec.loader.exec_module(old)
            tables = {**old.HOP_SECONDS, **tables}
    text = render(tables)
    if args.print:
        print(text)
    else:
        (REPO / "sigconv" / "hop_costs.py").write_text(text)
        print(f"wrote {REPO / 'sigconv' / 'hop_costs.py'}")


if __name__ == "__main__":
    main()
