#!/usr/bin/env bash
# Creates the project virtualenv from requirements.lock and checks that torch and torchvision are a
# working pair. Called by `make venv`; safe to re-run.
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' 2>/dev/null || {
  echo "vbench setup: Python 3.11 is required (requirements.lock is pinned for it); got: $("$PYTHON" --version 2>&1)" >&2
  exit 1
}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
# pip install, quiet; on failure show its output (minus the local mirror's noise) and stop.
pipq() {
  local log; log=$(mktemp)
  if ! "${PIP[@]}" install "$@" >"$log" 2>&1; then
    grep -v 'is ignored: it is neither' "$log" >&2 || true
    echo "vbench setup: 'pip install $*' failed (output above)" >&2
    exit 1
  fi
  rm -f "$log"
}
# torch and torchvision first and together, so pip cannot pair torchvision with a different local
# torch wheel (a CPU-only torch with PyPI torchvision fails with `torchvision::nms does not exist`).
TORCH_PINS=$(grep -E '^(torch|torchvision)==' requirements.lock)
echo "vbench setup: installing torch/torchvision ($(echo $TORCH_PINS))"
pipq $TORCH_PINS
# requirements.lock includes the `faces` extra (dlib-bin, face-recognition-models: ~140 MB installed,
# ~40 s on the 2-core machine, mostly building the models' sdist), so GenConViT and StA find faces
# as upstream and the tests exercise dlib; without it they fall back / skip, as `pip install vbench` does.
echo "vbench setup: installing the pinned dependencies (requirements.lock)"
pipq -r requirements.lock
pipq --no-deps -e .
"$VENV/bin/python" - <<'PY'
import sys
try:
    import torch, torchvision, torchvision.ops  # noqa: F401
    torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
except Exception as exc:  # report the real cause, then fail the set-up
    sys.exit(f"vbench setup: torch/torchvision are not a working pair ({exc!r}). "
             "Remove .venv and re-run `make venv`; make sure no other torch wheel shadows the pinned one.")
import benchmark  # noqa: F401
print(f"vbench setup: ok (torch {torch.__version__}, torchvision {torchvision.__version__})")
PY
