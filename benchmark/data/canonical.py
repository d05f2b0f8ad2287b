"""``--canonicalize RECIPE``: every video, real and generated, re-encoded with one fixed recipe.

A recipe fixes the codec, its CRF, the frame size (how other aspect ratios fit) and the frame rate,
so none of them can tell real from generated any more. `recipe_hash` identifies a recipe in run
keys and ``run.json``; `canonicalize` writes each video once per recipe into a cache folder
(``<out_dir>/<recipe hash>/<source key>.mp4``, written to a temporary name and renamed, so a
concurrent reader never sees a partial file) and returns that path.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from benchmark.data.video import open_video
from benchmark.errors import DataError, UnknownKeyError, VideoDecodeError

FORMAT = 1        # bump when the same recipe would write different files
CHUNK_FRAMES = 32  # frames decoded and encoded at once (bounds memory on long videos)
FITS = ("crop", "pad")


@dataclass(frozen=True)
class Recipe:
    """One way to store every video.

    Attributes:
        codec: an encoder of `benchmark.perturb.codec.ENCODERS`.
        crf: its constant rate factor.
        width, height: output size in pixels (even).
        fit: ``crop`` scales to cover the size and cuts the centre; ``pad`` scales to fit inside and
            adds black bars.
        fps: output frame rate; frames are dropped or repeated (sample and hold) to reach it.
            Frame folders, which have no rate, are taken to be at this rate already.
        preset: encoder preset (x264/x265 names; VP9 cpu-used).
    """

    codec: str = "libx264"
    crf: float = 23
    width: int = 224
    height: int = 224
    fit: str = "crop"
    fps: float = 25.0
    preset: str = "medium"


RECIPES: dict[str, Recipe] = {
    "h264-crf23-224p25": Recipe(),
    "h264-crf23-64p8": Recipe(width=64, height=64, fps=8.0),  # the embedded corpus's shape (v2)
    "h264-crf23-112p8": Recipe(width=112, height=112, fps=8.0),  # vbench-mini v1's shape
}


def parse_recipe(recipe: str | Mapping[str, Any] | Recipe) -> Recipe:
    """A `Recipe` from itself, a name in `RECIPES`, a mapping, or ``"key=value,key=value"``.

    Raises:
        UnknownKeyError: an unknown recipe name or field.
        DataError: a value the encoder cannot take (odd size, bad fit, CRF out of range...).
        PerturbationSpecError: a codec the local FFmpeg lacks.
    """
    if isinstance(recipe, Recipe):
        fields = dataclasses.asdict(recipe)
    elif isinstance(recipe, str) and "=" not in recipe:
        if recipe not in RECIPES:
            raise UnknownKeyError("canonicalize recipe", recipe, RECIPES)
        fields = dataclasses.asdict(RECIPES[recipe])
    else:
        items = dict(p.split("=", 1) for p in recipe.split(",")) if isinstance(recipe, str) else recipe
        known = [f.name for f in dataclasses.fields(Recipe)]
        for key in items:
            if key not in known:
                raise UnknownKeyError("canonicalize recipe field", str(key), known)
        fields = {**dataclasses.asdict(Recipe()), **items}
    return _validated(fields)


def _validated(fields: Mapping[str, Any]) -> Recipe:
    from benchmark.perturb.codec import _check_encode

    try:
        recipe = Recipe(codec=str(fields["codec"]), crf=float(fields["crf"]), width=int(fields["width"]),
                        height=int(fields["height"]), fit=str(fields["fit"]), fps=float(fields["fps"]),
                        preset=str(fields["preset"]))
    except (TypeError, ValueError) as error:
        raise DataError(f"canonicalize recipe {dict(fields)}: {error}") from None
    for name in ("width", "height"):
        value = getattr(recipe, name)
        if value < 2 or value % 2:
            raise DataError(f"canonicalize recipe: {name} must be an even number >= 2 (yuv420p), "
                            f"got {value}")
    if recipe.fit not in FITS:
        raise DataError(f"canonicalize recipe: fit must be one of {', '.join(FITS)}, got {recipe.fit!r}")
    if not (math.isfinite(recipe.fps) and recipe.fps > 0):
        raise DataError(f"canonicalize recipe: fps must be > 0, got {recipe.fps}")
    _check_encode(dict(codec=recipe.codec, crf=recipe.crf, preset=recipe.preset), "canonicalize recipe")
    return recipe


def recipe_hash(recipe: str | Mapping[str, Any] | Recipe) -> str:
    """sha256 (hex) of the validated recipe and the format of the files it writes."""
    fields = {"format": FORMAT, **dataclasses.asdict(parse_recipe(recipe))}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def source_key(path: str) -> str:
    """Identity of a video file or frame folder: absolute path, size and modification time."""
    resolved = Path(path).expanduser().resolve()
    files = sorted(resolved.iterdir()) if resolved.is_dir() else [resolved]
    stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file()]
    text = json.dumps({"path": str(resolved), "files": stats})
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fit_frames(frames: np.ndarray, width: int, height: int, fit: str) -> np.ndarray:
    """uint8 ``[T, h, w, 3]`` -> ``[T, height, width, 3]``, covering and cropping or fitting and padding."""
    from benchmark.perturb.geometry import resize_frames

    _, h, w, _ = frames.shape
    if fit == "crop":  # cover the box: the scaled frame is at least width x height
        scale = max(width / w, height / h)
        new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    else:  # inside the box
        scale = min(width / w, height / h)
        new_w, new_h = min(width, max(1, round(w * scale))), min(height, max(1, round(h * scale)))
    scaled = resize_frames(frames, new_w, new_h)
    if fit == "crop":
        top, left = (new_h - height) // 2, (new_w - width) // 2
        return np.ascontiguousarray(scaled[:, top: top + height, left: left + width])
    out = np.zeros((len(frames), height, width, 3), np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[:, top: top + new_h, left: left + new_w] = scaled
    return out


def _source_indices(num_frames: int, fps: float, target_fps: float, path: str) -> np.ndarray:
    from benchmark.perturb.geometry import frame_rate_indices

    if num_frames < 2 or not fps:  # a still, or a folder without a rate: kept as it is
        return np.arange(num_frames)
    index = frame_rate_indices(num_frames, target_fps / fps)
    if len(index) == 0:
        raise VideoDecodeError(path, f"canonicalize: {num_frames} frames at {fps:g} fps leave no "
                                     f"frame at {target_fps:g} fps")
    return index


def _encode(path: str, recipe: Recipe, target: Path) -> None:
    from benchmark.perturb.codec import frame_writer

    video = open_video(path)
    try:
        index = _source_indices(video.num_frames, video.info.fps, recipe.fps, path)
        with frame_writer(target, recipe.width, recipe.height, recipe.codec, crf=recipe.crf,
                          preset=recipe.preset, fps=recipe.fps, container="mp4") as write:
            for start in range(0, len(index), CHUNK_FRAMES):
                chunk = video.read(index[start: start + CHUNK_FRAMES])  # [c, H, W, 3]
                write(fit_frames(chunk, recipe.width, recipe.height, recipe.fit))
    finally:
        video.close()


def canonicalize(path: str | os.PathLike, recipe: str | Mapping[str, Any] | Recipe,
                 out_dir: str | os.PathLike) -> Path:
    """The video at ``path`` re-encoded with ``recipe``, from the cache when it is there.

    Args:
        path: a video file or frame folder.
        recipe: see `parse_recipe`.
        out_dir: the cache root; files go to ``<out_dir>/<recipe hash[:16]>/``.

    Returns:
        The canonical mp4's path.

    Raises:
        VideoDecodeError: the source cannot be read (the caller marks that row failed).
    """
    path, parsed = os.fspath(path), parse_recipe(recipe)
    if not os.path.exists(path):
        raise VideoDecodeError(path, "file not found")
    folder = Path(out_dir) / recipe_hash(parsed)[:16]
    target = folder / f"{source_key(path)}.mp4"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{target.stem}.{os.getpid()}.{uuid.uuid4().hex}.tmp.mp4"
    try:
        _encode(path, parsed, tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def canonicalize_manifest(manifest: pd.DataFrame, recipe: str | Mapping[str, Any] | Recipe,
                          out_dir: str | os.PathLike) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Canonicalizes every row's video; returns the manifest with new paths (rows that failed are
    dropped) and ``(video_id, reason)`` of each failure."""
    parsed = parse_recipe(recipe)  # a bad recipe fails before any video is read
    paths, failures = [], []
    for row in manifest.itertuples(index=False):
        try:
            paths.append(str(canonicalize(row.path, parsed, out_dir)))
        except VideoDecodeError as error:
            paths.append(None)
            failures.append((row.video_id, error.reason))
    out = manifest.assign(path=paths)
    return out[out.path.notna()].reset_index(drop=True), failures
