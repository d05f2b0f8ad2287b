"""Shortcut controls on every run: the storage check, --canonicalize and the real-vs-real floor."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from tests.run_helpers import install_fake_model

BASE = ["run", "--protocol", "cross_generator", "--method", "sta", "--no-progress", "--workers", "0"]


@pytest.fixture()
def fake_model(monkeypatch):
    return install_fake_model(monkeypatch)


def _videos(tmp_path: Path, fake_size: int) -> Path:
    """Real 32x32 clips and generated clips of ``fake_size``: a storage shortcut when they differ."""
    from benchmark.data.corpus_render import encode_mp4

    rng = np.random.default_rng(0)
    rows = []
    for gen, size, count in (("real", 32, 12), ("g1", fake_size, 6)):
        for i in range(count):
            path = tmp_path / "v" / f"{gen}_{i}.mp4"
            path.parent.mkdir(exist_ok=True)
            encode_mp4(rng.random((6, size, size, 3), dtype=np.float32), path, 8, 20)
            rows.append({"video_id": f"{gen}/{i}", "path": str(path), "label": int(gen != "real"),
                         "generator": gen, "split": ("train", "val", "test")[i % 3],
                         "source_id": f"{gen}/{i}", "dataset": "toy"})
    manifest = tmp_path / "m.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def _run_dir(out: Path) -> Path:
    return next(out.glob("cross_generator/sta-mini/*"))


def test_storage_shortcut_is_found_and_shown(tmp_path, fake_model):
    assert main(BASE + ["--data", str(_videos(tmp_path, 48)), "--out", str(tmp_path / "o")]) == 0
    run_dir = _run_dir(tmp_path / "o")
    check = json.loads((run_dir / "shortcuts.json").read_text())
    assert check["available"] and any("width" in w for w in check["warnings"])
    assert max(r["tree"] for r in check["trivial_auc"]) > 0.9
    page = (run_dir / "report.html").read_text()
    assert "Shortcut check" in page and "width alone separates" in page


def test_canonicalize_removes_the_shortcut_and_is_keyed(tmp_path, fake_model, monkeypatch):
    monkeypatch.setenv("VBENCH_CACHE", str(tmp_path / "cache"))
    data = _videos(tmp_path, 48)
    recipe = "codec=libx264,crf=23,width=32,height=32,fps=8"
    assert main(BASE + ["--data", str(data), "--out", str(tmp_path / "o"), "--canonicalize", recipe]) == 0
    run_dir = _run_dir(tmp_path / "o")
    info = json.loads((run_dir / "run.json").read_text())
    assert info["canonicalize"]["recipe"] == recipe and info["key_spec"]["canonicalize"]
    used = pd.read_csv(run_dir / "manifest.csv")
    assert all("/canonical/" in p for p in used["path"])
    check = json.loads((run_dir / "shortcuts.json").read_text())
    assert not any(w.startswith("width") for w in check["warnings"])
    assert main(BASE + ["--data", str(data), "--out", str(tmp_path / "o")]) == 0
    assert len(list((tmp_path / "o").glob("cross_generator/sta-mini/*"))) == 2  # other key


def test_canonicalize_refuses_videos_it_cannot_read(tiny_manifest, tmp_path, fake_model, capsys,
                                                     monkeypatch):
    monkeypatch.setenv("VBENCH_CACHE", str(tmp_path / "cache"))
    code = main(BASE + ["--data", str(tiny_manifest), "--out", str(tmp_path / "o"),
                        "--canonicalize", "h264-crf23-112p8"])
    err = capsys.readouterr().err
    assert code == 2 and "could not be re-encoded" in err and "videos/real/broken" in err
    assert main(BASE + ["--data", str(tiny_manifest), "--out", str(tmp_path / "o"),
                        "--canonicalize", "h264-crf23-11p8"]) == 2
    assert "Unknown canonicalize recipe 'h264-crf23-11p8'. Did you mean" in capsys.readouterr().err


def test_real_floor_unit_trains_on_real_halves_and_is_kept_out_of_the_protocol(tmp_path, fake_model):
    from tests.run_helpers import placeholder_manifest

    data = placeholder_manifest(tmp_path, ["g1"], per=6)
    assert main(BASE + ["--data", str(data), "--out", str(tmp_path / "o"), "--real-floor"]) == 0
    run_dir = _run_dir(tmp_path / "o")
    results = json.loads((run_dir / "metrics.json").read_text())
    floor = results["controls"]["real_vs_real"]
    assert floor["n_a"] + floor["n_b"] == 4 and floor["auc"] is not None
    assert results["auc_matrix"]["rows"] == ["g1"]  # the control is not a train set
    assert fake_model["train"] == ["g1", "real-vs-real (control)"]
    scores = pd.read_parquet(run_dir / "scores.parquet")
    control = scores[scores["unit"] == "real-vs-real (control)"]
    assert (control["label"] == 0).all() and set(control["pseudo_label"]) == {0.0, 1.0}
    for source, halves in control.groupby("source_id")["pseudo_label"]:
        assert halves.nunique() == 1, source  # a source never spans the two halves
    assert "Real-vs-real floor" in (run_dir / "report.html").read_text()


def test_the_embedded_corpus_has_a_canonical_recipe_of_its_own_shape():
    from benchmark.data import corpus
    from benchmark.data.canonical import parse_recipe

    recipe = parse_recipe(f"h264-crf23-{corpus.SIZE}p{corpus.FPS}")
    assert (recipe.width, recipe.height, recipe.fps) == (corpus.SIZE, corpus.SIZE, corpus.FPS)
