"""chronological: the release-date table, its overrides, the cuts, the metrics (against
scikit-learn) and the refusals, end to end through the CLI with a model that never decodes; and
one real StA run on the tiny corpus."""
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from benchmark.cli import main
from benchmark.data.release_dates import BUILTIN, ReleaseDate, load_dates, normalise, read_table
from benchmark.errors import DataError
from protocols import chronological
from tests.run_helpers import assert_refused, install_fake_model, placeholder_manifest

# built-in (synthetic) dates: 2022-07, 2023-01, 2023-07, 2024-01
EMBEDDED = ["latent_ae", "frame_interp", "flicker", "oversmooth"]


@pytest.fixture()
def fake_model(monkeypatch):
    return install_fake_model(monkeypatch)


def _argv(data, out, *options):
    argv = ["run", "--protocol", "chronological", "--method", "sta", "--data", str(data),
            "--out", str(out), "--no-progress", "--workers", "0"]
    for option in options:
        argv += ["--option", option]
    return argv


def _run_dir(out):
    (run_dir,) = (out / "chronological" / "sta-mini").iterdir()
    return run_dir


# ----------------------------------------------------------------------------- dates
def test_dates_compare_at_the_coarser_precision_and_count_calendar_months():
    feb, feb15, feb10 = (ReleaseDate.parse(t) for t in ("2024-02", "2024-02-15", "2024-02-10"))
    assert feb.up_to(feb10) and feb10.up_to(feb) and feb15.up_to(feb)  # a month is the whole month
    assert not feb15.up_to(feb10) and feb10.up_to(feb15)
    assert ReleaseDate.parse("2024-03-01").months_after(ReleaseDate.parse("2024-02-28")) == 1
    assert ReleaseDate.parse("2025-01").months_after(feb) == 11
    assert (feb.precision, feb15.precision, str(feb15)) == ("month", "day", "2024-02-15")
    for bad in ("2024", "2024-13", "2024-02-30", "Feb 2024", "2024/02"):
        with pytest.raises(ValueError, match="malformed date"):
            ReleaseDate.parse(bad)


def test_every_embedded_generator_and_the_field_generators_have_a_sourced_date():
    from benchmark.data.corpus_generators import GENERATOR_FUNCTIONS
    from benchmark.data.footage import GENERATORS as FOOTAGE
    from tools.field_layouts import AIGVDBENCH_CLOSED, AIGVDBENCH_OPEN, GENVIDBENCH_PAIRS, GENVIDEO_SETS

    table = load_dates()
    for name in [*GENERATOR_FUNCTIONS, *FOOTAGE]:
        entry = table.find(name)
        assert entry is not None and entry.synthetic, name
        assert "synthetic date for the embedded corpus" in entry.source
    assert len({str(table.find(n).date) for n in GENERATOR_FUNCTIONS}) == len(GENERATOR_FUNCTIONS)
    field = [g for _, gens in (*GENVIDBENCH_PAIRS.values(), *GENVIDEO_SETS.values()) for g in gens]
    field += [*AIGVDBENCH_OPEN, *AIGVDBENCH_CLOSED, "Gen-2", "ModelScope", "ZeroScope", "SVD-XT",
              "VideoCrafter", "OpenSora", "Kling", "Luma", "HunyuanVideo", "Wan2.1", "Veo", "Show_1",
              "HotShot", "ms", "t2vz", "cogvideo", "mora", "musev", "I2VGen-XL", "DynamiCrafter"]
    for name in field:
        entry = table.find(name)
        assert entry is not None and not entry.synthetic and len(entry.source) > 10, name
    assert str(table.find("Sora").date) == "2024-02-15" and str(table.find("vc2").date) == "2024-01"
    assert all(e.source and e.origin.startswith("benchmark/data/release_dates.yaml:")
               for e in table.entries)


def test_an_override_replaces_by_alias_and_adds_names(tmp_path):
    path = tmp_path / "dates.yaml"
    path.write_text("Wan2.1: 2025-03-01\nmy_gen: {date: 2021-05, source: our lab notes}\n")
    table = load_dates(path)
    assert str(table.find("wan").date) == "2025-03-01" and table.find("wan").origin.endswith(":1")
    assert str(table.find("MY-GEN").date) == "2021-05" and table.find("my_gen").source == "our lab notes"
    assert str(table.find("sora").date) == "2024-02-15"  # the rest stays the built-in table's
    assert table.describe() == f"benchmark/data/release_dates.yaml + {path}"
    assert normalise("Gen-2") == normalise("gen2")


@pytest.mark.parametrize("name, text, line", [
    ("bad.yaml", "g1: 2023-01\ng2: 2023-1\n", 2),
    ("bad.yaml", "g1: 2023-01\n\n# a comment\ng2: {date: 2023-02-31}\n", 4),
    ("bad.csv", "generator,date,source\ng1,2023-01,x\ng2,January 2023,y\n", 3),
])
def test_a_malformed_date_in_an_override_names_file_and_line(tmp_path, name, text, line):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError, match=rf"{name}:{line}: generator 'g2': malformed date"):
        read_table(path)


def test_the_builtin_table_reads_clean():
    table = read_table(BUILTIN)
    assert len(table.entries) >= 40


# ----------------------------------------------------------------------------- end to end (fake model)
def test_run_trains_one_model_per_cut_on_the_generators_up_to_it(tmp_path, fake_model):
    data = placeholder_manifest(tmp_path, EMBEDDED, per=6)
    out = tmp_path / "runs"
    assert main(_argv(data, out)) == 0
    run_dir = _run_dir(out)
    info = json.loads((run_dir / "run.json").read_text())
    assert [u["name"] for u in info["units"]] == ["up to 2022-07", "up to 2023-01", "up to 2023-07"]
    # each cut trained on real + its generators only, train and val splits
    for (train, val, _), size in zip(fake_model["rows"], (1, 2, 3)):
        assert set(train["generator"]) == {"real", *EMBEDDED[:size]}
        assert set(train["split"]) == {"train"} and set(val["split"]) == {"val"}
        assert set(val["generator"]) == {"real", *EMBEDDED[:size]}
    results = json.loads((run_dir / "metrics.json").read_text())
    cells = [(r["cut_date"], r["test_set"], r["months_since_cut"]) for r in results["rows"]]
    assert cells == [("2022-07", "frame_interp", 6), ("2022-07", "flicker", 12),
                     ("2022-07", "oversmooth", 18), ("2023-01", "flicker", 6),
                     ("2023-01", "oversmooth", 12), ("2023-07", "oversmooth", 6)]
    assert len(results["seen_rows"]) == 1 + 2 + 3
    scores = pd.read_parquet(run_dir / "scores.parquet")
    for row in results["rows"]:
        test = scores[(scores["unit"] == f"up to {row['cut_date']}") & (scores["split"] == "test")
                      & scores["generator"].isin(["real", row["test_set"]])]
        assert row["auc"] == pytest.approx(roc_auc_score(test["label"], test["score"]))
        assert row["ci"]["auc"]["low"] <= row["auc"] <= row["ci"]["auc"]["high"]
    first = [r["auc"] for r in results["rows"] if r["cut_date"] == "2022-07"]
    assert results["cuts"][0]["mean_auc_later"] == pytest.approx(np.mean(first))
    assert results["summary"]["mean_auc_later"] == pytest.approx(np.mean([r["auc"] for r in results["rows"]]))
    interval = results["summary_ci"]["mean_auc_later"]["interval"]
    assert interval["low"] < results["summary"]["mean_auc_later"] < interval["high"]
    # from the score table alone
    assert chronological.metrics(scores, {})["rows"] == results["rows"]
    csv = pd.read_csv(run_dir / "metrics.csv")
    assert len(csv) == 6 and {"cut_date", "months_since_cut", "release_date", "auc"} <= set(csv.columns)
    page = (run_dir / "report.html").read_text()
    assert "AUC against months since the cut" in page and page.count("<circle") >= 6
    assert "synthetic date for the embedded corpus" in page
    assert r"| 2022-07 | frame\_interp | 2023-01 | 6 |" in (run_dir / "report.md").read_text()


def test_cuts_and_an_override_file_are_used_and_recorded(tmp_path, fake_model):
    data = placeholder_manifest(tmp_path, ["g1", "g2", "g3"], per=6)
    dates = tmp_path / "dates.csv"
    dates.write_text("generator,date,source\ng1,2023-01-15,lab\ng2,2023-06,lab\ng3,2024-06,lab\n")
    out = tmp_path / "runs"
    assert main(_argv(data, out, f"release_dates={dates}", "cuts=2023-06")) == 0
    info = json.loads((_run_dir(out) / "run.json").read_text())
    (unit,) = info["units"]
    assert unit["members"]["train_generators"] == ["g1", "g2"] and unit["members"]["cut"] == ["2023-06"]
    assert unit["members"]["date_origin"] == [f"{dates}:2", f"{dates}:3", f"{dates}:4"]
    assert info["options"]["release_dates"].startswith(f"{dates}#sha256=")
    results = json.loads((_run_dir(out) / "metrics.json").read_text())
    assert [(r["test_set"], r["months_since_cut"]) for r in results["rows"]] == [("g3", 12)]
    # another file content is another run (the digest is part of the options, so of the key)
    dates.write_text("generator,date,source\ng1,2023-01-15,lab\ng2,2023-06,lab\ng3,2024-09,lab\n")
    assert main(_argv(data, out, f"release_dates={dates}", "cuts=2023-06")) == 0
    assert len(list((out / "chronological" / "sta-mini").iterdir())) == 2


# ----------------------------------------------------------------------------- refusals
def test_a_generator_with_no_release_date_is_refused(tmp_path, capsys, fake_model):
    data = placeholder_manifest(tmp_path, ["latent_ae", "mystery_gen"])
    out = tmp_path / "runs"
    assert_refused(capsys, _argv(data, out), ["no release date for generator(s) 'mystery_gen'",
                                              "benchmark/data/release_dates.yaml",
                                              "--option release_dates=FILE"], out, fake_model)


def test_a_cut_that_leaves_no_later_generator_is_refused(tmp_path, capsys, fake_model):
    data = placeholder_manifest(tmp_path, EMBEDDED)
    out = tmp_path / "runs"
    assert_refused(capsys, _argv(data, out, "cuts=2023-01,2030-01"),
                   ["cut 2030-01 leaves no later generator", "latest release date",
                    "is 2024-01 (oversmooth", "benchmark/data/release_dates.yaml"], out, fake_model)


def test_a_cut_that_leaves_no_training_fakes_is_refused(tmp_path, capsys, fake_model):
    data = placeholder_manifest(tmp_path, EMBEDDED)
    out = tmp_path / "runs"
    assert_refused(capsys, _argv(data, out, "cuts=2020-05"),
                   ["cut 2020-05 leaves no training fakes", "the earliest is 2022-07 (latent_ae"],
                   out, fake_model)


@pytest.mark.parametrize("name, text, where", [
    ("dates.yaml", "g1: 2023-01\ng2: 23-06\n", "dates.yaml:2: generator 'g2': malformed date '23-06'"),
    ("dates.csv", "generator,date\ng1,2023-01\ng2,2023-00\n", "dates.csv:3: generator 'g2': malformed"),
])
def test_a_malformed_override_date_is_refused_naming_file_and_line(tmp_path, capsys, fake_model,
                                                                    name, text, where):
    data = placeholder_manifest(tmp_path, ["g1", "g2"])
    dates = tmp_path / name
    dates.write_text(text)
    out = tmp_path / "runs"
    assert_refused(capsys, _argv(data, out, f"release_dates={dates}"), [where], out, fake_model)


def test_a_malformed_cut_and_data_with_one_date_are_refused(tmp_path, capsys, fake_model):
    data = placeholder_manifest(tmp_path, EMBEDDED)
    out = tmp_path / "runs"
    assert_refused(capsys, _argv(data, out, "cuts=2023-6"), ["option 'cuts'", "'2023-6'",
                                                             "YYYY-MM"], out, fake_model)
    same = placeholder_manifest(tmp_path / "same", ["frame_interp"])
    assert_refused(capsys, _argv(same, out), ["no cut leaves a later generator"], out, fake_model)


# ----------------------------------------------------------------------------- a real detector
@pytest.mark.slow
def test_sta_runs_two_cuts_on_the_tiny_corpus(tiny_manifest, tmp_path):
    from benchmark.runner import RunRequest, execute

    report = execute(RunRequest(protocol="chronological", method="sta", data=str(tiny_manifest),
                                out=str(tmp_path / "runs"), workers=1, progress=False,
                                options={"cuts": "2022-07,2023-07"},
                                cfg_options={"train.epochs": 1, "train.batch_size": 4}))
    results = json.loads((report.parent / "metrics.json").read_text())
    assert [c["cut_date"] for c in results["cuts"]] == ["2022-07", "2023-07"]
    assert len(results["rows"]) == 4 + 2  # later generators of vbench-mini per cut
    assert all(r["auc"] is not None for r in results["rows"])
