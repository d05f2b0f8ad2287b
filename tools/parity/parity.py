"""Parity of each `paper` config with its upstream code: video → network input → random-weight logits.

Renders a few camera-like mp4 files (real faces from photographs that ship in PyPI packages, and
scenes), runs the upstream repositories' own preprocessing and models on them in a second
interpreter with upstream's library versions (`upstream_side.py`), runs vbench's paper configs on
the same files, loads the upstream models' seeded random weights into vbench's detectors through
their official key maps, and prints the differences. See README.md for how to set it up.

Usage:
    python tools/parity/parity.py --upstream-python /tmp/upvenv/bin/python --repos /tmp/up \\
        --work /tmp/parity [--methods mmvgm genconvit sta aigvdet] [--skip-upstream]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
METHODS = ("mmvgm", "genconvit", "sta", "aigvdet")


# -- test videos ----------------------------------------------------------------------------------
def _photo(name: str) -> np.ndarray:
    """A photograph shipped inside a wheel, float32 RGB in [0, 1]."""
    if name == "grace_hopper":  # matplotlib's sample data: a portrait
        from matplotlib.cbook import get_sample_data
        from PIL import Image

        with Image.open(get_sample_data("grace_hopper.jpg", asfileobj=False)) as image:
            return np.asarray(image.convert("RGB"), np.float32) / 255
    from skimage import data

    return np.asarray(getattr(data, name)()[..., :3], np.float32) / 255


def render(photo: str, path: Path, frames: int, height: int, width: int, zoom: float = 1.0,
           pan: float = 1.5) -> str:
    """A hand-held-camera shot over ``photo``: slow pan, zoom and roll, H.264."""
    import cv2

    from benchmark.data.corpus_render import encode_mp4

    image = _photo(photo)
    h, w = image.shape[:2]
    out = []
    for t in range(frames):
        scale = zoom * (1 + 0.004 * t) * min(height / h, width / w) * 1.1
        angle = 1.5 * np.sin(t / 6)  # degrees
        matrix = cv2.getRotationMatrix2D((w / 2 + pan * t, h / 2 + 0.5 * pan * t), angle, scale)
        matrix[:, 2] += (width / 2 - w / 2, height / 2 - h / 2)
        out.append(cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REFLECT_101))
    encode_mp4(np.stack(out), path, fps=25, crf=20)
    return str(path)


def make_videos(work: Path) -> dict:
    from benchmark.dlib_faces import model_file

    work.mkdir(parents=True, exist_ok=True)
    videos = {
        "scenes": [render("coffee", work / "coffee_270x482.mp4", 18, 270, 482),
                   render("chelsea", work / "chelsea_480x360.mp4", 18, 480, 360)],
        "faces": [render("astronaut", work / "astronaut_480x640.mp4", 40, 480, 640, zoom=1.4),
                  render("grace_hopper", work / "hopper_360x480.mp4", 36, 360, 480, zoom=1.0)],
        "aigvdet": [render("coffee", work / "coffee_270x480_12.mp4", 12, 270, 480),
                    render("rocket", work / "rocket_200x300.mp4", 9, 200, 300)],
        "dlib_models": str(model_file("shape_predictor_68_face_landmarks.dat").parent),
    }
    (work / "videos.json").write_text(json.dumps(videos, indent=1))
    return videos


# -- comparisons ----------------------------------------------------------------------------------
def diff(ours, theirs) -> str:
    a, b = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    if a.shape != b.shape:
        return f"SHAPES DIFFER {a.shape} vs {b.shape}"
    d = np.abs(a - b)
    return f"max {d.max():.3g}  mean {d.mean():.3g}"


def report(rows: list[tuple[str, str]], name: str, text: str) -> None:
    rows.append((name, text))
    print(f"{name:<48} {text}", flush=True)


def _detector(method: str):
    from benchmark.detector import build_detector

    return build_detector(method, "paper")


def check_mmvgm(work: Path, videos: dict, rows: list) -> None:
    from benchmark.data.dataset import ClipReader

    up = np.load(work / "mmvgm.npz")
    for method, key in (("mmvgm_i3d", "i3d"), ("mmvgm_xclip", "xclip"), ("mmvgm_mae", "mae")):
        with torch.device("meta") if method == "mmvgm_xclip" else torch.device("cpu"):
            det = _detector(method)  # X-CLIP: input path only (its spec; no 577M-parameter model)
        reader = ClipReader(det.spec)
        clips = torch.cat([reader(p) for p in videos["scenes"]])  # uint8 [V, 3, T, 224, 224]
        ours = ((clips.float() - det.model.data_preprocessor.mean.cpu()) /
                det.model.data_preprocessor.std.cpu()) if method != "mmvgm_xclip" else \
            _normalise(clips, det.spec)
        theirs = torch.from_numpy(up[f"{key}_input"]).permute(0, 2, 1, 3, 4)
        report(rows, f"{method}: network input (normalised)", diff(ours, theirs))
        if key == "xclip":
            continue
        det.load_weights(str(work / f"{method}.pth"))
        logits = det.clip_logits(clips).numpy()
        upstream = up[f"{key}_logits"].reshape(len(logits), -1)
        report(rows, f"{method}: random-weight logits, video → logits", diff(logits, upstream))
        with torch.inference_mode():
            same = det.forward_logits(theirs.float()).numpy()
        report(rows, f"{method}: random-weight logits, same input", diff(same, upstream))


def _normalise(clips: torch.Tensor, spec) -> torch.Tensor:
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1, 1)
    return (clips.float() - mean) / std


def check_genconvit(work: Path, videos: dict, rows: list) -> None:
    up = np.load(work / "genconvit.npz")
    det = _detector("genconvit")
    reader = det.clip_reader()
    report(rows, "genconvit: face finder", reader.face_finder)
    clips = [reader(p) for p in videos["faces"]]
    counts = [len(c) for c in clips]
    report(rows, "genconvit: faces per video (ours / upstream)", f"{counts} / {up['counts'].tolist()}")
    ours = _normalise(torch.cat(clips), det.spec)[:, :, 0]  # [K, 3, 224, 224]
    report(rows, "genconvit: network input (normalised)", diff(ours, up["input"]))
    det.load_weights({"ed": str(work / "genconvit_ed.pth"), "vae": str(work / "genconvit_vae.pth")})
    start, scores, theirs = 0, [], []
    for clip, n in zip(clips, up["counts"]):
        scores.append(det.clip_scores(clip).mean().item())
        fake = [torch.from_numpy(up[f"{k}_logits"][start:start + n, 0]).sigmoid() for k in ("ed", "vae")]
        theirs.append(torch.cat(fake).mean().item())  # mean over faces and both networks
        start += n
    report(rows, "genconvit: random-weight video scores", diff(scores, theirs))


def check_sta(work: Path, videos: dict, rows: list) -> None:
    from benchmark.data import video as video_io
    from benchmark.data.dataset import ClipReader
    from benchmark.data.presets import deepfakebench_faces
    from benchmark.data.sampling import segment_clips

    up = np.load(work / "sta.npz")
    with torch.device("meta"):
        det = _detector("sta")  # input path: the model's parity is tests/detectors/test_sta.py's
    reader = ClipReader(det.spec)
    counts = []
    for path in videos["faces"]:
        video = video_io.open_video(path)
        counts.append(len(deepfakebench_faces(reader, video)))
        video.close()
    report(rows, "sta: frames with an aligned face (ours / upstream)",
           f"{counts} / {up['counts'].tolist()}")
    ours, theirs, start = [], [], 0
    for path, n in zip(videos["faces"], up["counts"]):
        clips = reader(path)  # [K, 3, 8, 224, 224]
        ours.append(_normalise(clips, det.spec).permute(0, 2, 1, 3, 4).reshape(-1, 3, 224, 224))
        # upstream's loader on its own crops: the same clip rule (slot starts; upstream draws them)
        theirs.append(up["input"][start + segment_clips(n, 8, 32).reshape(-1)])
        start += n
    report(rows, "sta: network input (normalised)", diff(torch.cat(ours), np.concatenate(theirs)))
    if (work / "sta_model.npz").is_file():
        check_sta_model(work, ours[1][:16].reshape(2, 8, 3, 224, 224), rows)


def check_sta_model(work: Path, ours: torch.Tensor, rows: list) -> None:
    """Upstream's ViT_CLIP + I3DHead (random weights) on its first two clips of the second face
    video, against vbench's paper StA with the same weights on vbench's clips."""
    up = np.load(work / "sta_model.npz")
    det = _detector("sta")
    det.load_weights(str(work / "sta.pth"))
    with torch.inference_mode():
        logits = det.forward_logits(ours.permute(0, 2, 1, 3, 4).float()).numpy()
        same = det.forward_logits(torch.from_numpy(up["input"]).permute(0, 2, 1, 3, 4)).numpy()
    report(rows, "sta: random-weight logits, video → logits", diff(logits, up["logits"]))
    report(rows, "sta: random-weight logits, same input", diff(same, up["logits"]))


def check_aigvdet(work: Path, videos: dict, rows: list) -> None:
    from benchmark.flow import FlowEstimator
    from detectors.aigvdet.reader import FlowClipReader

    up = np.load(work / "aigvdet.npz")
    det = _detector("aigvdet")
    det.load_weights({"rgb": str(work / "aigvdet_rgb.pth"), "flow": str(work / "aigvdet_flow.pth")})
    for v, path in enumerate(videos["aigvdet"]):
        class Given(FlowEstimator):  # upstream's RAFT field (random weights), padded as it renders
            name = f"upstream_raft_{v}"

            def params(self):
                return {}

            def pairs(self, frames):
                return up[f"flow_field_{v}"]

        reader = FlowClipReader(det.spec, {**det.flow_cfg, "cache_dir": str(work / "cache" / str(v))})
        reader.estimator = Given()
        clips, valid = reader(path)
        t = det.spec.frames
        x = _normalise(clips, det.spec).permute(0, 2, 1, 3, 4)  # [K, 2T-1, 3, S, S]
        rgb, flow = x[:, :t][valid[:, :t]], x[:, t:][valid[:, t:]]
        report(rows, f"aigvdet video {v}: frames + flow images scored (ours / upstream)",
               f"{len(rgb)} + {len(flow)} / {len(up[f'rgb_input_{v}'])} + "
               f"{len(up[f'flow_input_{v}'])}")
        report(rows, f"aigvdet video {v}: RGB input", diff(rgb, up[f"rgb_input_{v}"]))
        report(rows, f"aigvdet video {v}: flow input", diff(flow, up[f"flow_input_{v}"]))
        score = det.video_scores(clips, torch.zeros(len(clips), dtype=torch.long), 1, valid)
        report(rows, f"aigvdet video {v}: random-weight video score",
               diff(score.numpy(), [float(up[f"score_{v}"])]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-python", required=True, help="interpreter with upstream's versions")
    parser.add_argument("--repos", type=Path, required=True, help="folder with the upstream checkouts")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--skip-upstream", action="store_true", help="reuse <work>/*.npz")
    args = parser.parse_args(argv)
    videos = make_videos(args.work)
    if not args.skip_upstream:
        upstream = [*args.methods, *(["sta_model"] if "sta" in args.methods else [])]
        subprocess.run([args.upstream_python, str(Path(__file__).with_name("upstream_side.py")),
                        str(args.repos), str(args.work), *upstream], check=True)
    rows: list[tuple[str, str]] = []
    torch.set_grad_enabled(False)
    for method in args.methods:
        globals()[f"check_{method}"](args.work, videos, rows)
    (args.work / "parity.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
