#!/usr/bin/env bash
# Run ON a lent GPU machine (device tool; prepare here first with tools/gpu_prepare.sh): installs
# the carried wheels, runs `pytest -m gpu`, the throughput benchmark of every `paper` config at
# fp32, bf16 and fp16 (vbench, mmaction2's own test loop, decode, forward per precision, GPU use,
# peak memory), the decoders with torchcodec's GPU decoder where it is installed, and prints one
# table: videos/s per config for vbench and mmaction2 and their ratio to min(decode, forward).
# Writes everything under $OUT (device tool) or gpu_check_out/. Aims at < 10 minutes: each bench
# has BENCH_TIMEOUT seconds (default 70 x 6 methods), pytest 150 s, the decoders 60 s.
#
#   bash tools/gpu_check.sh                 # on the GPU machine
#   TINY=1 bash tools/gpu_check.sh          # here, on the CPU: mini configs, 16 videos, 1 round
# Not yet run on a GPU (no GPU was lent to the session that wrote this); TINY=1 was run on 2 CPU cores.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
PY=${PY:-python3}
METHODS=${METHODS:-sta mmvgm_i3d mmvgm_mae mmvgm_xclip aigvdet genconvit}
if [ -n "${TINY:-}" ]; then   # the CPU dry run: every step, tiny sizes
  DEVICE=${DEVICE:-cpu} CONFIG=${CONFIG:-mini} LIMIT=${LIMIT:-16} BATCH=${BATCH:-4} REPEAT=${REPEAT:-1}
  PRECISIONS=${PRECISIONS:-fp32,bf16} NO_INSTALL=1 WORKERS_FLAG="" DEC_SIZES=${DEC_SIZES:-160x120}
else
  DEVICE=${DEVICE:-cuda} CONFIG=${CONFIG:-paper} LIMIT=${LIMIT:-200} BATCH=${BATCH:-16} REPEAT=${REPEAT:-2}
  PRECISIONS=${PRECISIONS:-fp32,bf16,fp16} WORKERS_FLAG="--workers ${WORKERS:-8}" DEC_SIZES=${DEC_SIZES:-640x360,1920x1080}
fi
if [ -d .whl ] && [ -z "${NO_INSTALL:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "gpu_check: installing the carried wheels failed" >&2; exit 1; }
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
[ -d .gpu_data/cache ] && export VBENCH_CACHE=$PWD/.gpu_data/cache
export PYTHONUNBUFFERED=1
{ nvidia-smi || true; $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } \
  > "$OUT/machine.txt" 2>&1
if [ -z "${TINY:-}" ]; then
  timeout 150 $PY -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py 2>&1 | tail -n 30 > "$OUT/pytest_gpu.txt"
fi
: > "$OUT/failures.txt"
for method in $METHODS; do
  # shellcheck disable=SC2086  # WORKERS_FLAG is empty or two words
  timeout "${BENCH_TIMEOUT:-70}" $PY tools/bench_eval.py --method "$method" --config "$CONFIG" --device "$DEVICE" \
    --precision "$PRECISIONS" --limit "$LIMIT" --batch-size "$BATCH" $WORKERS_FLAG \
    --repeat "$REPEAT" --json "$OUT/bench_$method.json" > "$OUT/bench_$method.txt" 2>&1 \
    || echo "bench $method failed or timed out (see bench_$method.txt)" >> "$OUT/failures.txt"
done
CUDA_FLAG=$([ "$DEVICE" = cuda ] && echo --cuda || true)
timeout "${DECODE_TIMEOUT:-60}" $PY tools/bench_decoders.py $CUDA_FLAG --sizes "$DEC_SIZES" --per-size 2 --limit 20 --repeat 2 \
  --json "$OUT/decoders.json" > "$OUT/decoders.txt" 2>&1 || echo "bench_decoders failed or timed out" >> "$OUT/failures.txt"
$PY tools/gpu_summary.py "$OUT" | tee "$OUT/summary.md"
cat "$OUT/failures.txt"
