"""What DecepTIV and SynthForensics ship, through the protocols (a fake model, real layouts):
DecepTIV's perturbed copies in ``robustness`` (dataset_perturbations=true), reported apart and
paired by video; SynthForensics' compression versions as ``cross_dataset``'s matrix."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.runner import RunContext
from protocols import robustness
from tests.data.test_field_layouts_b import field_b  # noqa: F401  (the layouts fixture)
from tests.run_helpers import install_fake_model

BASE = ["run", "--method", "sta", "--no-progress", "--workers", "0"]


@pytest.fixture()
def fake_model(monkeypatch):
    calls = install_fake_model(monkeypatch)

    def predict_views(self, detector, frame, views, pset=None, decode_once=True, cache=True):
        tables = [self.predict(detector, frame) for _ in views]
        for table, view in zip(tables, views):
            table["perturbation"], table["severity"] = view.perturbation, view.level
            table["score"] = table["score"] * (1 - 0.05 * view.level)  # milder scores when worse
        return pd.concat(tables, ignore_index=True)

    monkeypatch.setattr(RunContext, "predict_views", predict_views)
    return calls


def _metrics(out) -> dict:
    (path,) = out.glob("*/*/*/metrics.json")
    return json.loads(path.read_text())


def test_deceptiv_copies_are_scored_apart_and_paired(field_b, tmp_path, fake_model):  # noqa: F811
    out = tmp_path / "runs"
    code = main(BASE + ["--protocol", "robustness", "--data", str(field_b / "deceptiv"),
                        "--out", str(out), "--option", "dataset_perturbations=true",
                        "--option", "perturbations=df_blur", "--option", "levels=1,3"])
    assert code == 0
    results = _metrics(out)
    (own,) = results["dataset_perturbations"]
    assert own["perturbation"] == robustness.DATASET_COPY and own["n_videos"] == 6  # test videos
    assert own["auc_drop_same_videos"] == pytest.approx(own["clean_auc_same_videos"] - own["auc"])
    assert set(results["curves"]) == {"df_blur"}  # the copies stay out of curves and areas
    assert [r["perturbation"] for r in results["rows"]] == ["none", "df_blur", "df_blur"]
    scores = pd.read_parquet(next(out.glob("*/*/*/scores.parquet")))
    copies = scores[scores["perturbation"] == robustness.DATASET_COPY]
    clean = scores[(scores["perturbation"] == "none") & (scores["split"] == "test")]
    assert sorted(copies["video_id"]) == sorted(clean["video_id"])  # paired by video id
    report = next(out.glob("*/*/*/report.md")).read_text()
    assert "dataset's own perturbed copies" in report


def test_dataset_perturbations_without_copies_is_refused(field_b, tmp_path, capsys, fake_model):  # noqa: F811
    out = tmp_path / "runs"
    code = main(BASE + ["--protocol", "robustness", "--data", str(field_b / "synthforensics"),
                        "--out", str(out), "--option", "dataset_perturbations=true"])
    err = capsys.readouterr().err
    assert code == 2 and "perturbed_path" in err and err.count("\n") == 1 and not fake_model["train"]


def test_synthforensics_cross_compression_matrix(field_b, tmp_path, fake_model):  # noqa: F811
    out = tmp_path / "runs"
    code = main(BASE + ["--protocol", "cross_dataset", "--data", str(field_b / "synthforensics"),
                        "--option", "compression=all", "--out", str(out)])
    assert code == 0
    versions = [f"SynthForensics/{v}" for v in ("canonical", "crf23", "crf40", "raw")]
    assert fake_model["train"] == versions  # one model per version
    for train_rows, val_rows, _ in fake_model["rows"]:
        assert train_rows["dataset"].nunique() == 1 and set(train_rows["split"]) == {"train"}
    matrix = _metrics(out)["auc_matrix"]
    assert matrix["rows"] == versions and matrix["cols"] == versions
