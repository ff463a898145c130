"""Measure the FFT engine's cost per hop on this machine and write sigconv/backends/hop_costs.py.

Run:  python benchmarks/fit_planner.py                     (~4 min; rewrites sigconv/backends/hop_costs.py)
      python benchmarks/fit_planner.py --library pyfftw    (one library's rows; the others are kept)
      python benchmarks/fit_planner.py --print             (prints the table instead)

For each FFT library (pyFFTW with FFTW_ESTIMATE plans when installed, and
scipy.fft) and each precision, every transform length from
``sigconv.backends.calibration.fast_sizes(2**12, 2**21)`` is timed inside the
engine (``sigconv.backends.calibration.measure_hop_seconds``: 2-channel float32
blocks in and out, IR of half the transform length, fastest of three
batches), in ``--passes`` interleaved passes over all lengths (the fastest
pass counts). The planner (sigconv/backends/planner.py) predicts run
times from these tables. Idle the machine while this runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LO, HI = 1 << 12, 1 << 21
LIBRARIES = ("pyfftw", "scipy")
TABLE = REPO / "sigconv" / "backends" / "hop_costs.py"

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
    table = measure_hop_table(fast_sizes(int(sys.argv[2]), int(sys.argv[3])), np.dtype(dtype),
                              passes=int(sys.argv[4]))
    out[dtype] = {str(k): float(f"{v:.4g}") for k, v in table.items()}
print(json.dumps(out))
"""


def measure(library: str, passes: int) -> dict | None:
    env = dict(os.environ, SIGCONV_FFT=library, SIGCONV_CACHE_DIR=tempfile.mkdtemp())  # no wisdom
    proc = subprocess.run([sys.executable, "-c", WORKER, library, str(LO), str(HI), str(passes)], env=env,
                          capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(proc.stdout)


def render(tables: dict, notes: dict) -> str:
    lines = [
        '"""Seconds per overlap-save hop by transform length, measured on the development machine.',
        "",
        "Written by ``python benchmarks/fit_planner.py`` (x86_64, 2 cores): a 2-channel job through an",
        "IR of half the transform length, timed inside sigconv's engine",
        "(sigconv.backends.calibration.measure_hop_seconds; pyFFTW with FFTW_ESTIMATE plans on all cores,",
        "or scipy.fft), fastest of three batches and of interleaved passes over all lengths. ROW_NOTES",
        "says when each row was measured. Do not edit by hand.",
        '"""',
        "",
        "ROW_NOTES = {",
    ]
    lines += [f"    {key!r}: {note!r}," for key, note in notes.items()]
    lines += ["}", "", "HOP_SECONDS = {"]
    for (library, dtype), table in tables.items():
        lines.append(f"    ({library!r}, {dtype!r}): {{")
        items = [f"{int(k)}: {v!r}" for k, v in sorted(table.items(), key=lambda kv: int(kv[0]))]
        for start in range(0, len(items), 6):
            lines.append("        " + ", ".join(items[start : start + 6]) + ",")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def level_of(new: dict, old: dict) -> float:
    """Median ratio of ``old`` to ``new`` seconds over the lengths both rows hold."""
    return statistics.median(old[int(k)] / v for k, v in new.items() if int(k) in old)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--print", action="store_true", help="print the table instead of writing sigconv/backends/hop_costs.py")
    parser.add_argument("--library", choices=LIBRARIES, action="append",
                        help="measure this library's rows only (repeatable; default: all)")
    parser.add_argument("--passes", type=int, default=3, help="interleaved passes over all lengths (default 3)")
    parser.add_argument("--absolute", action="store_true",
                        help="write the seconds as measured; by default a row that replaces one is scaled to "
                             "the level of the row it replaces (its median ratio), keeping the shape measured now")
    args = parser.parse_args()
    old_tables, old_notes = {}, {}
    if TABLE.exists():
        from importlib import util

        spec = util.spec_from_file_location("hop_costs", TABLE)
        old = util.module_from_spec(spec)
        spec.loader.exec_module(old)
        old_tables, old_notes = old.HOP_SECONDS, getattr(old, "ROW_NOTES", {})
    tables, notes = dict(old_tables), dict(old_notes)
    today = f"measured {datetime.date.today().isoformat()}, Python {platform.python_version()}"
    for library in args.library or LIBRARIES:
        result = measure(library, args.passes)
        if result is None:
            print(f"# {library} is not installed: its rows are kept as they were", file=sys.stderr)
            continue
        for dtype, table in result.items():
            key = (library, dtype)
            if key in old_tables and not args.absolute:
                # the planner's other constants (per-hop overhead, direct
                # method) were fitted against the old row's level: a
                # machine that runs everything slower today must not move
                # the crossover between direct and FFT, only the choice
                # between transform lengths
                factor = level_of(table, old_tables[key])
                table = {k: float(f"{v * factor:.4g}") for k, v in table.items()}
                notes[key] = f"{today}; scaled by {factor:.3f} to the level of the row it replaced"
            else:
                notes[key] = today
            tables[key] = {int(k): v for k, v in table.items()}
    text = render(tables, notes)
    if args.print:
        print(text)
    else:
        TABLE.write_text(text)
        print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()
