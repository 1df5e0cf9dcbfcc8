#!/usr/bin/env bash
# Issue 17's device check in one call: installs the carried wheels and runs bench/gpu_bench.py,
# results under $OUT (gpu_bench.json, gpu_bench.md, gpu_bench.log).
#
# Before the call, in the repository root of the checkout the device tool sends (the lead's):
#   1. python bench/gpu_bench.py --prepare .gpu_bench       (needs TensorFlow and ../shared/data)
#   2. the wheels the GPU image lacks (KINDS.md), Python 3.12, into .whl:
#        python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#          --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
#          --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#          --platform manylinux1_x86_64 -d .whl apache-beam==2.77.0 "proto-plus<2" pytz \
#          "objsize<0.8" "fasteners<1" "jsonpickle<5" "zstandard<1" "beartype<0.23" orjson \
#          "fastavro<2" "httplib2<1" "protobuf<7" "cryptography<51" "cffi>=2" pycparser
#      (35 MiB; protobuf 6 because Beam 2.77 needs < 7, whatever the image holds)
#   3. du -shc .whl .gpu_bench plus the tracked files: under 64 MiB (47 MiB on 2026-12-04).
#   4. a dry run of this very script on the CPU, in a Python 3.12 virtualenv of the GPU image's
#      packages with the wheels installed as below: bash bench/gpu_rehearsal.sh
#
# The call (.whl and .gpu_bench are in .gitignore, so they travel only when carried):
#   run(command="bash bench/gpu_check.sh", carry=[".whl", ".gpu_bench"], timeout_s=540)
# gpu_bench.py keeps its steps inside 450 s (each step stopped at its own limit, the end-to-end
# run given what they left) and saves each figure as it comes; `timeout 480` is the backstop,
# the rest of the limit (540 s) the install and the version lines (20 s each at most).
set -o pipefail
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-/tmp/gpu-check-out}
# The rehearsal (bench/gpu_rehearsal.sh) sets these: --smoke, and a site folder of its own.
SITE=${GPU_CHECK_SITE:-/tmp/site}
read -r -a BENCH_FLAGS <<< "${GPU_BENCH_FLAGS:-}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$SITE" .whl/*.whl || exit 1
export PYTHONPATH=$PWD:$SITE
{
  nvidia-smi -L
  # Apart: a PyTorch missing or broken must not hide JAX's line.
  timeout 20 python3 -c "import jax; print('jax', jax.__version__, jax.devices())"
  timeout 20 python3 -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())"
  timeout 480 python3 bench/gpu_bench.py --data .gpu_bench --out "$OUT" "${BENCH_FLAGS[@]}"
} 2>&1 | tee "$OUT/gpu_bench.log"
