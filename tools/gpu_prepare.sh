#!/usr/bin/env bash
# Run HERE (no GPU needed) before a session that has a lent GPU: collects what the device machine
# lacks into ignored folders that the device tool carries (64 MiB in all):
#   .whl/       wheels for its Python 3.12 (mmaction2, mmengine, mmcv-lite, decord, PyAV, pydantic, ...);
#               torch, torchvision, transformers, timm, pandas, scikit-* are there already
#   .gpu_data/  the embedded corpus, already built, so the GPU minutes go to measuring
# Then call the device tool's run with carry [".whl", ".gpu_data"] and the command
#   bash tools/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
grep -qx '/.gpu_data/' .git/info/exclude 2>/dev/null || echo '/.gpu_data/' >> .git/info/exclude
rm -rf .whl .gpu_data && mkdir -p .whl .gpu_data/cache
PLAT=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
      --platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)
# the pinned versions of what the image lacks (requirements.lock), without their dependencies
NEED="mmaction2 mmengine mmcv-lite decord av pydantic pydantic_core annotated-types typing-inspection
      addict yapf termcolor importlib_metadata zipp platformdirs"
for name in $NEED; do
  pin=$(grep -i -E "^${name}==" requirements.lock || true)
  [ -n "$pin" ] || { echo "gpu_prepare: $name is not pinned in requirements.lock" >&2; exit 1; }
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${PLAT[@]}" -d .whl "$pin" 2>/dev/null \
  || .venv/bin/python -m pip download -q --no-deps -d .whl "$pin"   # pure-Python sdists/wheels
done
corpus=$(.venv/bin/python -c "from benchmark.data.corpus import build_corpus; print(build_corpus(progress=False).parent)")
cp -r "$corpus" .gpu_data/cache/
du -sh .whl .gpu_data
echo "gpu_prepare: ready; carry .whl and .gpu_data, run: bash tools/gpu_check.sh"
