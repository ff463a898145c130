#!/usr/bin/env bash
# The gpu backend's checks on a machine with a CUDA device, in one command:
#
#   pip install -e '.[gpu]'        # CuPy for CUDA 12 (cupy-cuda12x); for CUDA 13: pip install cupy-cuda13x
#   bash benchmarks/gpu_check.sh           # device tests, the stand-in tests, tune, the full benchmark
#   bash benchmarks/gpu_check.sh --quick   # the same with the benchmark's small sizes
#
# Arguments go to benchmarks/bench_gpu.py. Stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
unset SIGCONV_GPU_STANDIN
python -c "import cupy; print('CuPy', cupy.__version__, 'CUDA runtime', cupy.cuda.runtime.runtimeGetVersion())"
python -m sigconv backends
python -m pytest -m gpu tests/backends/test_gpu_device.py -q -rs -p no:cacheprovider
python -m pytest tests/backends/test_gpu.py -q -p no:cacheprovider
python -m sigconv tune --backend gpu -q
python benchmarks/bench_gpu.py "$@"
