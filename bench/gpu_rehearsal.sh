#!/usr/bin/env bash
# bench/gpu_check.sh run here, on the CPU, in the GPU machine's Python environment: the check's
# dry run before a device call. The device machine has no TensorFlow, Keras, spaCy or Beam and
# reaches no registry; the first call there (2026-12-04) lost its end-to-end figure to a package
# missing on that machine, which a --smoke run in this project's own venv could not show.
#
# What it does:
#   1. a Python 3.12 virtualenv ($GPU_IMAGE_VENV, default /tmp/gpu-image-venv) holding only the
#      packages of the GPU image (KINDS.md in the device tool's folder) that the check's code
#      paths touch, at the image's versions where KINDS.md gives them; made once, then reused;
#   2. .whl (the carried wheels, the list in gpu_check.sh) and .gpu_bench (`gpu_bench.py
#      --prepare`, with this project's venv, which has TensorFlow), where missing;
#   3. gpu_check.sh itself, with GPU_BENCH_FLAGS=--smoke (JAX on the CPU, every step small; the
#      cuDNN anchor and the cuDNN recurrence are skipped without CUDA) and that venv's python3
#      first on PATH;
#   4. what would travel: the tracked files plus .whl and .gpu_bench, against the 64 MiB limit.
# Exit status: gpu_check.sh's, or 1 if its end-to-end run tagged no record or the size is over.
#
#   bash bench/gpu_rehearsal.sh          # PYTHON312=... where python3.12 is not on PATH
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${GPU_IMAGE_VENV:-/tmp/gpu-image-venv}
PYTHON312=${PYTHON312:-python3.12}
OUT=${REHEARSAL_OUT:-/tmp/gpu-rehearsal-out}

if [ ! -x "$VENV/bin/python3" ]; then
  "$PYTHON312" -m venv "$VENV"
  # The image's versions where KINDS.md names them (jax, numpy); the rest as the registry has
  # them. No torch: the anchor is skipped here as on any machine without CUDA.
  "$VENV/bin/python3" -m pip install -q "jax==0.11.2" "jaxlib==0.11.2" "numpy==2.5.2" \
    "pyarrow>=26" ml-dtypes opt-einsum scipy grpcio cloudpickle requests pyyaml regex \
    python-dateutil sortedcontainers typing-extensions packaging h5py psutil pillow tqdm \
    threadpoolctl pyparsing six attrs wrapt
fi

if [ ! -d .whl ] || [ -z "$(ls .whl/*.whl 2>/dev/null)" ]; then
  # The list gpu_check.sh's header gives (its step 2).
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d .whl apache-beam==2.77.0 "proto-plus<2" pytz \
    "objsize<0.8" "fasteners<1" "jsonpickle<5" "zstandard<1" "beartype<0.23" orjson \
    "fastavro<2" "httplib2<1" "protobuf<7" "cryptography<51" "cffi>=2" pycparser
fi
if [ ! -f .gpu_bench/reference.npz ]; then
  .venv/bin/python bench/gpu_bench.py --prepare .gpu_bench
fi

rm -rf "$OUT"
status=0
# A site folder of its own: /tmp/site is the device's, and a stale one here would hide a wheel
# missing from .whl.
site=$(mktemp -d /tmp/gpu-rehearsal-site.XXXXXX)
PATH="$VENV/bin:$PATH" OUT="$OUT" GPU_CHECK_SITE="$site" GPU_BENCH_FLAGS=--smoke \
  bash bench/gpu_check.sh || status=$?
rm -rf "$site"

"$VENV/bin/python3" - "$OUT/gpu_bench.json" <<'EOF' || status=1
import json, sys
report = json.load(open(sys.argv[1]))
e2e = report.get("end_to_end") or {}
tagged = e2e.get("records_tagged", 0)
print(f"rehearsal: end to end tagged {tagged:,} records of {e2e.get('tokens', 0):,} tokens; "
      f"parity float32: {report['model']['parity']['float32']['labels_differing']} labels differ")
sys.exit(0 if tagged and not e2e.get("first_dead_letters") else 1)
EOF

tracked=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
carried=$(du -cb .whl .gpu_bench | tail -1 | cut -f1)
total=$(( (tracked + carried) / 1048576 ))
echo "rehearsal: the device call would carry ${total} MiB (limit 64)"
[ "$total" -lt 64 ] || status=1
exit $status
