#!/usr/bin/env bash
# Run ON a lent GPU machine (device tool; prepare here first with tools/gpu_prepare.sh): installs
# the carried wheels, runs the GPU tests and the throughput benchmark of every `paper` config
# (vbench and mmaction2's own test loop, decode and forward per precision, GPU use, peak memory),
# writing everything under $OUT (device tool) or gpu_check_out/. Aims at < 10 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
PY=${PY:-python3}
LIMIT=${LIMIT:-200}
METHODS=${METHODS:-sta mmvgm_i3d mmvgm_mae mmvgm_xclip aigvdet genconvit}
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
timeout 240 $PY -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py 2>&1 | tail -n 30 > "$OUT/pytest_gpu.txt"
DEVICE=${DEVICE:-cuda}
for method in $METHODS; do
  timeout "${BENCH_TIMEOUT:-90}" $PY tools/bench_eval.py --method "$method" --config "${CONFIG:-paper}" --device "$DEVICE" \
    --precision fp32,bf16 --limit "$LIMIT" --batch-size "${BATCH:-16}" --workers "${WORKERS:-8}" \
    --repeat 2 --json "$OUT/bench_$method.json" > "$OUT/bench_$method.txt" 2>&1 \
    || echo "bench $method failed or timed out (see bench_$method.txt)" >> "$OUT/failures.txt"
done
$PY - "$OUT" <<'PY' > "$OUT/summary.md"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
print("| config | decode | forward fp32 | forward bf16 | vbench | mmaction2 | vbench/min | mmaction2/min | GPU util | peak MiB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for path in sorted(out.glob("bench_*.json")):
    r = json.loads(path.read_text()); rates = r["rates"]; g = r["gpu_stats"].get("vbench", {})
    f = lambda k: f"{rates[k]:.1f}" if k in rates else "-"
    ratio = lambda v: f"{v:.3f}" if v is not None else "-"
    print(f"| {r['method']}/{r['config']} | {f('decode')} | {f('forward')} | {f('forward[bf16]')} | {f('vbench')} "
          f"| {f('mmaction2')} | {ratio(r['vbench_over_min'])} | {ratio(r['mmaction2_over_min'])} "
          f"| {g.get('gpu_util_mean') or '-'} | {g.get('gpu_peak_mb') or '-'} |")
PY
cat "$OUT/summary.md"
