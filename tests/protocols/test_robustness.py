"""robustness: perturbations reach every reader, each video decoded once, the grid checked first,
scores cached by view, curves and areas computed as documented."""
import json

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from protocols import robustness

BASE = ["run", "--protocol", "robustness", "--no-progress", "--workers", "0"]


def _small(tiny_manifest, tmp_path, generators=("real", "flicker", "deconv_checkerboard")):
    manifest = pd.read_csv(tiny_manifest)
    manifest = manifest[manifest["generator"].isin(generators) & manifest["path"].str.endswith(".mp4")]
    manifest["path"] = [str((tiny_manifest.parent / p).resolve()) for p in manifest["path"]]
    path = tmp_path / "small.csv"
    manifest.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("option, expected", [
    ("perturbations=df_blurr", "Unknown perturbation 'df_blurr'. Did you mean: df_blur"),
    ("levels=9", "level"),
    ("levels=two", "levels must be integers"),
])
def test_bad_grid_is_refused_before_work(tiny_manifest, tmp_path, capsys, option, expected):
    code = main(BASE + ["--method", "sta", "--data", str(_small(tiny_manifest, tmp_path)),
                        "--out", str(tmp_path / "runs"), "--option", option])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and not (tmp_path / "runs").exists()


def test_chain_with_an_unknown_step_is_refused(tiny_manifest, tmp_path, capsys):
    chain = tmp_path / "chain.yaml"
    chain.write_text("version: 1\nperturbations:\n  my_chain:\n    levels:\n"
                     "      - [{perturbation: df_blur, level: 1}, {fn: jpegg, params: {quality: 50}}]\n")
    code = main(BASE + ["--method", "sta", "--data", str(_small(tiny_manifest, tmp_path)),
                        "--out", str(tmp_path / "runs"), "--option", f"perturbation_file={chain}",
                        "--option", "perturbations=my_chain", "--option", "levels=1"])
    assert code == 2 and "jpegg" in capsys.readouterr().err


def test_aigvdet_flow_sees_the_perturbation(tiny_manifest):
    """The flow images AIGVDet reads change under blur: perturbations act before the flow."""
    from benchmark.data.views import View, ViewDataset
    from benchmark.detector import build_detector

    manifest = pd.read_csv(tiny_manifest)
    manifest = manifest[manifest["path"].str.endswith(".mp4")].head(2)
    manifest["path"] = [str((tiny_manifest.parent / p).resolve()) for p in manifest["path"]]
    detector = build_detector("aigvdet", "mini")
    item = ViewDataset(manifest, detector.clip_reader(), [View("none", 0), View("df_blur", 5)])[0]
    clean, blurred = (v["clips"] for v in item["views"])
    t = detector.spec.frames
    assert clean.shape == blurred.shape and clean.shape[2] == 2 * t - 1
    flow_change = (clean[:, :, t:].float() - blurred[:, :, t:].float()).abs().mean()
    assert flow_change > 1.0  # grey levels: the flow images differ, not only the RGB frames


def test_run_end_to_end_with_cache_and_decode_once(tiny_manifest, tmp_path, monkeypatch):
    import benchmark.inference as inference

    monkeypatch.setenv("VBENCH_CACHE", str(tmp_path / "cache"))
    calls = []
    real = inference.predict_views

    def counting(detector, manifest, views, *args, **kwargs):
        calls.append((len(manifest), [v.name for v in views]))
        return real(detector, manifest, views, *args, **kwargs)

    monkeypatch.setattr(inference, "predict_views", counting)
    data = _small(tiny_manifest, tmp_path)
    args = BASE + ["--method", "sta", "--data", str(data), "--cfg-options", "train.epochs=1",
                   "model.backbone.layers=1", "--option", "perturbations=df_noise,jpeg"]
    assert main(args + ["--out", str(tmp_path / "a"), "--option", "levels=1,3"]) in (0, 3)
    run_dir = next((tmp_path / "a").glob("robustness/sta-mini/*"))
    results = json.loads((run_dir / "metrics.json").read_text())
    rows = {(r["perturbation"], r["level"]) for r in results["rows"]}
    assert rows == {("none", 0), ("df_noise", 1), ("df_noise", 3), ("jpeg", 1), ("jpeg", 3)}
    assert set(results["curves"]) == {"df_noise", "jpeg"}
    assert calls[0][1] == ["clean", "df_noise@1", "df_noise@3", "jpeg@1", "jpeg@3"]
    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert scores.loc[scores["perturbation"] != "none", "split"].eq("test").all()
    # nothing cached yet: every scored (video, view) went through the cost meter once
    cost = json.loads((run_dir / "run.json").read_text())["cost"]
    assert cost["n_videos"] == int(scores["status"].eq("ok").sum()) and cost["params"] > 0
    assert cost["decode_ms_per_video"] > 0 and cost["forward_ms_per_video"] > 0
    # the same model (its run saved it) with one more level: only the new level is scored
    calls.clear()
    models = run_dir / "models"
    assert main(BASE + ["--method", "sta", "--data", str(data), "--weights", f"{run_dir}",
                        "--split", "given", "--cfg-options", "model.backbone.layers=1",
                        "--option", "perturbations=df_noise", "--option", "levels=1,3,5",
                        "--out", str(tmp_path / "b")]) in (0, 3)
    assert models.is_dir()
    assert [names for _, names in calls] == [["clean", "df_noise@1", "df_noise@3", "df_noise@5"]]


def test_relative_area_and_drop_follow_the_definition():
    curve = robustness._curve(0.9, [1, 3, 5], [0.9, 0.81, 0.72], 0.01, [0.02, 0.03, 0.04])
    area = (1 * (0.9 + 0.9) / 2 + 2 * (0.9 + 0.81) / 2 + 2 * (0.81 + 0.72) / 2) / (0.9 * 5)
    assert curve["relative_area"] == pytest.approx(area)
    assert curve["drop"] == pytest.approx([0.0, 0.1, 0.2])
    assert curve["extra_seconds_per_video"] == pytest.approx(0.02)
