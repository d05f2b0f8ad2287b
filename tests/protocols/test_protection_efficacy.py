"""protection_efficacy: the protection and LVDM computations on tiny models, metrics from tables."""
import copy

import numpy as np
import pandas as pd
import pytest

from benchmark.defences import build_defence
from benchmark.defences.efficacy import protection_metrics, protection_setup, score_setting
from benchmark.registry import registry
from benchmark.runner import SCORE_COLUMNS, check_score_table
from detectors.lvdm.efficacy import lvdm_metrics

TINY_RECIPE = {"stills": 48, "encoder_steps": 40, "autoencoder_steps": 40, "batch": 16}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    from benchmark.defences.runtime import single_thread

    with single_thread():  # as the protocol's score() runs them
        yield


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("i2v"))
    cfg = copy.deepcopy(registry().get("mmvgm_protect").config("mini"))
    cfg["target"]["options"] = {**TINY_RECIPE, "cache_dir": cache}
    cfg["transfer_target"]["options"] = {**TINY_RECIPE, "seed": 1, "width": 24, "cache_dir": cache}
    cfg["protect"]["steps"] = 4
    defence = build_defence("mmvgm_protect", cfg)
    return protection_setup(defence, count=3, detector_clips=8, detector_epochs=1)


@pytest.fixture(scope="module")
def table(setup):
    parts = [score_setting(setup, {"name": f"{mode} 4/255", "mode": mode, "eps": "4/255"},
                           [("jpeg", 75)], examples=1) for mode in ("directed", "undirected", "random")]
    frame = pd.concat(parts, ignore_index=True)
    for column in ("method", "config", "protocol", "seed", "unit"):
        frame[column] = "x" if column != "seed" else 0
    return frame


def test_setting_tables_have_the_runner_columns_and_one_row_per_image_condition_model(table):
    check_score_table(table, "u", "protection_efficacy")  # the runner's own check
    assert set(SCORE_COLUMNS) <= set(table.columns)
    # 3 images x (none on attacked + transfer, jpeg on attacked) x 3 settings
    assert len(table) == 3 * 3 * 3 and table["video_id"].is_unique
    none = table[(table["perturbation"] == "none") & (table["model"] == "attacked")]
    assert (none["linf_255"] <= 4 + 1e-4).all() and (none["psnr"] > 30).all()
    assert (none["thumb"] != "").sum() == 3  # one example strip per setting
    assert set(table["perceptual_name"]) == {"1-ssim"}


def test_protection_departs_more_than_random_noise(table):
    summary = protection_metrics(table)["summary"]
    assert summary["efficacy"] > 3 * summary["random_departure"]
    assert summary["embed_toward_target_beyond_random"] > 0
    assert summary["embed_away_beyond_random"] > 0
    rows = protection_metrics(table)["rows"]
    assert {(r["mode"], r["model"], r["perturbation"]) for r in rows} >= {
        ("directed", "transfer", "none"), ("random", "attacked", "jpeg")}


def test_setup_records_images_target_and_detector(setup):
    record = setup.record
    assert record["target_photo"] == "moon" and len(record["images"]) == 3
    assert record["detector"]["method"] == "mmvgm_mae" and "test_auc" in record["detector"]
    assert set(setup.models) == {"attacked", "transfer"}


def test_lvdm_metrics_from_a_table_alone():
    rng = np.random.default_rng(0)
    rows = []
    for v in range(12):
        label = int(v < 6)
        stopped = label == 1 and v % 2 == 0
        for step in range(4):
            flag = bool(label and step >= 1) or (not label and rng.random() < 0.1)
            rows.append({"video": f"v{v}", "video_id": f"v{v}@{step:03d}", "label": label, "step": step,
                         "flag": flag, "rule_eta": 3, "rule_lambda": 0.6, "rule_balance": False,
                         "total_steps": 4, "guard_stopped": stopped,
                         "guard_stop_step": 3.0 if stopped else np.nan})
    results = lvdm_metrics(pd.DataFrame(rows), etas=[1, 3], lambdas=[0.6])
    assert results["rows"][0]["rule"] == "last_step" and len(results["rows"]) == 3
    assert results["summary"]["rule"] == "eta=3, lambda=0.6"
    assert results["summary"]["guard_stopped_rate"] == pytest.approx(3 / 12)
    assert {"stop_step": 3, "videos": 3} in results["guard_stops"]
    assert len(results["per_step"]) == 4
    # the protocol finds the same computation through the table's method and the Defence interface
    from protocols import get_protocol

    table = pd.DataFrame(rows).assign(method="lvdm")
    via_protocol = get_protocol("protection_efficacy").metrics(
        table, {"etas": ["1", "3"], "lambdas": ["0.6"]})
    assert via_protocol["summary"] == results["summary"]


def test_the_protocol_refuses_detectors():
    from benchmark.errors import DataError
    from benchmark.runner import RunRequest
    from protocols import get_protocol

    class Ctx:
        request = RunRequest(protocol="protection_efficacy", method="sta")

    with pytest.raises(DataError, match="evaluates defences"):
        get_protocol("protection_efficacy").plan(Ctx())


def test_a_defence_run_is_recorded_as_running(tmp_path):
    """run.json's record before any work: a defence config has no eval batch size to record
    (this raised KeyError 'eval' once --batch-size was recorded)."""
    import json

    from benchmark.finish import write_running
    from benchmark.preflight import prepare
    from benchmark.runner import RunRequest
    from tests.run_helpers import placeholder_manifest

    data = placeholder_manifest(tmp_path, ["g1"])  # lvdm's plan does not read the data
    ctx = prepare(RunRequest(protocol="protection_efficacy", method="lvdm", data=str(data),
                             out=str(tmp_path / "runs"), progress=False))
    ctx.run.dir.mkdir(parents=True)
    write_running(ctx)
    info = json.loads(ctx.run.info_path.read_text())
    assert info["status"] == "running" and info["method"] == "lvdm"
    assert info["inference"]["batch_size"] is None and info["units"][0]["name"] == "lvdm"


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mmvgm_protect", "lvdm"])
def test_vbench_run_end_to_end(method, tmp_path):
    """The real command on the embedded defaults (minutes on two cores)."""
    from benchmark.runner import RunRequest, execute

    report = execute(RunRequest(protocol="protection_efficacy", method=method, out=str(tmp_path),
                                progress=False))
    assert report.is_file() and "protection_efficacy" in report.read_text()


def test_rows_and_summary_carry_image_bootstrap_intervals(table):
    """Intervals over the protected images: each contains its point, the points are the plain
    means they were, a measure equal on every image has a zero-width interval."""
    results = protection_metrics(table)
    prot = table[(table["perturbation"] == "none") & (table["model"] == "attacked")
                 & table["mode"].isin(["directed", "undirected"])]
    by_setting = prot.groupby("setting")["video_ssim"].mean()
    assert results["summary"]["efficacy"] == pytest.approx(float((1 - by_setting).mean()))
    for row in results["rows"]:
        assert "detector_test_auc" not in row["ci"]  # the detector's own AUC: not an image mean
        for key, band in row["ci"].items():
            assert band is not None and band["low"] - 1e-12 <= row[key] <= band["high"] + 1e-12, key
    band = results["summary_ci"]["efficacy"]["interval"]
    assert band["low"] <= results["summary"]["efficacy"] <= band["high"] and band["low"] < band["high"]
    assert len(results["summary_ci"]["efficacy"]["replicates"]) == 1000
    assert results["intervals"]["unit"].startswith("protected image")
    flat = table.assign(psnr=40.0)  # the same PSNR on every image
    row = protection_metrics(flat)["rows"][0]
    assert row["ci"]["psnr"] == {"low": pytest.approx(40.0), "high": pytest.approx(40.0)}


def test_one_image_gives_point_intervals_not_a_crash(table):
    first = table[table["source_id"] == table["source_id"].iloc[0]]
    results = protection_metrics(first)
    assert results["summary_ci"]["efficacy"]["interval"]["low"] == pytest.approx(
        results["summary"]["efficacy"])


def _lvdm_rows(n: int = 40, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(n):
        label = int(v < n // 2)
        for step in range(4):
            flag = bool(label and step >= 1 and rng.random() < 0.8) or (not label and rng.random() < 0.2)
            rows.append({"video": f"v{v:03d}", "video_id": f"v{v:03d}@{step:03d}", "label": label,
                         "step": step, "flag": flag, "rule_eta": 3, "rule_lambda": 0.6,
                         "rule_balance": False, "total_steps": 4})
    return rows


def test_lvdm_rows_and_summary_carry_video_bootstrap_intervals():
    from benchmark.metrics import binary_decisions
    from detectors.lvdm.intervals import _weighted
    from detectors.lvdm.rule import early_exit, flag_matrix

    results = lvdm_metrics(pd.DataFrame(_lvdm_rows()), etas=[1, 3], lambdas=[0.6])
    for row in results["rows"]:
        for key in ("accuracy", "precision", "recall", "f1", "compute_saved"):
            band = row["ci"][key]
            assert band["low"] - 1e-12 <= row[key] <= band["high"] + 1e-12, (row["rule"], key)
    chosen = next(r for r in results["rows"] if r["eta"] == 3)
    assert results["summary_ci"]["efficacy"]["interval"] == chosen["ci"]["f1"]
    assert results["summary"]["efficacy"] == chosen["f1"]
    # the weighted form with every video drawn once is the point function
    frame = pd.DataFrame(_lvdm_rows()).assign(video_id=lambda f: f["video"])
    _, labels, flags = flag_matrix(frame)
    unsafe, stop = early_exit(flags, 3, 0.6)
    once = _weighted(labels, unsafe, np.where(unsafe, (4 - stop) / 4, 0.0),
                     np.ones((1, len(labels)), dtype=np.int32))
    point = binary_decisions(labels, unsafe.astype(int))
    assert {k: float(once[k][0]) for k in point} == pytest.approx(point)
    # a rule right on every video: every replicate is 1
    perfect = [dict(r, flag=bool(r["label"])) for r in _lvdm_rows()]
    row = lvdm_metrics(pd.DataFrame(perfect), etas=[3], lambdas=[0.6])["rows"][1]
    assert row["ci"]["accuracy"] == {"low": 1.0, "high": 1.0}
