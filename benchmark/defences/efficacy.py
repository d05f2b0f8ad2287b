"""The computations of the ``protection_efficacy`` protocol for image protections (MMVGM's).

The defence is a `benchmark.defence.ImageProtection`: it supplies its targets, its evaluation
images and its protected images; everything measured here is shared by every such defence.

`protection_setup` builds what every setting shares (target, transfer target, images, the directed
target image, clean videos, the pipeline's detector); `score_setting` protects the images with one
setting and returns a tidy table, one row per (image, condition, model):

* condition: ``none`` or a degradation applied to the protected image before generation
  (`benchmark.defences.degrade`: JPEG, resize, blur);
* model: ``attacked`` (the target the protection was computed on) or ``transfer`` (another
  target it never saw; condition ``none`` only).

Columns: the runner's standard score columns (``score`` = the detector's P(generated) of the video
generated from that image) and the protocol's own: imperceptibility (``psnr``, ``ssim``,
``perceptual`` and its name, ``linf_255``, ``l2``), conditioning shifts (``embed_cos_orig``,
``embed_cos_target``, ``latent_cos_orig``, ``latent_cos_target``: cosine of the (degraded) protected
image's embedding / noise-free latent to the clean image's and to the target image's), video
departure from the clean image's video (``video_psnr``, ``video_ssim``, ``video_mae``), temporal
consistency (``tc_clean``, ``tc_protected``), the same departure for the degradation alone on the
clean image (``baseline_video_ssim``), the detector's decision (``flagged``, ``clean_score``, and
its AUC on its own held-out clips, ``detector_test_auc``) and an
example strip (``thumb``, base64 PNG, for the first images). `protection_metrics` summarises it.
A ``random`` setting (random ±eps signs) is the control: same budget, no optimisation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

DATASET = "vbench-mini-stills"
MEASURES = ("psnr", "ssim", "perceptual", "linf_255", "l2", "embed_cos_orig", "embed_cos_target",
            "latent_cos_orig", "latent_cos_target", "video_psnr", "video_ssim", "video_mae",
            "tc_clean", "tc_protected", "baseline_video_ssim", "score", "clean_score")


@dataclass
class ProtectionSetup:
    """What every protection setting of one run shares."""

    defence: Any                  # a `benchmark.defence.ImageProtection`
    names: list[str]
    images: torch.Tensor          # [N, 3, S, S] in [0, 1]
    references: torch.Tensor      # the directed target image, [N, 3, S, S]
    detector: Any                 # a `benchmark.defences.video_detector.VideoDetector`
    seed: int = 0
    models: dict[str, Any] = field(default_factory=dict)   # "attacked"/"transfer" -> target
    clean: dict[str, dict[str, Any]] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)


def _cos(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    return F.cosine_similarity(a.flatten(1), b.flatten(1), dim=1).numpy()


def _conditioning(target, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Embedding and noise-free latent (measurements use no noise augmentation)."""
    with torch.no_grad():
        return target.embed(images), target.encode(images * 2 - 1)


def protection_setup(defence, count: int = 0, seed: int = 0, detector: str = "mmvgm_mae:mini",
                     detector_clips: int = 60, detector_epochs: int = 20) -> ProtectionSetup:
    """Images, targets, clean videos and the trained detector for one run (see module docstring).

    Args:
        defence: a `benchmark.defence.ImageProtection`.
        count: images to protect (0: the config's ``images.count``).
        seed: seeds generation and the detector.
        detector: ``method:config`` of the pipeline's detector.
        detector_clips, detector_epochs: its training clips per class and epochs.
    """
    from benchmark.defences.images import match_size, prepare_images, rgb_array, to_tensor
    from benchmark.defences.video_detector import train_video_detector
    from benchmark.generation.stills import evaluation_stills

    default_count, target_photo = defence.evaluation_images()
    target = defence.target()
    stills = evaluation_stills(count or default_count, exclude=(target_photo,))
    images = prepare_images(list(stills.values()), target.size_rule, list(stills))
    photo = evaluation_stills(len(stills) + 16)[target_photo]
    references, resized = match_size(to_tensor(rgb_array(photo, target_photo))[None], images)
    method, _, config = detector.partition(":")
    trained = train_video_detector(target, method, config or "mini", detector_clips,
                                   detector_epochs, seed)
    setup = ProtectionSetup(defence, list(stills), images, references, trained, seed,
                            {"attacked": target})
    if defence.transfer_target() is not None:
        setup.models["transfer"] = defence.transfer_target()
    for model, t in setup.models.items():
        video = t.generate(images, seed=seed)
        setup.clean[model] = {"video": video, "conditioning": _conditioning(t, images),
                              "target_conditioning": _conditioning(t, references),
                              "score": trained.scores(video)}
    setup.record = {"images": list(stills), "target_photo": target_photo,
                    "target_resized": resized, "detector": trained.info,
                    "models": {m: t.describe() for m, t in setup.models.items()}}
    return setup


def protected(setup: ProtectionSetup, mode: str, eps: Any, steps: int = 0
              ) -> tuple[torch.Tensor, dict[str, Any]]:
    """The images protected by one setting (``random`` = the random-sign control)."""
    return setup.defence.protected(setup.images, setup.references, mode, eps, steps, setup.seed)


def _imperceptibility(clean: torch.Tensor, images: torch.Tensor, perceptual) -> dict[str, np.ndarray]:
    from benchmark.defences.quality import psnr, ssim

    delta = (images - clean).flatten(1)
    with torch.no_grad():
        return {"psnr": psnr(clean, images).clamp_max(100).numpy(), "ssim": ssim(clean, images).numpy(),
                "perceptual": perceptual(images, clean).numpy(),
                "linf_255": (delta.abs().max(1).values * 255).numpy(), "l2": delta.norm(dim=1).numpy()}


def _effects(setup: ProtectionSetup, model: str, images: torch.Tensor) -> dict[str, np.ndarray]:
    """Conditioning shifts, video departure and the detector's scores for images on one model."""
    from benchmark.defences.quality import temporal_consistency, video_departure

    target, clean = setup.models[model], setup.clean[model]
    emb, lat = _conditioning(target, images)
    (emb0, lat0), (emb_t, lat_t) = clean["conditioning"], clean["target_conditioning"]
    video = target.generate(images, seed=setup.seed)
    departure = video_departure(clean["video"], video)
    return {"embed_cos_orig": _cos(emb, emb0), "embed_cos_target": _cos(emb, emb_t),
            "latent_cos_orig": _cos(lat, lat0), "latent_cos_target": _cos(lat, lat_t),
            "video_psnr": departure["psnr"].numpy(), "video_ssim": departure["ssim"].numpy(),
            "video_mae": departure["frame_mae"].numpy(),
            "tc_clean": temporal_consistency(clean["video"]).numpy(),
            "tc_protected": temporal_consistency(video).numpy(),
            "score": setup.detector.scores(video), "clean_score": clean["score"], "_video": video}


def _conditions(degradations: list[tuple[str, float]]) -> list[tuple[str, float]]:
    return [("none", 0.0), *degradations]


def score_setting(setup: ProtectionSetup, setting: dict[str, Any],
                  degradations: list[tuple[str, float]], examples: int = 3) -> pd.DataFrame:
    """One setting's tidy table (see the module docstring).

    Args:
        setup: from `protection_setup`.
        setting: ``{"name", "mode" (directed/undirected/random), "eps", "steps"}``.
        degradations: ``[(kind, level), ...]`` applied before generation.
        examples: images that get an example strip.
    """
    from benchmark.defences.degrade import degrade
    from benchmark.defences.perceptual import build_perceptual

    images, record = protected(setup, setting["mode"], setting["eps"], setting.get("steps", 0))
    perceptual = build_perceptual(setup.defence.perceptual_name())
    base = _imperceptibility(setup.images, images, perceptual)
    parts = []
    for kind, level in _conditions(degradations):
        seen = images if kind == "none" else degrade(images, kind, level)
        models = setup.models if kind == "none" else {"attacked": setup.models["attacked"]}
        for model in models:
            effects = _effects(setup, model, seen)
            baseline = _baseline_ssim(setup, model, kind, level)
            thumbs = _thumbs(setup, images, effects["_video"], model, examples) if kind == "none" \
                else [""] * len(images)
            parts.append(_frame(setup, setting, record, perceptual, base, effects, baseline,
                                model, kind, level, thumbs))
    return pd.concat(parts, ignore_index=True)


def _baseline_ssim(setup: ProtectionSetup, model: str, kind: str, level: float) -> np.ndarray:
    """Video SSIM to the clean video when only the degradation is applied to the clean image."""
    from benchmark.defences.degrade import degrade
    from benchmark.defences.quality import video_departure

    if kind == "none":
        return np.ones(len(setup.images))
    target = setup.models[model]
    video = target.generate(degrade(setup.images, kind, level), seed=setup.seed)
    return video_departure(setup.clean[model]["video"], video)["ssim"].numpy()


def _frame(setup, setting, record, perceptual, base, effects, baseline, model, kind, level, thumbs):
    frame = pd.DataFrame({
        "video_id": [f"{name}|{setting['name']}|{kind}:{level:g}|{model}" for name in setup.names],
        "dataset": DATASET, "generator": setup.models[model].name, "label": 1, "split": "test",
        "source_id": setup.names, "n_clips": 1, "status": "ok", "error": "",
        "perturbation": kind, "severity": float(level), "setting": setting["name"],
        "mode": setting["mode"], "eps_01": float(record["config"]["eps_01"]),
        "steps": int(record["config"]["steps"]) if setting["mode"] != "random" else 0,
        "image": setup.names, "model": model,
        "perceptual_name": perceptual.name if record.get("perceptual") is None else record["perceptual"],
        "baseline_video_ssim": baseline, "flagged": effects["score"] >= setup.detector.threshold,
        "detector_threshold": setup.detector.threshold,
        "detector_test_auc": setup.detector.info.get("test_auc", np.nan), "thumb": thumbs})
    for key in MEASURES:
        if key in base:
            frame[key] = base[key]
        elif key in effects:
            frame[key] = effects[key]
    return frame


def _thumbs(setup, images, video, model, examples: int) -> list[str]:
    """Base64 PNG strips: clean | protected | amplified difference | clean video | protected video
    (first, middle, last frames), 2x nearest, for the first ``examples`` images."""
    import base64

    import cv2

    clean_video = setup.clean[model]["video"]
    out = []
    for i in range(len(images)):
        if i >= examples:
            out.append("")
            continue
        diff = ((images[i] - setup.images[i]).abs() / max(float((images[i] - setup.images[i])
                                                                .abs().max()), 1e-6))
        t = video.shape[2]
        frames = [setup.images[i], images[i], diff] + [clean_video[i, :, j] for j in (0, t // 2, t - 1)] \
            + [video[i, :, j] for j in (0, t // 2, t - 1)]
        strip = torch.cat([f.clamp(0, 1) for f in frames], dim=2)             # [3, S, 9S]
        array = (strip.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        array = np.repeat(np.repeat(array, 2, 0), 2, 1)
        ok, png = cv2.imencode(".png", np.ascontiguousarray(array[..., ::-1]))
        out.append(base64.b64encode(png.tobytes()).decode() if ok else "")
    return out


GROUP = ["setting", "mode", "eps_01", "model", "perturbation", "severity"]
PROTECTING = ("directed", "undirected")


def _mean(frame: pd.DataFrame, column: str) -> float | None:
    values = frame[column].astype(float)
    return float(values.mean()) if len(values) else None


def group_rows(table: pd.DataFrame) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """The (setting, model, condition) groups of a protection table: the row keys and the
    group's per-image rows (one per image)."""
    return [(dict(zip(GROUP, key)), part) for key, part in table.groupby(GROUP, sort=False)]


def protection_metrics(table: pd.DataFrame) -> dict[str, Any]:
    """Means per (setting, model, condition) and the summary, from `score_setting` tables alone.

    Summary: ``efficacy`` (mean 1 - video SSIM of videos from protected images vs clean ones,
    attacked model, no degradation), the same for the random control and their ratio, the
    embedding shift beyond random (directed: towards the target; undirected: away from the
    original), imperceptibility (PSNR, SSIM, the perceptual term), detection rates, transfer, and
    per degradation the departure left beyond what the degradation alone causes.
    """
    from benchmark.defences.efficacy_intervals import protection_intervals

    rows, groups = [], group_rows(table)
    for row, part in groups:
        row.update({"n_images": len(part), "flagged_rate": float(part["flagged"].mean()),
                    "detector_test_auc": float(part["detector_test_auc"].iloc[0]),
                    "clean_flagged_rate": float((part["clean_score"] >= part["detector_threshold"])
                                                .mean()),
                    **{m: _mean(part, m) for m in MEASURES}})
        row["video_departure"] = 1 - row["video_ssim"]
        row["departure_beyond_degradation"] = row["baseline_video_ssim"] - row["video_ssim"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    return {"task": "protection", "rows": rows, "summary": protection_summary(frame),
            **protection_intervals(table, groups, frame, MEASURES, protection_summary),
            "examples": _examples(table)}


def protection_summary(frame: pd.DataFrame, mean=_mean) -> dict[str, Any]:
    """The summary of the group rows ``frame``; ``mean(rows, column)`` averages a column over a
    subset of them (the point value, or, `benchmark.defences.efficacy_intervals`, the subset's
    bootstrap replicates ``[B]``; None for an empty subset)."""
    plain = frame[(frame["perturbation"] == "none")]
    attacked = plain[plain["model"] == "attacked"]
    prot, rand = attacked[attacked["mode"].isin(PROTECTING)], attacked[attacked["mode"] == "random"]
    directed, undirected = attacked[attacked["mode"] == "directed"], attacked[attacked["mode"] == "undirected"]
    transfer = plain[(plain["model"] == "transfer") & plain["mode"].isin(PROTECTING)]
    degraded = frame[(frame["perturbation"] != "none") & frame["mode"].isin(PROTECTING)]
    efficacy, control = mean(prot, "video_departure"), mean(rand, "video_departure")
    return {
        "efficacy": efficacy, "random_departure": control,
        "efficacy_over_random": _ratio(efficacy, control),
        "embed_toward_target_beyond_random": _diff(directed, rand, "embed_cos_target", mean),
        "embed_away_beyond_random": _diff(rand, undirected, "embed_cos_orig", mean),
        "psnr": mean(prot, "psnr"), "ssim": mean(prot, "ssim"),
        "perceptual": mean(prot, "perceptual"), "linf_255": mean(prot, "linf_255"),
        "flagged_rate_protected": mean(prot, "flagged_rate"),
        "flagged_rate_clean": mean(prot, "clean_flagged_rate"),
        "transfer_departure": mean(transfer, "video_departure"),
        "transfer_departure_random": mean(plain[(plain["model"] == "transfer")
                                                & (plain["mode"] == "random")], "video_departure"),
        "degraded_departure_beyond_degradation": mean(degraded, "departure_beyond_degradation"),
        "detector_test_auc": mean(attacked, "detector_test_auc"),
    }


def _ratio(a, b):
    """a / b; None where either is missing or b is 0 (NaN per replicate for arrays)."""
    if a is None or b is None:
        return None
    if isinstance(b, np.ndarray):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)
    return a / b if b else None


def _diff(a: pd.DataFrame, b: pd.DataFrame, column: str, mean=_mean):
    if not len(a) or not len(b):
        return None
    return mean(a, column) - mean(b, column)


def _examples(table: pd.DataFrame) -> list[dict[str, str]]:
    shown = table[(table["thumb"] != "") & (table["model"] == "attacked")
                  & (table["perturbation"] == "none")]
    return [{"setting": r.setting, "image": r.image, "png": r.thumb}
            for r in shown.itertuples(index=False)]
