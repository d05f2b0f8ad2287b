"""The embedded corpus ``vbench-mini``: real-like and synthetic-artefact mp4 clips built on demand.

``build_corpus()`` renders camera moves over photographs that scikit-image ships, turns a share of
them into "generated" clips with one artefact family per generator, encodes everything with the
same H.264 settings and writes a manifest (see docs/ARCHITECTURE.md). The build is deterministic
per seed and happens once per cache folder. See ``benchmark/data/CORPUS.md`` for the design.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

# The cache machinery is shared with the other embedded corpora; re-exported for callers.
from benchmark.data.corpus_store import (MARKER, build_once, code_digest, default_cache_dir,
                                         is_complete, remove_stale_builds, run_jobs)
from benchmark.errors import DataError

DATASET = "vbench-mini"
VERSION = "v2"  # bump when any change alters the bytes a seed produces
N_REAL = 320
N_FAKE_PER_GENERATOR = 160
FRAMES = 8
SIZE = 64
FPS = 8
CRF = 20
SPLIT_FRACTIONS = {"train": 0.5, "val": 0.25, "test": 0.25}
MANIFEST = "manifest.csv"
STRENGTHS = "strengths.csv"  # video_id, generator, strength of every generated video
STRENGTH_COLUMNS = ("video_id", "generator", "strength")
MANIFEST_COLUMNS = ("video_id", "path", "label", "generator", "split", "source_id", "dataset")
REAL = "real"

CORPUS_GENERATORS: dict[str, str] = {
    "latent_ae": ("latent-diffusion VAE decode: detail lost at a 3-8x smaller latent, the "
                  "decoder's 8x8 grid, a colour bias"),
    "deconv_checkerboard": "transposed-conv 2x upsampling with uneven kernel overlap: checkerboard",
    "frame_interp": ("keyframes plus cross-faded in-between frames: ghosting, uneven noise in time, "
                     "the interpolator's 4x4 pattern on in-betweens"),
    "flicker": ("frames generated without temporal coupling: brightness, tint and texture jitter, "
                "a per-frame 8x8 decoder grid"),
    "oversmooth": ("over-eager denoiser/upscaler: sensor texture wiped, waxy flat surfaces, the "
                   "upscaler's 4x4 pattern"),
    "temporal_warp": ("smooth elastic deformation that wobbles over time: non-rigid shimmer, the "
                      "decoder's 4x4 grid"),
}


def check_fields(spec: object, checks: list[tuple[str, bool, str]]) -> None:
    """Raises DataError naming the first ``(field, ok, expected)`` check of ``spec`` that fails."""
    for field, ok, expected in checks:
        if not ok:
            got = getattr(spec, field)
            raise DataError(f"{type(spec).__name__}.{field}: expected {expected}, got {got!r}")


@dataclass(frozen=True)
class CorpusSpec:
    """Sizes and encoder settings of a build; the defaults are the published corpus.

    Attributes:
        n_real: real videos.
        n_fake_per_generator: videos per generator in :data:`CORPUS_GENERATORS`.
        frames: frames per video.
        size: frame height and width in pixels (even, for yuv420p).
        fps: frame rate written to the container.
        crf: x264 constant rate factor.
    """

    n_real: int = N_REAL
    n_fake_per_generator: int = N_FAKE_PER_GENERATOR
    frames: int = FRAMES
    size: int = SIZE
    fps: int = FPS
    crf: int = CRF

    def validate(self) -> None:
        """Raises DataError naming the first field that cannot produce a usable corpus."""
        need_splits = len(SPLIT_FRACTIONS)
        checks = [
            ("n_real", self.n_real >= need_splits, f"an int >= {need_splits} (one per split)"),
            ("n_fake_per_generator", self.n_fake_per_generator >= need_splits,
             f"an int >= {need_splits} (one per split)"),
            ("frames", self.frames >= 2, "an int >= 2"),
            ("size", self.size >= 16 and self.size % 2 == 0, "an even int >= 16 (yuv420p)"),
            ("fps", self.fps >= 1, "an int >= 1"),
            ("crf", 0 <= self.crf <= 51, "an int in [0, 51]"),
        ]
        check_fields(self, checks)

    def digest(self, seed: int) -> str:
        """sha256 of everything that determines the bytes of a build."""
        spec = {"dataset": DATASET, "version": VERSION, "seed": seed, **asdict(self),
                "generators": sorted(CORPUS_GENERATORS), "splits": SPLIT_FRACTIONS,
                "code": _render_code_digest()}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class VideoJob:
    """One video to render: its group (``real`` or a generator), index within the group and seed."""

    group: str
    index: int
    seed: int
    spec: CorpusSpec

    @property
    def video_id(self) -> str:
        return f"videos/{self.group}/{self.group}_{self.index:04d}"

    def rng_key(self) -> list[int]:
        """Seed material: independent of job order, worker count and the other groups' sizes."""
        return [self.seed, zlib.crc32(self.group.encode()), self.index]


def _render_code_digest() -> str:
    """sha256 of the rendering code, so a cached corpus built by older generators is rebuilt."""
    here = Path(__file__).resolve().parent
    return code_digest(here / "corpus_render.py", here / "corpus_generators.py")


def corpus_dir(root: Path, seed: int, spec: CorpusSpec) -> Path:
    """Folder of one build; non-default specs get a digest suffix so they never collide."""
    name = f"{DATASET}-{VERSION}-seed{seed}"
    if spec != CorpusSpec():
        name += f"-{spec.digest(seed)[:10]}"
    return Path(root) / name


def build_corpus(root: Path | None = None, seed: int = 0, force: bool = False,
                 progress: bool = True, workers: int = 2, spec: CorpusSpec | None = None) -> Path:
    """Builds vbench-mini once and returns the path of its ``manifest.csv``.

    The corpus goes to ``root / f"vbench-mini-{VERSION}-seed{seed}"``. A finished folder (its marker file
    holds the digest of this build's spec) is returned at once. Otherwise the corpus is built in a
    temporary sibling folder that replaces the final one only when complete, so an interrupted
    build never leaves a half corpus.

    Args:
        root: cache folder; ``default_cache_dir()`` if None.
        seed: corpus seed; the same seed gives byte-identical files.
        force: rebuild even when a finished corpus exists.
        progress: show a tqdm progress bar.
        workers: encoder processes (each encoder itself runs on one thread).
        spec: sizes and encoder settings; ``CorpusSpec()`` (the published corpus) if None.

    Returns:
        Path to ``manifest.csv``; its ``path`` column is relative to the manifest's folder.

    Note:
        Workers are spawned, so a script that calls this at import time needs an
        ``if __name__ == "__main__":`` guard, as with any spawn-based pool.
    """
    spec = spec or CorpusSpec()
    spec.validate()
    for name, value in (("seed", seed), ("workers", workers)):
        low = 0 if name == "seed" else 1
        if not isinstance(value, int) or value < low:
            raise DataError(f"build_corpus({name}=...): expected an int >= {low}, got {value!r}")
    root = Path(root).expanduser() if root is not None else default_cache_dir()
    final = build_once(corpus_dir(root, seed, spec), spec.digest(seed),
                       lambda staging: _build_into(staging, seed, spec, workers, progress), force)
    return final / MANIFEST


def plan_videos(seed: int, spec: CorpusSpec) -> list[VideoJob]:
    """Every video of a build: ``n_real`` real ones, then ``n_fake_per_generator`` per generator."""
    sizes = {REAL: spec.n_real, **{name: spec.n_fake_per_generator for name in CORPUS_GENERATORS}}
    return [VideoJob(group, index, seed, spec) for group, count in sizes.items()
            for index in range(count)]


def render_video(job: VideoJob, folder: Path) -> dict[str, str]:
    """Renders and encodes one video under ``folder``; returns its manifest row but the split."""
    import numpy as np

    from benchmark.data.corpus_generators import GENERATOR_FUNCTIONS, real_camera, strength
    from benchmark.data.corpus_render import encode_mp4, render_shot, sample_shot

    rng = np.random.default_rng(job.rng_key())
    shot = sample_shot(rng, job.spec.frames, job.spec.size)
    clean = render_shot(shot, job.spec.frames, job.spec.size)  # [T, H, W, 3] float32
    s = strength(rng) if job.group != REAL else 0.0  # drawn for fakes only: reals keep their draws
    frames = GENERATOR_FUNCTIONS.get(job.group, real_camera)(clean, rng, s)
    path = f"{job.video_id}.mp4"
    (folder / path).parent.mkdir(parents=True, exist_ok=True)
    encode_mp4(frames, folder / path, job.spec.fps, job.spec.crf)
    return {"video_id": job.video_id, "path": path, "label": str(int(job.group != REAL)),
            "generator": job.group, "source_id": f"{job.group}_{job.index:04d}-{shot.photo}",
            "dataset": DATASET, "strength": f"{s:.4f}"}


def _build_into(folder: Path, seed: int, spec: CorpusSpec, workers: int, progress: bool) -> None:
    """Renders every video into ``folder`` and writes ``manifest.csv`` and ``spec.json``."""
    import pandas as pd

    from benchmark.data.manifest import assign_splits, save_manifest

    rows = run_jobs(render_video, plan_videos(seed, spec), folder, workers, progress,
                    f"building {DATASET}")
    # Every video is its own source, so the shared assigner stratifies per group (generator).
    frame = pd.DataFrame(sorted(rows, key=lambda r: r["video_id"]))
    frame = assign_splits(frame, fractions=tuple(SPLIT_FRACTIONS.values()), seed=seed)
    save_manifest(frame[list(MANIFEST_COLUMNS)], folder / MANIFEST)
    # Strengths stay out of the manifest (no detector may see them); analyses read them from here.
    fakes = frame[frame["generator"] != REAL]
    fakes[list(STRENGTH_COLUMNS)].to_csv(folder / STRENGTHS, index=False, lineterminator="\n")
    about = {"dataset": DATASET, "version": VERSION, "seed": seed, "spec": asdict(spec),
             "generators": CORPUS_GENERATORS, "digest": spec.digest(seed)}
    (folder / "spec.json").write_text(json.dumps(about, indent=2, sort_keys=True) + "\n")
