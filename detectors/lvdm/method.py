"""LVDM as a vbench defence: x̂0 trajectories → (category, step) detectors → early-exit rule.

`LVDM` is built from a config (``configs/{mini,paper}.yaml``, see the README card) and is meant to
be driven step by step by the ``protection_efficacy`` protocol (or a notebook)::

    lvdm = build_defence("lvdm", "mini")
    steps = lvdm.prepare(work_dir)             # step table (embedded stand-in or upstream folders)
    trained = lvdm.fit(steps)                  # one detector per (category, step)
    scores = lvdm.score(steps, trained)        # test videos × steps, OR-flags
    table = lvdm.sweep(scores)                 # (η, λ) table beside the last-step baseline
    stops = lvdm.guard_runs(trained, work_dir) # the online guard on fresh generations
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.defence import GenerationGuard
from benchmark.errors import DefenceConfigError
from detectors.lvdm import data as lvdm_data
from detectors.lvdm.config import LVDMConfig
from detectors.lvdm.efficacy import lvdm_metrics, score_lvdm
from detectors.lvdm.rule import check_rule, sweep
from detectors.lvdm.train import StepDetector, detector_config, step_scores, train_step_detectors

SOURCES = ("embedded", "upstream")


class LVDM(GenerationGuard):
    """The Latent Variable Defence Mechanism (arXiv 2407.12581).

    Args:
        config: ``data`` (``source: embedded`` with an ``embedded`` spec, or ``source: upstream``
            with ``categories`` {name: folder}, ``normal`` folder and ``steps``), ``detector``
            (method, config, overrides), ``rule`` (eta, lambda, sweep etas/lambdas, balance), ``seed``.
    """

    config_schema = LVDMConfig

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        source = self.config.get("data", {}).get("source")
        if source not in SOURCES:
            raise DefenceConfigError(f"lvdm config {config.get('name')}: data.source must be one of "
                                     f"{SOURCES}, got {source!r}")
        rule = self.config["rule"]
        check_rule(rule["eta"], rule["lambda"], self.num_steps)
        self.detector_cfg = detector_config(self.config["detector"])
        self.seed = int(self.config.get("seed", 0))

    @property
    def embedded(self) -> lvdm_data.EmbeddedSpec:
        return lvdm_data.EmbeddedSpec.from_dict(self.config["data"].get("embedded", {}))

    @property
    def num_steps(self) -> int:
        data = self.config["data"]
        return self.embedded.steps if data["source"] == "embedded" else int(data.get("steps", 50))

    @property
    def categories(self) -> list[str]:
        data = self.config["data"]
        return sorted(self.embedded.categories if data["source"] == "embedded" else data["categories"])

    def prepare(self, work_dir: str | Path) -> pd.DataFrame:
        """The step table: generates and materialises the embedded trajectories, or reads upstream's."""
        data, work_dir = self.config["data"], Path(work_dir)
        if data["source"] == "upstream":
            return lvdm_data.upstream_step_table(data["categories"], data["normal"], self.num_steps)
        videos = lvdm_data.generate_trajectories(self.embedded, work_dir / "x0")
        return lvdm_data.materialize_steps(videos, work_dir / "steps", self.num_steps)

    def fit(self, steps: pd.DataFrame, progress: bool = False) -> dict[tuple[str, int], StepDetector]:
        return train_step_detectors(steps, self.categories, self.num_steps, self.detector_cfg,
                                    self.seed, progress, self.config["rule"].get("threshold", 0.5))

    def score(self, steps: pd.DataFrame, trained: dict, split: str = "test") -> pd.DataFrame:
        return step_scores(steps, trained, self.detector_cfg, split)

    def sweep(self, scores: pd.DataFrame) -> pd.DataFrame:
        rule = self.config["rule"]
        return sweep(scores, list(rule["sweep"]["etas"]), list(rule["sweep"]["lambdas"]),
                     bool(rule.get("balance", True)))

    def guard(self, trained: dict, eta: int | None = None, lam: float | None = None, decode=None):
        """An `LVDMGuard` over the trained detectors (the config's η, λ unless given)."""
        from benchmark.detector import build_detector
        from detectors.lvdm.guard import LVDMGuard, detector_flag_fn

        rule = self.config["rule"]
        detector = build_detector(self.detector_cfg["method"], self.detector_cfg)
        flag_fn = detector_flag_fn(detector, trained, decode)
        return LVDMGuard(flag_fn, eta or rule["eta"], lam or rule["lambda"], self.num_steps)

    def guard_runs(self, trained: dict, videos: pd.DataFrame) -> pd.DataFrame:
        """Regenerates ``videos`` (embedded: same prompt and seed) under the online guard.

        Returns:
            One row per video: ``video_id, label, stopped, stop_step, reason``.
        """
        import torch

        from detectors.lvdm.guard import guarded_generate

        if self.config["data"]["source"] != "embedded":
            raise DefenceConfigError("lvdm guard runs need a live pipeline: data.source embedded")
        pipe, photos = lvdm_data.build_pipeline(self.embedded)
        guard, rows = self.guard(trained), []
        for video in videos.itertuples(index=False):
            latents = lvdm_data.initial_latents(self.embedded, video.video_id)
            _, decision = guarded_generate(pipe, guard, prompt_ids=[photos.index(video.prompt)],
                                           num_inference_steps=self.num_steps, latents=latents)
            rows.append({"video_id": video.video_id, "label": video.label,
                         "stopped": decision.stopped, "stop_step": decision.stop_step,
                         "reason": decision.reason})
        return pd.DataFrame(rows)

    def score_table(self, progress: bool = False) -> pd.DataFrame:
        """One row per (test video, step) of the whole method (`efficacy.score_lvdm`)."""
        return score_lvdm(self, progress)

    @classmethod
    def metrics(cls, table: pd.DataFrame, options: dict[str, Any]) -> dict[str, Any]:
        """The protocol options ``etas`` and ``lambdas`` span the sweep (`efficacy.lvdm_metrics`)."""
        return lvdm_metrics(table, [int(e) for e in options["etas"]],
                            [float(v) for v in options["lambdas"]])

    def record(self) -> dict[str, Any]:
        rec = {"config": self.config, "detector_config": self.detector_cfg.get("name"),
               "steps": self.num_steps, "categories": self.categories}
        if self.config["data"]["source"] == "embedded":
            rec["embedded"] = lvdm_data.spec_record(self.embedded)
        return rec
