"""The upstream half of the parity check: run each method's own code on the test videos.

Runs in a separate interpreter with upstream's library versions (transformers 4.32.1, Pillow 10.2,
NumPy 1.26, timm 0.6.5, face_recognition 1.3.0; see README.md) and imports the upstream
repositories from their checkouts; nothing of them is copied here. Writes, per method, the network
inputs it builds and the logits of its model with seeded random weights (saved as official
checkpoints for vbench to load) into ``<work>/<method>.npz`` / ``.pth``.

Usage (normally through parity.py): python upstream_side.py REPOS WORK METHOD [METHOD ...]
"""
from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import torch

# The published processor configurations (preprocessor_config.json on the model hub, 310 and 271
# bytes): microsoft/xclip-large-patch14 (MMVGM's I3D and X-CLIP) and MCG-NJU/videomae-base (MAE).
XCLIP_PROCESSOR = {"do_center_crop": True, "do_normalize": True, "do_resize": True,
                   "feature_extractor_type": "VideoMAEFeatureExtractor",
                   "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
                   "processor_class": "XCLIPProcessor", "resample": 2, "size": 224}
VIDEOMAE_PROCESSOR = {k: v for k, v in XCLIP_PROCESSOR.items() if k != "processor_class"}


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Seeded weights everywhere (BN statistics and zero-initialised layers too), scaled by fan-in
    so that activations stay finite and every weight moves the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if not value.dtype.is_floating_point:
                continue
            noise = torch.randn(value.shape, generator=gen)
            if name.endswith("running_var"):
                value.copy_(0.5 + torch.rand(value.shape, generator=gen))
            elif value.dim() >= 2:
                value.copy_(noise / max(1.0, value[0].numel()) ** 0.5)
            elif name.endswith("weight"):
                value.copy_(1 + 0.1 * noise)
            else:
                value.copy_(0.1 * noise)


def videos(work: Path, kind: str) -> list[str]:
    return json.loads((work / "videos.json").read_text())[kind]


# -- MMVGM ----------------------------------------------------------------------------------------
def _xclip_processor(tmp: Path):
    from transformers import CLIPTokenizer, VideoMAEImageProcessor, XCLIPProcessor

    vocab, merges = tmp / "vocab.json", tmp / "merges.txt"  # a stub tokenizer: videos only
    vocab.write_text(json.dumps({"<|startoftext|>": 0, "<|endoftext|>": 1, "a</w>": 2}))
    merges.write_text("#version: 0.2\n")
    return XCLIPProcessor(image_processor=VideoMAEImageProcessor.from_dict(XCLIP_PROCESSOR),
                          tokenizer=CLIPTokenizer(str(vocab), str(merges)))


def mmvgm(repos: Path, work: Path) -> None:
    sys.path.insert(0, str(repos / "MMVGM" / "utils"))
    import models
    import mydataset
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification, VideoMAEImageProcessor

    paths = videos(work, "scenes")
    xclip = _xclip_processor(work)
    out = {}
    for name, dataset in (("i3d", mydataset.I3Ddataset(paths, [0] * len(paths), xclip)),
                          ("xclip", mydataset.XCLIPDataset(paths, [0] * len(paths), xclip)),
                          ("mae", mydataset.MAEDataset(
                              paths, [0] * len(paths),
                              VideoMAEImageProcessor.from_dict(VIDEOMAE_PROCESSOR)))):
        out[f"{name}_input"] = torch.cat(dataset.processed_video).numpy()  # [V, T, 3, 224, 224]
    torch.manual_seed(0)
    i3d = models.InceptionI3d(400, in_channels=3)
    i3d.replace_logits(2)
    randomize(i3d.eval(), 1)
    torch.save(i3d.state_dict(), work / "mmvgm_i3d.pth")
    with torch.no_grad():  # i3d.py: d['input'].squeeze(1).permute(0, 2, 1, 3, 4)
        out["i3d_logits"] = i3d(torch.from_numpy(out["i3d_input"]).permute(0, 2, 1, 3, 4)).numpy()
    mae = VideoMAEForVideoClassification(VideoMAEConfig(num_labels=2, use_mean_pooling=False)).eval()
    randomize(mae, 2)
    torch.save(mae.state_dict(), work / "mmvgm_mae.pth")
    with torch.no_grad():  # mae.py: model(pixel_values=input_video)
        out["mae_logits"] = mae(pixel_values=torch.from_numpy(out["mae_input"])).logits.numpy()
    np.savez(work / "mmvgm.npz", **out)


# -- GenConViT ------------------------------------------------------------------------------------
def genconvit(repos: Path, work: Path) -> None:
    root = repos / "GenConViT"
    os.chdir(root)  # model/config.py reads model/config.yaml relative to the working directory
    sys.path.insert(0, str(root))
    import timm

    create = timm.create_model  # no hub: the weights are randomised below anyway
    timm.create_model = lambda *a, **k: create(*a, **{**k, "pretrained": False})
    import dataset.loader  # noqa: F401  (pred_func imports it)
    from model import pred_func
    from model.config import load_config
    from model.genconvit_ed import GenConViTED
    from model.genconvit_vae import GenConViTVAE

    out, faces = {}, []
    for path in videos(work, "faces"):
        found = pred_func.df_face(path, 15)  # decord, face_recognition HOG, INTER_AREA, normalise
        faces.append(found.cpu().numpy() if len(found) else np.zeros((0, 3, 224, 224), np.float32))
    out["counts"] = np.array([len(f) for f in faces])
    out["input"] = np.concatenate(faces)
    config = load_config()
    nets = {"ed": GenConViTED(config, pretrained=False), "vae": GenConViTVAE(config, pretrained=False)}
    torch.randn_like = torch.zeros_like  # upstream samples the VAE latent; z = mu for comparison
    x = torch.from_numpy(out["input"])
    for seed, (name, net) in enumerate(nets.items(), start=3):
        randomize(net.eval(), seed)
        torch.save(net.state_dict(), work / f"genconvit_{name}.pth")
        with torch.no_grad():
            logits = net(x)
            out[f"{name}_logits"] = (logits[0] if isinstance(logits, tuple) else logits).numpy()
    np.savez(work / "genconvit.npz", **out)


# -- StA through DeepfakeBench's preprocessing -------------------------------------------------------
def _stub(name: str, **attrs) -> None:
    """A placeholder module for an import that the code under test never uses."""
    import importlib.machinery

    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attrs)
    sys.modules[name] = module


def deepfakebench_inputs(repos: Path, work: Path, mean, std, tag: str) -> tuple[list, list]:
    """DeepfakeBench's preprocessing of each face video, then its loader with ``mean``/``std``:
    per video the normalised frames ``[F, 3, 224, 224]`` (numpy) and F (frames with a face)."""
    import cv2
    import dlib
    from torchvision import transforms as T

    # preprocess.py imports imutils only for landmarks it saves beside the crops (not used here)
    _stub("imutils")
    _stub("imutils.face_utils", shape_to_np=lambda shape: np.array(
        [[shape.part(i).x, shape.part(i).y] for i in range(shape.num_parts)]))
    sys.modules["imutils"].face_utils = sys.modules["imutils.face_utils"]
    sys.path.insert(0, str(repos / "DeepfakeBench" / "preprocessing"))
    import preprocess

    models = Path(json.loads((work / "videos.json").read_text())["dlib_models"])
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
    norm = T.Normalize(mean=mean, std=std)
    inputs, counts = [], []
    for v, path in enumerate(videos(work, "faces")):
        cap = cv2.VideoCapture(path)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        picks = np.linspace(0, n - 1, 32, endpoint=True, dtype=int)  # fixed_num_frames, 32
        folder = work / f"{tag}_frames" / str(v)
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(n):
            ok, frame = cap.read()
            if not ok:
                break
            if index not in picks:
                continue
            crop, _, _ = preprocess.extract_aligned_face_dlib(detector, predictor, frame)
            if crop is not None:
                cv2.imwrite(str(folder / f"{index:03d}.png"), crop)
        files = sorted(folder.glob("*.png"), key=lambda p: int(p.stem))[:32]
        counts.append(len(files))
        # abstract_dataset.load_rgb: imread, BGR->RGB, resize 224 INTER_CUBIC; ToTensor, Normalize
        frames = [norm(T.ToTensor()(cv2.resize(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB),
                                               (224, 224), interpolation=cv2.INTER_CUBIC)))
                  for f in files]
        inputs.append(torch.stack(frames).numpy())
    return inputs, counts


def sta(repos: Path, work: Path) -> None:
    inputs, counts = deepfakebench_inputs(  # clip_adapter.yaml's CLIP mean/std
        repos, work, [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711], "sta")
    np.savez(work / "sta.npz", input=np.concatenate(inputs), counts=np.array(counts))


def sta_model(repos: Path, work: Path) -> None:
    """StA's ViT_CLIP + I3DHead from StA4Deepfake's detector module, random weights, on the first
    two clips (batch of one, where upstream's adapter attention does not mix clips) of the input
    that `sta` built from the second face video."""
    import importlib.util

    import torch.nn as nn

    # the training-harness imports around the model classes (registries, metrics, logging)
    registry = types.SimpleNamespace(register_module=lambda **k: (lambda cls: cls))
    for name, attrs in {"clip": {}, "metrics": {}, "metrics.base_metrics_class":
                        {"calculate_metrics_for_train": None}, "networks": {"BACKBONE": {}},
                        "loss": {"LOSSFUNC": {}}, "torch.utils.tensorboard": {"SummaryWriter": None},
                        "sklearn": {}, "sklearn.metrics": {}, "detectors": {"DETECTOR": registry},
                        "detectors.base_detector": {"AbstractDetector": nn.Module}}.items():
        _stub(name, **attrs)
    sys.modules["sklearn"].metrics = sys.modules["sklearn.metrics"]
    sys.modules["detectors"].__path__ = []  # a package, for the module's relative import
    source = repos / "StA4Deepfake" / "training" / "detectors" / "clip_adapter_detector.py"
    spec = importlib.util.spec_from_file_location("detectors.clip_adapter_detector", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = nn.Module()
    model.backbone = module.ViT_CLIP(input_resolution=224, num_frames=8, patch_size=14, width=1024,
                                     layers=14, heads=16, drop_path_rate=0.1, num_tadapter=1,
                                     adapter_scale=0.5, pretrained=True)
    model.head = module.I3DHead(num_classes=2, in_channels=1024, spatial_type="avg", dropout_ratio=0.5)
    randomize(model.eval(), 9)
    torch.save(model.state_dict(), work / "sta.pth")
    up = np.load(work / "sta.npz")
    frames = torch.from_numpy(up["input"][up["counts"][0]:][:16]).reshape(2, 8, 3, 224, 224)
    with torch.no_grad():
        logits = [model.head(model.backbone(clip[None])) for clip in frames]
    np.savez(work / "sta_model.npz", logits=torch.cat(logits).numpy(), input=frames.numpy())


# -- AIGVDet --------------------------------------------------------------------------------------
def aigvdet(repos: Path, work: Path) -> None:
    import cv2
    import torchvision.transforms as T
    import torchvision.transforms.functional as TF
    from PIL import Image

    root = repos / "AIGVDet"
    sys.path[:0] = [str(root / "core"), str(root)]
    from raft import RAFT
    from utils import flow_viz
    from utils.utils import InputPadder
    from utils1.utils import get_network

    import argparse

    args = argparse.Namespace(small=False, mixed_precision=False, alternate_corr=False, dropout=0)
    raft = RAFT(args).eval()
    randomize(raft, 7)
    nets = {"rgb": get_network("resnet50"), "flow": get_network("resnet50")}
    for seed, (name, net) in enumerate(nets.items(), start=5):
        randomize(net.eval(), seed)
        torch.save(net.state_dict(), work / f"aigvdet_{name}.pth")
    crop = T.Compose((T.CenterCrop((448, 448)), T.ToTensor()))
    out = {}
    for v, path in enumerate(videos(work, "aigvdet")):
        folder = work / "aigvdet_frames" / str(v)
        folder.mkdir(parents=True, exist_ok=True)
        cap, frames = cv2.VideoCapture(path), []
        while True:  # demo.py video_to_frames: PNGs of every frame, then read back with PIL
            ok, frame = cap.read()
            if not ok:
                break
            cv2.imwrite(str(folder / f"frame_{len(frames):05d}.png"), frame)
            frames.append(folder / f"frame_{len(frames):05d}.png")
        flows, images = [], []
        with torch.no_grad():
            for a, b in zip(frames[:-1], frames[1:]):  # demo.py OF_gen
                load = lambda f: torch.from_numpy(np.array(Image.open(f)).astype(np.uint8)).permute(
                    2, 0, 1).float()[None]
                padder = InputPadder(load(a).shape)
                x1, x2 = padder.pad(load(a), load(b))
                _, flow = raft(x1, x2, iters=20, test_mode=True)
                field = flow[0].permute(1, 2, 0).numpy()  # the padded field, as viz() renders it
                flows.append(field)
                png = folder / f"flow_{len(flows):05d}.png"
                cv2.imwrite(str(png), flow_viz.flow_to_image(field))  # RGB written as BGR
                images.append(png)
        norm = lambda t: TF.normalize(t, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
        rgb_in = torch.stack([norm(crop(Image.open(f).convert("RGB"))) for f in frames])
        flow_in = torch.stack([norm(crop(Image.open(f).convert("RGB"))) for f in images])
        with torch.no_grad():
            p_rgb = nets["rgb"](rgb_in).sigmoid()[:, 0].numpy()
            p_flow = nets["flow"](flow_in).sigmoid()[:, 0].numpy()
        out.update({f"rgb_input_{v}": rgb_in.numpy(), f"flow_input_{v}": flow_in.numpy(),
                    f"flow_field_{v}": np.stack(flows), f"score_{v}": 0.5 * p_rgb.mean() + 0.5 * p_flow.mean()})
    np.savez(work / "aigvdet.npz", **out)


if __name__ == "__main__":
    repos_dir, work_dir = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    for method in sys.argv[3:]:
        globals()[method](repos_dir, work_dir)
        print(f"upstream side: {method} done", flush=True)
