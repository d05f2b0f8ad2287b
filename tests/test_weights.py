"""--weights: one parser for files, part files and models stored by runs; stored models round-trip."""
import json

import pytest
import torch

from benchmark.detector import build_detector
from benchmark.errors import UnknownKeyError, WeightsError
from benchmark.weights import load_stored, parse_weights, save_model


def test_digest_covers_single_folder_and_part_files(tmp_path):
    (tmp_path / "a.pth").write_bytes(b"a")
    (tmp_path / "b.pth").write_bytes(b"b")
    single = parse_weights(str(tmp_path / "a.pth"))
    assert single.kind == "file" and len(single.digest) == 64 and ":" not in single.digest
    folder = parse_weights(str(tmp_path))
    pair = parse_weights(f"rgb={tmp_path / 'a.pth'},flow={tmp_path / 'b.pth'}")
    assert folder.kind == pair.kind == "parts"
    assert folder.digest.startswith("a.pth:") and ",b.pth:" in folder.digest
    assert pair.digest.split(",")[0] == f"a.pth:{single.digest}"


@pytest.mark.parametrize("make, expected", [
    (lambda d: f"rgb={d / 'a.pth'},flow={d / 'missing.pth'}", "missing.pth"),
    (lambda d: str(d / "nothing.pth"), "weights file not found"),
    (lambda d: (d / "empty.pth").write_bytes(b"") or str(d / "empty.pth"), r"empty \(0 bytes\)"),
    (lambda d: (d / "sub").mkdir() or str(d / "sub"), "weights folder holds no files"),
])
def test_bad_weights_are_refused_before_work(tmp_path, make, expected):
    (tmp_path / "a.pth").write_bytes(b"a")
    with pytest.raises(WeightsError, match=expected):
        parse_weights(make(tmp_path))


def _stored_run(tmp_path, units=("gen a",)):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"status": "complete", "run_id": "r", "method": "sta",
                                                  "config": "mini", "protocol": "cross_generator",
                                                  "dataset": "toy"}))
    torch.manual_seed(0)
    cfg = {"train.epochs": 1, "model.backbone.layers": 1}
    from benchmark.registry import registry

    detector = build_detector("sta", registry().get("sta").config("mini", cfg))
    for i, unit in enumerate(units):
        card = {"method": "sta", "config": "mini", "unit": unit, "protocol": "cross_generator",
                "members": {"train_generators": [unit]}}
        save_model(run_dir, f"u{i}", detector.model, card)
    return run_dir, detector, cfg


def test_stored_model_round_trips_strictly(tmp_path):
    run_dir, detector, cfg = _stored_run(tmp_path)
    spec = parse_weights(f"{run_dir}:gen a")
    assert spec.kind == "stored" and spec.stored.unit == "gen a" and spec.digest == spec.stored.card["sha256"]
    assert parse_weights(str(run_dir)).stored.unit == "gen a"  # the run holds one model
    from benchmark.registry import registry

    fresh = build_detector("sta", registry().get("sta").config("mini", cfg))
    load_stored(fresh, spec.stored)
    size, frames = fresh.spec.size, fresh.spec.frames  # what the mini config reads
    clips = torch.randint(0, 256, (2, 3, frames, size, size), dtype=torch.uint8)
    assert torch.equal(fresh.clip_scores(clips), detector.clip_scores(clips))
    other = build_detector("sta", registry().get("sta").config("mini", {"model.backbone.layers": 2}))
    with pytest.raises(WeightsError, match="does not match the model"):
        load_stored(other, spec.stored)  # strict: a missing block is an error


def test_stored_model_errors(tmp_path):
    run_dir, _, _ = _stored_run(tmp_path, units=("gen_a", "gen_b"))
    with pytest.raises(WeightsError, match="holds 2 models; name one"):
        parse_weights(str(run_dir))
    with pytest.raises(UnknownKeyError, match="Did you mean: gen_a"):
        parse_weights(f"{run_dir}:gen_aa")
    model = next((run_dir / "models").glob("u0.safetensors"))
    model.write_bytes(model.read_bytes()[:-4] + b"junk")
    with pytest.raises(WeightsError, match="does not match its card"):
        parse_weights(f"{run_dir}:gen_a")
    spec = parse_weights(f"{run_dir}:gen_b")
    from benchmark.weights import check_compatible

    with pytest.raises(WeightsError, match="--method sta --config mini"):
        check_compatible(spec.stored, "mmvgm_i3d", "mini")
