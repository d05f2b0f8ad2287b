"""Dataset cards (``vbench data inspect --card``): Croissant 1.0 structure, one FileObject per
manifest row with hashlib's sha256, the same bytes twice, a new hash when a video's bytes change,
and the hash a run records."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from benchmark.cli import main
from benchmark.data.card import card_hash
from benchmark.data.manifest import load_manifest
from benchmark.data.prepare import prepare_data
from tests.data.test_field_layouts_b import field_b  # noqa: F401  (the layouts fixture)


def _card(capsys, data: Path, out: Path) -> dict:
    assert main(["data", "inspect", "--data", str(data), "--out", str(out / "m.csv"),
                 "--card", str(out / "card.json")]) == 0
    capsys.readouterr()
    return json.loads((out / "card.json").read_text(encoding="utf-8"))


def test_card_is_croissant_with_one_checksummed_file_per_video(field_b, tmp_path, capsys):  # noqa: F811
    card = _card(capsys, field_b / "deceptiv", tmp_path)
    assert card["@type"] == "sc:Dataset" and card["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    assert card["@context"]["cr"] == "http://mlcommons.org/croissant/" and card["name"] == "deceptiv"
    manifest = load_manifest(tmp_path / "m.csv")
    files = card["distribution"]
    assert [f["name"] for f in files] == list(manifest["video_id"])  # one FileObject per row
    for file, path in zip(files, manifest["path"]):
        assert file["@type"] == "cr:FileObject" and file["encodingFormat"] == "video/mp4"
        assert file["sha256"] == hashlib.sha256(Path(path).read_bytes()).hexdigest()
        assert Path(path).as_posix().endswith("/" + file["contentUrl"])
        assert not Path(file["contentUrl"]).is_absolute()
    (records,) = card["recordSet"]
    assert {f["name"] for f in records["field"]} >= {"video_id", "label", "generator", "split",
                                                     "source_id"}
    (reader,) = card["vbench:readers"]
    assert reader["layout"] == "deceptiv" and "07f16c7" in reader["reads"]
    assert "category" in reader["sources"] and card["vbench:splitting"] == "the layout's own splits"


def test_card_is_deterministic_and_follows_the_videos_bytes(field_b, tmp_path, capsys):  # noqa: F811
    root = Path(shutil.copytree(field_b / "synthforensics", tmp_path / "synthforensics"))
    first = (_card(capsys, root, tmp_path), (tmp_path / "card.json").read_bytes())
    again = (_card(capsys, root, tmp_path), (tmp_path / "card.json").read_bytes())
    assert first[1] == again[1]
    assert card_hash(prepare_data(str(root))) == hashlib.sha256(first[1]).hexdigest()
    video = Path(load_manifest(tmp_path / "m.csv")["path"].iloc[0])
    video.write_bytes(video.read_bytes()[:-16] + b"\1" * 16)  # same size, other bytes
    changed = (tmp_path / "card.json").read_bytes(), _card(capsys, root, tmp_path)
    after = (tmp_path / "card.json").read_bytes()
    assert hashlib.sha256(after).hexdigest() != hashlib.sha256(changed[0]).hexdigest()
    moved = [a["sha256"] != b["sha256"] for a, b in zip(first[0]["distribution"],
                                                       changed[1]["distribution"])]
    assert sum(moved) == 1
