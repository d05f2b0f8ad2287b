#!/usr/bin/env bash
# The regression gate (`make regress`; the GPU workflow runs it with DEVICE=cuda).
#
# For each method: (1) evaluation of the reference model stored under baselines/<device>/models/
# (fixed weights: any change on the way from a video file to a score moves its scores), and, for
# the methods in TRAIN, (2) a cross_generator run that trains from scratch (does training still
# learn?). Then `vbench regress` compares every run with its baseline and exits 1 on a regression.
#
#   DEVICE=cpu|cuda  METHODS="sta ..."  TRAIN="sta"  OUT=vbench_regress_runs  tools/regress.sh
#   tools/regress.sh --write-baseline   # (re)write the baselines and reference models from this tree
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cpu}
METHODS=${METHODS:-sta mmvgm_i3d mmvgm_mae mmvgm_xclip aigvdet genconvit}
TRAIN=${TRAIN-sta}  # an empty TRAIN (set, empty) trains nothing: evaluation of the reference models only
OUT=${OUT:-vbench_regress_runs}
BASE=baselines/$DEVICE
VBENCH=${VBENCH:-.venv/bin/vbench}
WRITE=${1:-}
run_dir() {  # the run directory a finished command wrote: the last line of its output is the report
  tail -n 1 "$1" | xargs dirname
}
runs=()
for method in $METHODS; do
  if [ "$WRITE" = "--write-baseline" ] || [[ " $TRAIN " == *" $method "* ]]; then
    $VBENCH run --protocol cross_generator --method "$method" --device "$DEVICE" --out "$OUT" \
      --no-progress | tee "$OUT.$method.train.log"
    trained=$(run_dir "$OUT.$method.train.log")
    [[ " $TRAIN " == *" $method "* ]] && runs+=("$trained")
    if [ "$WRITE" = "--write-baseline" ]; then  # the reference model: this run's first unit
      rm -rf "$BASE/models/$method-mini"; mkdir -p "$BASE/models/$method-mini/models"
      first=$(ls "$trained/models/" | grep '\.json$' | head -n 1)
      cp "$trained/models/${first%.json}".* "$BASE/models/$method-mini/models/"
      cp "$trained/run.json" "$BASE/models/$method-mini/run.json"
    fi
  fi
  $VBENCH run --protocol cross_generator --method "$method" --device "$DEVICE" --out "$OUT" \
    --weights "$BASE/models/$method-mini" --split given --no-progress | tee "$OUT.$method.eval.log"
  runs+=("$(run_dir "$OUT.$method.eval.log")")
done
if [ "$WRITE" = "--write-baseline" ]; then
  exec $VBENCH regress "${runs[@]}" --baseline "$BASE" --write-baseline
fi
exec $VBENCH regress "${runs[@]}" --baseline "$BASE" --out "$OUT/verdict"
