"""The five field layouts end to end: ``data inspect`` prints the reader's format/version line,
and ``cross_generator`` (a fake model) runs on each official split, the generators without
training videos held out; GenVidBench, which ships no val split, runs with --split given+val=20
and is refused without it. The run records the data's card hash."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.data.card import card_hash
from benchmark.data.prepare import prepare_data
from benchmark.data.options import DataOptions
from tests.data.test_field_layouts_b import field_b as _field_b  # noqa: F401
from tests.run_helpers import install_fake_model

HELD = {"aigvdbench": ["Sora"], "genvideo": ["HotShot", "Sora"], "deceptiv": ["flicker"],
        "synthforensics": [], "genvidbench": ["cogvideo", "svd"]}
SPLIT = {"genvidbench": ["--split", "given+val=20"]}


@pytest.fixture(scope="module")
def five(_field_b):  # noqa: F811
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    import field_layouts
    import real_layouts

    clips = dict(list(real_layouts.real_clips(32, 8).items())[:10])
    field_layouts.write_all(_field_b, clips)
    return _field_b


@pytest.mark.parametrize("name", sorted(HELD))
def test_inspect_and_cross_generator_read_each_layout(five, tmp_path, capsys, monkeypatch, name):
    data = five / name
    assert main(["data", "inspect", "--data", str(data), "--out", str(tmp_path / "m.csv")]) == 0
    text = capsys.readouterr().out
    assert f"reader: {name} reads " in text and "commit " in text  # format and version
    assert f"grouped by {name}'s " in text  # how sources were grouped
    install_fake_model(monkeypatch)
    out = tmp_path / "runs"
    code = main(["run", "--protocol", "cross_generator", "--method", "sta", "--data", str(data),
                 "--out", str(out), "--no-progress", "--workers", "0", *SPLIT.get(name, [])])
    printed = capsys.readouterr().out
    assert code == 0
    (run_dir,) = [p.parent for p in out.glob("*/*/*/metrics.json")]
    results = json.loads((run_dir / "metrics.json").read_text())
    assert results.get("held_out", []) == HELD[name]
    scores = pd.read_parquet(run_dir / "scores.parquet")
    test_gens = set(scores.loc[(scores["split"] == "test") & (scores["label"] == 1), "generator"])
    assert {r["test_set"] for r in results["rows"]} == test_gens  # every generator tested
    for row in results["rows"]:  # a held-out generator is unseen in every row, and trains none
        assert not (row["test_set"] in HELD[name] and row["seen"])
        assert row["train_set"] not in HELD[name]
    for gen in HELD[name]:
        assert f"{gen} (held out)" in printed
    info = json.loads((run_dir / "run.json").read_text())
    options = DataOptions(split="given+val=20") if name in SPLIT else None
    assert info["card_sha256"] == card_hash(prepare_data(str(data), options=options))
    assert info["card_sha256"] in (run_dir / "report.html").read_text()


def test_genvidbench_without_val_is_refused_and_given_val_carves_train(five, tmp_path, capsys,
                                                                       monkeypatch):
    calls = install_fake_model(monkeypatch)
    argv = ["run", "--protocol", "cross_generator", "--method", "sta", "--data",
            str(five / "genvidbench"), "--out", str(tmp_path / "runs"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--split given+val=20" in err and not calls["train"]
    given = prepare_data(str(five / "genvidbench")).manifest
    carved = prepare_data(str(five / "genvidbench"), options=DataOptions(split="given+val=20"))
    m = carved.manifest
    assert (m.loc[given["split"] == "test", "split"] == "test").all()  # test untouched
    assert set(m.loc[given["split"] == "train", "split"]) == {"train", "val"}
    assert (m.groupby("source_id")["split"].nunique() == 1).all()
    assert "val: a seeded 20 %" in carved.log.splitting
    with pytest.raises(Exception, match="has its own"):
        prepare_data(str(five / "aigvdbench"), options=DataOptions(split="given+val=20"))
