"""Measurements behind docs/PERTURBATIONS.md: engine cost beside decoding, and CRF matching.

    python -m benchmark.perturb.cost costs [--repeats 3] [--out costs.csv]
    python -m benchmark.perturb.cost match [--clips 8]

Clips are camera-like renders from `benchmark.data.corpus_render` (the embedded corpus's own
renderer), encoded with its H.264 settings, so decoding and perturbing see realistic content.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

SHAPES = {"corpus 16x112x112": (16, 112, 112), "480p 64x480x854": (64, 480, 854)}


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB of uint8 arrays of one shape, over all their values (inf when equal)."""
    mse = float(np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def camera_clip(frames: int, height: int, width: int, seed: int) -> np.ndarray:
    """A camera-like clip, uint8 ``[frames, height, width, 3]`` (rendered square, centre-cut)."""
    from benchmark.data.corpus_render import add_sensor_noise, render_shot, sample_shot

    rng = np.random.default_rng(seed)
    side = max(height, width)
    clip = add_sensor_noise(render_shot(sample_shot(rng, frames, side), frames, side), rng)
    top, left = (side - height) // 2, (side - width) // 2
    return np.clip(clip[:, top: top + height, left: left + width] * 255 + 0.5, 0, 255).astype(np.uint8)


def _write(frames: np.ndarray, path: Path) -> Path:
    from benchmark.data.corpus_render import encode_mp4

    encode_mp4(frames.astype(np.float32) / 255.0, path, fps=30, crf=20)
    return path


def _timed(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of ``fn()``; CPU time is what other processes on the machine disturb least."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure_costs(names: Sequence[str] | None = None, level: int = 3, repeats: int = 3,
                  shapes: dict[str, tuple[int, int, int]] | None = None):
    """Seconds per video of decoding every frame and of each perturbation (one level), interleaved
    so that load from other processes hits all of them alike; the fastest of ``repeats`` runs (the
    one least disturbed), wall-clock and CPU time.

    Returns:
        A DataFrame: shape, what (``decode`` or a perturbation), wall and CPU seconds, and each as
        a ratio to decoding.
    """
    import pandas as pd

    from benchmark.data.video import open_video
    from benchmark.perturb.config import default_set, perturbation_rng
    from benchmark.perturb.engine import apply

    pset = default_set()
    names = list(names or pset.names())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, (t, h, w) in (shapes or SHAPES).items():
            path = str(_write(camera_clip(t, h, w, seed=1), Path(tmp) / f"{t}_{h}.mp4"))

            def decode() -> np.ndarray:
                video = open_video(path)
                try:
                    return video.read(range(video.num_frames))
                finally:
                    video.close()

            clean = decode()
            times: dict[str, list[tuple[float, float]]] = {"decode": []}
            for _ in range(repeats):
                times["decode"].append(_timed(decode))
                for name in names:
                    rng = perturbation_rng("cost", name, level)
                    times.setdefault(name, []).append(_timed(lambda: apply(clean, name, level, rng)))
            wall0, cpu0 = np.min(times["decode"], axis=0)
            for what, values in times.items():
                wall, cpu = np.min(values, axis=0)
                rows.append(dict(shape=label, what=what, wall_s=wall, wall_ratio=wall / wall0,
                                 cpu_s=cpu, cpu_ratio=cpu / cpu0))
    return pd.DataFrame(rows)


def match_quality(clips: Sequence[np.ndarray], reference: str = "h264",
                  targets: Sequence[str] = ("h265", "vp9")) -> dict[str, list[tuple[float, int, float]]]:
    """For each level of ``reference``, the CRF of each target codec whose mean PSNR is closest.

    Returns:
        target -> per level ``(reference PSNR, matched CRF, its PSNR)``.
    """
    from benchmark.perturb.codec import ENCODERS
    from benchmark.perturb.config import default_set
    from benchmark.perturb.engine import apply

    pset = default_set()

    def mean_psnr(fn) -> float:
        return float(np.mean([psnr(c, fn(c)) for c in clips]))

    ref = pset.get(reference)
    goals = [mean_psnr(lambda c, k=k: apply(c, reference, k, np.random.default_rng(0)))
             for k in range(1, len(ref.levels) + 1)]
    out = {}
    for target in targets:
        step = pset.get(target).steps(1)[0].kwargs
        codec = step["codec"]
        from benchmark.perturb.codec import reencode

        curve = {crf: mean_psnr(lambda c, q=crf: reencode(c, None, codec=codec, crf=q,
                                                          preset=step.get("preset")))
                 for crf in range(0, ENCODERS[codec].crf_max + 1)}
        out[target] = [(goal, *min(curve.items(), key=lambda kv: abs(kv[1] - goal))) for goal in goals]
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmark.perturb.cost")
    parser.add_argument("what", choices=("costs", "match"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--size", type=int, nargs=3, default=(16, 112, 112), metavar=("T", "H", "W"))
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.what == "costs":
        table = measure_costs(repeats=args.repeats)
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        if args.out:
            table.to_csv(args.out, index=False)
        return
    clips = [camera_clip(*args.size, seed=s) for s in range(args.clips)]
    for target, rows in match_quality(clips).items():
        for level, (goal, crf, value) in enumerate(rows, 1):
            print(f"{target} level {level}: h264 {goal:.2f} dB -> crf {crf} ({value:.2f} dB)")


if __name__ == "__main__":
    main()
