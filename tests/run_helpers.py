"""Helpers for tests of the runner's plumbing: placeholder data and a model that never decodes."""
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.runner import RunContext


def placeholder_manifest(tmp_path: Path, generators: list[str], per: int = 3, **columns) -> Path:
    """A manifest of small placeholder files: ``2 * per`` real and ``per`` per generator, split
    train/val/test in turn; extra ``columns`` map a column name to a function of (gen, i)."""
    rows = []
    for n, gen in enumerate(["real", *generators]):
        for i in range(per * (2 if gen == "real" else 1)):
            path = tmp_path / "files" / f"{n}_{i}.mp4"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(f"{gen}/{i}".encode())
            row = {"video_id": f"{gen}/{i}", "path": str(path), "label": int(gen != "real"),
                   "generator": gen, "split": ("train", "val", "test")[i % 3],
                   "source_id": f"{gen}/{i}", "dataset": "toy"}
            row.update({key: fn(gen, i) for key, fn in columns.items()})
            rows.append(row)
    path = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def install_fake_model(monkeypatch) -> dict:
    """No decoding or training: scores are a seeded function of the unit; returns the call log."""
    calls = {"train": [], "predict": []}

    def predict(self, detector, frame, perturbation="none", severity=0):
        calls["predict"].append(self.unit.name)
        rng = np.random.default_rng(sum(map(ord, self.unit.name)))
        table = frame[["video_id", "dataset", "generator", "label", "split", "source_id"]].copy()
        table = table.reset_index(drop=True)
        table["score"] = np.clip(0.3 + 0.4 * table["label"] + rng.normal(0, 0.2, len(table)), 0, 1)
        table["n_clips"], table["status"], table["error"] = 1, "ok", ""
        table["method"], table["config"], table["protocol"] = "sta", "mini", "cross_generator"
        table["seed"], table["unit"] = self.seed, self.unit.name
        table["perturbation"], table["severity"] = perturbation, severity
        return table

    monkeypatch.setattr(RunContext, "make_detector", lambda self: None)
    monkeypatch.setattr(RunContext, "train", lambda self, *a: calls["train"].append(self.unit.name))
    monkeypatch.setattr(RunContext, "predict", predict)
    return calls
