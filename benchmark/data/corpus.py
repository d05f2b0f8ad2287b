"""The embedded corpus ``vbench-mini``: real-like and synthetic-artefact mp4 clips built on demand.

``build_corpus()`` renders camera moves over photographs that scikit-image ships, turns a share of
them into "generated" clips with one artefact family per generator, encodes everything with the
same H.264 settings and writes a manifest (see docs/ARCHITECTURE.md). The build is deterministic
per seed and happens once per cache folder. See ``benchmark/data/CORPUS.md`` for the design.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmark.errors import DataError

DATASET = "vbench-mini"
VERSION = "v1"  # bump when any change alters the bytes a seed produces
N_REAL = 120
N_FAKE_PER_GENERATOR = 40
FRAMES = 16
SIZE = 112
FPS = 8
CRF = 20
SPLIT_FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}
MANIFEST = "manifest.csv"
MARKER = ".complete"  # written last; holds the digest of the build spec
MANIFEST_COLUMNS = ("video_id", "path", "label", "generator", "split", "source_id", "dataset")
REAL = "real"

CORPUS_GENERATORS: dict[str, str] = {
    "latent_ae": "latent-diffusion VAE decode: detail lost at a 3-6x smaller latent, colour cast",
    "deconv_checkerboard": "transposed-conv 2x upsampling with uneven kernel overlap: checkerboard",
    "frame_interp": "keyframes plus cross-faded in-between frames: ghosting, uneven noise in time",
    "flicker": "frames generated without temporal coupling: brightness, tint and texture jitter",
    "oversmooth": "over-eager denoiser/upscaler: sensor texture wiped, waxy flat surfaces",
    "temporal_warp": "smooth elastic deformation that wobbles over time: non-rigid shimmer",
}


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
        for field, ok, expected in checks:
            if not ok:
                got = getattr(self, field)
                raise DataError(f"CorpusSpec.{field}: expected {expected}, got {got!r}")

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
    digest = hashlib.sha256()
    for name in ("corpus_render.py", "corpus_generators.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """``$VBENCH_CACHE`` if set, else ``~/.cache/vbench``."""
    env = os.environ.get("VBENCH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vbench"


def corpus_dir(root: Path, seed: int, spec: CorpusSpec) -> Path:
    """Folder of one build; non-default specs get a digest suffix so they never collide."""
    name = f"{DATASET}-{VERSION}-seed{seed}"
    if spec != CorpusSpec():
        name += f"-{spec.digest(seed)[:10]}"
    return Path(root) / name


def build_corpus(root: Path | None = None, seed: int = 0, force: bool = False,
                 progress: bool = True, workers: int = 2, spec: CorpusSpec | None = None) -> Path:
    """Builds vbench-mini once and returns the path of its ``manifest.csv``.

    The corpus goes to ``root / f"vbench-mini-v1-seed{seed}"``. A finished folder (its marker file
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
    final, digest = corpus_dir(root, seed, spec), spec.digest(seed)
    if not force and is_complete(final, digest):
        return final / MANIFEST
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(root)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".partial",
                                    dir=root))
    try:
        _build_into(staging, seed, spec, workers, progress)
        (staging / MARKER).write_text(digest + "\n")
        _publish(staging, final, digest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final / MANIFEST


def remove_stale_builds(root: Path) -> list[Path]:
    """Deletes ``.<name>.<pid>.<random>.partial`` folders whose building process is gone (a killed
    build); a build still running in another process keeps its folder."""
    removed = []
    for folder in Path(root).glob(".*.partial"):
        parts = folder.name.split(".")
        pid = int(parts[-3]) if len(parts) >= 4 and parts[-3].isdigit() else None
        if pid is not None and pid != os.getpid() and _alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def is_complete(folder: Path, digest: str) -> bool:
    """True when ``folder`` holds a finished build whose marker matches ``digest``."""
    marker = Path(folder) / MARKER
    return marker.is_file() and marker.read_text().strip() == digest


def plan_videos(seed: int, spec: CorpusSpec) -> list[VideoJob]:
    """Every video of a build: ``n_real`` real ones, then ``n_fake_per_generator`` per generator."""
    sizes = {REAL: spec.n_real, **{name: spec.n_fake_per_generator for name in CORPUS_GENERATORS}}
    return [VideoJob(group, index, seed, spec) for group, count in sizes.items()
            for index in range(count)]


def render_video(job: VideoJob, folder: Path) -> dict[str, str]:
    """Renders and encodes one video under ``folder``; returns its manifest row but the split."""
    import numpy as np

    from benchmark.data.corpus_generators import GENERATOR_FUNCTIONS, real_camera
    from benchmark.data.corpus_render import encode_mp4, render_shot, sample_shot

    rng = np.random.default_rng(job.rng_key())
    shot = sample_shot(rng, job.spec.frames, job.spec.size)
    clean = render_shot(shot, job.spec.frames, job.spec.size)  # [T, H, W, 3] float32
    frames = GENERATOR_FUNCTIONS.get(job.group, real_camera)(clean, rng)
    path = f"{job.video_id}.mp4"
    (folder / path).parent.mkdir(parents=True, exist_ok=True)
    encode_mp4(frames, folder / path, job.spec.fps, job.spec.crf)
    return {"video_id": job.video_id, "path": path, "label": str(int(job.group != REAL)),
            "generator": job.group, "source_id": f"{job.group}_{job.index:04d}-{shot.photo}",
            "dataset": DATASET}


def _build_into(folder: Path, seed: int, spec: CorpusSpec, workers: int, progress: bool) -> None:
    """Renders every video into ``folder`` and writes ``manifest.csv`` and ``spec.json``."""
    import pandas as pd

    from benchmark.data.manifest import assign_splits, save_manifest

    rows = _render_all(plan_videos(seed, spec), folder, workers, progress)
    # Every video is its own source, so the shared assigner stratifies per group (generator).
    frame = pd.DataFrame(sorted(rows, key=lambda r: r["video_id"]))
    frame = assign_splits(frame, fractions=tuple(SPLIT_FRACTIONS.values()), seed=seed)
    save_manifest(frame[list(MANIFEST_COLUMNS)], folder / MANIFEST)
    about = {"dataset": DATASET, "version": VERSION, "seed": seed, "spec": asdict(spec),
             "generators": CORPUS_GENERATORS, "digest": spec.digest(seed)}
    (folder / "spec.json").write_text(json.dumps(about, indent=2, sort_keys=True) + "\n")


def _render_all(jobs: list[VideoJob], folder: Path, workers: int,
                progress: bool) -> list[dict[str, str]]:
    """Runs :func:`render_video` for every job, in-process or on a pool of ``workers``."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc=f"building {DATASET}", unit="video", disable=not progress)
    rows = []
    with bar:
        if workers == 1 or not _main_is_importable():
            for job in jobs:
                rows.append(render_video(job, folder))
                bar.update()
            return rows
        from concurrent.futures import ProcessPoolExecutor, as_completed

        context = _pool_context()
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
            futures = [pool.submit(render_video, job, folder) for job in jobs]
            for future in as_completed(futures):
                rows.append(future.result())
                bar.update()
    return rows


def _pool_context():
    """spawn: a forked child can inherit a thread pool (OpenCV's, BLAS's) mid-lock and hang.

    Like any spawn pool, scripts that call :func:`build_corpus` at import time need an
    ``if __name__ == "__main__":`` guard (or ``workers=1``).
    """
    import multiprocessing

    return multiprocessing.get_context("spawn")


def _main_is_importable() -> bool:
    """False when spawned workers could not re-import ``__main__`` (code piped to ``python -``)."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.isfile(main_file)


def _init_worker() -> None:
    """One thread per worker: the pool provides the parallelism."""
    import cv2

    cv2.setNumThreads(1)


def _publish(staging: Path, final: Path, digest: str) -> None:
    """Moves a finished build into place, replacing a stale or forced-out previous build."""
    stale = None
    if final.exists():
        stale = final.with_name(f".{final.name}.stale-{uuid.uuid4().hex[:8]}")
        os.replace(final, stale)
    try:
        os.replace(staging, final)
    except OSError:
        if not is_complete(final, digest):  # a concurrent build of the same spec may have won
            raise
    finally:
        if stale is not None:
            shutil.rmtree(stale, ignore_errors=True)
