"""Helpers for tests of the runner's plumbing: placeholder data and a model that never decodes."""
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.runner import RunContext


def placeholder_manifest(tmp_path: Path, generators: list[str], per: int = 3, prefix: str = "",
                         **columns) -> Path:
    """A manifest of small placeholder files: ``2 * per`` real and ``per`` per generator, split
    train/val/test in turn; extra ``columns`` map a column name to a function of (gen, i).

    ``prefix`` starts every video id, source id and file content (several datasets side by side).
    """
    rows = []
    for n, gen in enumerate(["real", *generators]):
        for i in range(per * (2 if gen == "real" else 1)):
            path = tmp_path / "files" / f"{n}_{i}.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{prefix}{gen}/{i}".encode())
            row = {"video_id": f"{prefix}{gen}/{i}", "path": str(path), "label": int(gen != "real"),
                   "generator": gen, "split": ("train", "val", "test")[i % 3],
                   "source_id": f"{prefix}{gen}/{i}", "dataset": "toy"}
            row.update({key: fn(gen, i) for key, fn in columns.items()})
            rows.append(row)
    path = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def install_fake_model(monkeypatch, by_seed: bool = False) -> dict:
    """No decoding or training: scores are a seeded function of the unit; returns the call log.

    With ``by_seed`` they depend on the run's seed and config overrides too (seed groups).

    The fake detector is the number of classes asked for (None for binary); with
    ``class_probs`` each video gets seeded Dirichlet class probabilities. ``calls["rows"]`` holds
    each training's (train rows, validation rows, task).
    """
    calls = {"train": [], "predict": [], "rows": []}

    def train(self, detector, train_df, val_df, task="binary"):
        calls["train"].append(self.unit.name)
        calls["rows"].append((train_df.copy(), val_df.copy(), task))

    def predict(self, detector, frame, perturbation="none", severity=0, class_probs=False):
        calls["predict"].append(self.unit.name)
        key = [sum(map(ord, self.unit.name))]
        if by_seed:
            key += [self.seed, sum(map(ord, repr(sorted(self.request.cfg_options.items()))))]
        rng = np.random.default_rng(key)
        table = frame[["video_id", "dataset", "generator", "label", "split", "source_id"]].copy()
        table = table.reset_index(drop=True)
        table["score"] = np.clip(0.3 + 0.4 * table["label"] + rng.normal(0, 0.2, len(table)), 0, 1)
        if class_probs:
            probs = rng.dirichlet(np.ones(detector), len(table))  # [V, K]
            for k in range(detector):
                table[f"prob_{k}"] = probs[:, k]
            table["score"] = np.nan
        table["n_clips"], table["status"], table["error"] = 1, "ok", ""
        table["method"], table["config"], table["protocol"] = "sta", "mini", "cross_generator"
        table["seed"], table["unit"] = self.seed, self.unit.name
        table["perturbation"], table["severity"] = perturbation, severity
        return table

    monkeypatch.setattr(RunContext, "make_detector", lambda self, num_classes=None: num_classes)
    monkeypatch.setattr(RunContext, "train", train)
    monkeypatch.setattr(RunContext, "predict", predict)
    return calls


def assert_refused(capsys, argv: list[str], needles, out: Path, calls: dict) -> None:
    """``vbench`` with ``argv`` exits 2 with one ``vbench: error:`` line holding every needle,
    before any training and before the run store ``out`` is created."""
    from benchmark.cli import main

    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("vbench: error:") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    assert not calls["train"] and not out.exists()
