"""Reports safe to open anywhere (issue 9): formulas, Markdown/HTML, bidi controls, NA-like names."""
from __future__ import annotations

import csv

import pandas as pd
import pytest

from benchmark.data.manifest import load_manifest, save_manifest
from benchmark.safe_text import (csv_cell, csv_frame, csv_uncell, html_text, markdown_cell, read_csv_text,
                                 show_controls)

FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1+1", "'=already"]
NAMES = ["NA", "null", "None", "nan", "NaN", "N/A", "#N/A", "-nan", "<NA>", "NULL", "n/a", "1.#IND"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_cells_are_neutralised_and_restored(text):
    cell = csv_cell(text)
    assert cell == "'" + text and csv_uncell(cell) == text


@pytest.mark.parametrize("value", [-0.5, -3, 1e-9, "-0.5", "+2", "-1e-3", "sora", "a=b", "", "'quoted"])
def test_numbers_and_plain_text_stay(value):
    assert csv_cell(value) == value and csv_uncell(value) == value


def test_csv_frame_through_a_spreadsheet_reader(tmp_path):
    frame = pd.DataFrame({"generator": ["=HYPERLINK(\"http://x\")", "sora", "NA"], "auc": [-0.25, 0.5, 1.0]})
    csv_frame(frame).to_csv(tmp_path / "m.csv", index=False)
    with open(tmp_path / "m.csv", newline="") as f:
        cells = list(csv.reader(f))
    assert cells[1][0].startswith("'=") and cells[1][1] == "-0.25"  # what a spreadsheet sees
    back = read_csv_text(tmp_path / "m.csv")
    assert back["generator"].tolist() == frame["generator"].tolist() and back["auc"].tolist() == [-0.25, 0.5, 1.0]


def test_markdown_links_images_and_html_are_inert():
    cell = markdown_cell("[x](javascript:alert(1)) ![i](http://e/p.png) <img src=x onerror=alert(1)> a|b")
    assert "[" not in cell.replace("\\[", "") and "](" not in cell
    assert "<img" not in cell and "&lt;img" in cell and "a\\|b" in cell
    assert markdown_cell("gen\u202eelif.exe") == "gen\\\\u202eelif.exe"  # the escape's backslash is escaped
    assert markdown_cell("line\nbreak") == "line\\\\u000abreak"


@pytest.mark.parametrize("char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
                                  "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"])
def test_bidi_controls_are_shown_escaped(char):
    shown = show_controls(f"gen{char}elif.exe")
    assert char not in shown and shown == f"gen\\u{ord(char):04x}elif.exe"
    assert char not in html_text(f"<b>{char}</b>") and html_text("<b>").startswith("&lt;")


@pytest.mark.parametrize("name", NAMES + ["=cmd|' /C calc'!A0", "gen\u202eelif.exe"])
def test_names_survive_manifest_csv_and_parquet(tmp_path, name):
    rows = [dict(video_id=f"{name}/v{i}", path=str(tmp_path / f"v{i}.mp4"), label=i % 2,
                 generator=name if i % 2 else "real", split="test", source_id=name + str(i), dataset=name)
            for i in range(4)]
    frame = pd.DataFrame(rows)
    save_manifest(frame, tmp_path / "m.csv")
    if name.startswith("="):
        assert f",'{name[:4]}" in (tmp_path / "m.csv").read_text()  # neutralised on disk
    loaded = load_manifest(tmp_path / "m.csv")
    assert loaded.loc[1, "generator"] == name and loaded.loc[0, "dataset"] == name
    assert loaded["video_id"].tolist() == frame["video_id"].tolist()
    loaded.to_parquet(tmp_path / "m.parquet")
    assert pd.read_parquet(tmp_path / "m.parquet").loc[1, "generator"] == name
