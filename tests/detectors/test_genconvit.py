"""GenConViT: official two-file layout, strict loading, score semantics, latent modes, face reader."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.errors import RegistryError, WeightsError
from benchmark.registry import registry
from tests.detectors.common import upstream_dump, random_clips, randomize

REPO = Path(__file__).resolve().parents[2]
SWIN = re.compile(r"^(embedder\.|(backbone|convnext_backbone)\.patch_embed\.)")


def _clips(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return random_clips(n, 1, size, seed)


def _config(name: str = "mini", nets: tuple[str, ...] = ("ed", "vae")) -> dict:
    cfg = registry().get("genconvit").config(name)
    model = cfg["model"]
    model["backbone"]["nets"] = {k: v for k, v in model["backbone"]["nets"].items() if k in nets}
    model["cls_head"]["nets"] = list(nets)
    return cfg


def _detector(cfg: dict):
    from detectors.genconvit import GenConViTDetector

    return GenConViTDetector(cfg)


def _upstream(part: str) -> dict[str, list[int]]:
    return upstream_dump(f"genconvit_{part}.json")["keys"]


def _save(state: dict, path: Path, extra: dict | None = None) -> Path:
    torch.save({**state, **(extra or {})}, path)
    return path


def _swin_tensors(part: str) -> dict[str, torch.Tensor]:
    """Random tensors with the shapes of the official file's embedder keys (a complete file)."""
    return {k: torch.zeros(shape, dtype=torch.int64) if "index" in k else torch.randn(shape)
            for k, shape in _upstream(part).items() if SWIN.match(k)}


@pytest.fixture(scope="module")
def paper_meta():
    """The full paper model (~725M parameters) on the meta device: names and shapes only."""
    with torch.device("meta"):
        return _detector(_config("paper"))


@pytest.fixture(scope="module")
def ed_files(tmp_path_factory):
    """The paper's network A with random weights, saved in the official layout (+ Swin keys)."""
    torch.manual_seed(0)
    detector = _detector(_config("paper", ("ed",)))
    randomize(detector.model, scale=0.02)
    folder = tmp_path_factory.mktemp("genconvit_ed")
    state = detector.official_state_dict()["ed"]
    path = _save(state, folder / "genconvit_ed_inference.pth", _swin_tensors("ed"))
    return detector, state, path


@pytest.mark.parametrize("part", ["ed", "vae"])
def test_paper_layout_is_upstream_minus_embedder(paper_meta, part):
    upstream = _upstream(part)
    ours = {k: list(v.shape) for k, v in paper_meta.official_state_dict()[part].items()}
    expected = {k: v for k, v in upstream.items() if not SWIN.match(k)}
    assert list(ours) == list(expected)  # same names, same order
    assert ours == expected  # same shapes
    ignored = [k for k in upstream if any(re.search(p, k) for p in paper_meta.ignore_keys)]
    assert ignored == [k for k in upstream if SWIN.match(k)] and len(ignored) > 300


def test_key_maps_round_trip_every_key(paper_meta):
    ours = paper_meta.model.state_dict()
    official = paper_meta.official_state_dict()
    assert sum(len(state) for state in official.values()) == len(ours)  # every key in one file
    for part, key_map in paper_meta.weight_parts.items():
        for key in official[part]:
            assert key_map.to_ours(key) in ours, key
            assert key_map.to_official(key_map.to_ours(key)) == key


def test_ed_reloads_strictly_with_identical_outputs(ed_files):
    source, _, path = ed_files
    fresh = _detector(_config("paper", ("ed",)))
    summary = fresh.load_weights({"ed": path})
    assert summary.ignored and all(SWIN.match(k) for k in summary.ignored)
    assert len(summary.ignored) == len(_swin_tensors("ed"))
    assert "ignored" in str(summary)
    clips = _clips(1, 224)
    assert torch.equal(source.clip_logits(clips), fresh.clip_logits(clips))


def test_renamed_key_names_file_and_key(ed_files, tmp_path):
    _, state, _ = ed_files
    bad = dict(state)
    bad["fc2.weight_renamed"] = bad.pop("fc2.weight")
    path = _save(bad, tmp_path / "renamed.pth")
    with pytest.raises(WeightsError, match=r"renamed\.pth.*fc2\.weight"):
        _detector(_config("paper", ("ed",))).load_weights({"ed": path})


def test_wrong_shape_names_file_and_key(ed_files, tmp_path):
    _, state, _ = ed_files
    bad = dict(state)
    bad["fc.weight"] = torch.zeros(500, 1999)
    path = _save(bad, tmp_path / "shape.pth")
    with pytest.raises(WeightsError, match=r"shape\.pth.*fc\.weight: file \(500, 1999\)"):
        _detector(_config("paper", ("ed",))).load_weights({"ed": path})


def test_two_files_load_from_a_folder_with_official_names(tmp_path):
    torch.manual_seed(0)
    source = _detector(_config("mini"))
    randomize(source.model, seed=3, scale=0.02)
    for part, state in source.official_state_dict().items():
        _save(state, tmp_path / source.config["weights_files"][part], {"embedder.head.bias": torch.ones(3)})
    fresh = _detector(_config("mini"))
    summary = fresh.load_weights(tmp_path)
    assert summary.ignored == ["embedder.head.bias", "embedder.head.bias"]
    clips = _clips(3, fresh.spec.size)
    assert torch.equal(source.clip_scores(clips), fresh.clip_scores(clips))
    with pytest.raises(WeightsError, match="missing: \\['vae'\\]"):
        fresh.load_weights({"ed": tmp_path / "genconvit_ed_inference.pth"})


@pytest.mark.slow
def test_vae_paper_round_trip(tmp_path):
    import gc

    torch.manual_seed(0)
    clips = _clips(1, 224)
    source = _detector(_config("paper", ("vae",)))  # ~2.8 GB; one model alive at a time
    expected = source.clip_logits(clips)
    path = _save(source.official_state_dict()["vae"], tmp_path / "vae.pth", _swin_tensors("vae"))
    del source
    gc.collect()
    fresh = _detector(_config("paper", ("vae",)))
    fresh.load_weights({"vae": path})
    assert torch.equal(expected, fresh.clip_logits(clips))


def test_score_is_mean_sigmoid_of_upstream_fake_logit():
    torch.manual_seed(0)
    detector = _detector(_config("mini"))
    randomize(detector.model, seed=1, scale=0.02)
    clips = _clips(2, detector.spec.size)
    x = detector.normalize(clips)
    with torch.no_grad():
        feats, _ = detector.model.extract_feat(x[:, None], test_mode=True)
        logits = detector.model.cls_head(feats)  # [2, nets, 2], index 0 = fake (upstream)
        expected = logits[..., 0].sigmoid().mean(dim=1)
    assert logits.shape == (2, 2, 2)
    assert torch.allclose(detector.clip_scores(clips), expected, atol=1e-6)


def test_multi_frame_clips_average_frames_and_nets():
    from detectors.genconvit.backbone import GenConViTFeatures

    head = _detector(_config("mini")).model.cls_head
    feats = GenConViTFeatures({"ed": torch.randn(6, 64), "vae": torch.randn(6, 64)}, num_frames=3)
    with torch.no_grad():
        p = head.fake_logit(feats).sigmoid()[:, 0]
        expected = head(feats)[..., 0].sigmoid().reshape(2, 6).mean(dim=1)
    assert torch.allclose(p, expected, atol=1e-6)


def test_loss_uses_upstream_label_order():
    from mmaction.structures import ActionDataSample

    torch.manual_seed(0)
    detector = _detector(_config("mini", ("ed",)))
    model, size = detector.model, detector.spec.size
    model.train()
    x = torch.randn(2, 3, 1, size, size)
    feats = model.backbone(x)
    samples = [ActionDataSample().set_gt_label(label) for label in (1, 0)]  # fake, real
    losses = model.cls_head.loss(feats, samples)
    logits = model.cls_head(feats)[:, 0]
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1]))  # fake = 0
    assert torch.allclose(losses["loss_cls_ed"], expected)
    assert "loss_recon_vae" not in losses


def test_vae_latent_mean_is_deterministic_and_sample_is_seeded():
    torch.manual_seed(0)
    base = _detector(_config("mini", ("vae",)))
    clips = _clips(2, base.spec.size)
    assert torch.equal(base.clip_logits(clips), base.clip_logits(clips))

    def sampling(seed: int):
        cfg = _config("mini", ("vae",))
        cfg["model"]["backbone"]["nets"]["vae"].update(latent="sample", seed=seed)
        detector = _detector(cfg)
        detector.model.load_state_dict(base.model.state_dict())
        return detector

    a, b, c = sampling(7), sampling(7), sampling(8)
    first = a.clip_logits(clips)
    assert torch.equal(first, b.clip_logits(clips))  # same seed, same scores
    assert not torch.equal(first, c.clip_logits(clips))  # other seed, other noise
    assert not torch.equal(first, a.clip_logits(clips))  # the noise stream goes on
    assert not torch.equal(first, base.clip_logits(clips))
    a.model.backbone.vae.reset_noise()
    assert torch.equal(first, a.clip_logits(clips))


def test_config_errors_name_the_values():
    cfg = _config("mini")
    cfg["model"]["cls_head"]["nets"] = ["ed"]
    with pytest.raises(RegistryError, match="must name the same networks"):
        _detector(cfg)
    cfg = _config("mini")
    size = cfg["model"]["backbone"]["nets"]["vae"]["encoder"]["input_size"]
    assert cfg["input"]["size"] == size  # the valid mini, before the mismatch below
    cfg["input"]["size"] = size + 32
    with pytest.raises(RegistryError, match=f"input.size is {size + 32}.*input_size={size}"):
        _detector(cfg)
    cfg = _config("mini")
    cfg["model"]["backbone"]["nets"]["vae"]["latent"] = "mode"
    with pytest.raises(RegistryError, match="vae.latent"):
        _detector(cfg)


# -- face-crop input ---------------------------------------------------------------------------
def _frame_folder(folder: Path, frames: np.ndarray) -> Path:
    import cv2

    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame[..., ::-1])
    return folder


@pytest.fixture(scope="module")
def face_reader():
    from detectors.genconvit.reader import FaceClipReader

    cfg = _config("paper")
    with torch.device("meta"):
        detector = _detector(cfg)
    reader = detector.clip_reader()
    assert isinstance(reader, FaceClipReader)
    return reader


def test_face_reader_gives_one_clip_per_face(face_reader, tmp_path):
    import cv2
    from skimage.data import astronaut

    face = astronaut()  # an 87 px face: found by dlib's HOG without upsampling, as upstream runs it
    frames = np.stack([face] * 6 + [np.zeros_like(face)] * 10)  # 16 frames, faces in the first 6
    path = _frame_folder(tmp_path / "video", frames)
    clips = face_reader(str(path))  # a folder: its first 15 images
    assert clips.shape == (6, 3, 1, 224, 224) and clips.dtype == torch.uint8
    assert clips.float().std() > 10  # a crop of the photo, not an empty image
    one = face_reader(str(path), np.random.default_rng(0))  # training: one random face
    assert one.shape == (1, 3, 1, 224, 224)


def test_face_reader_samples_video_files_with_repeats_and_caps_faces(face_reader, tmp_path):
    import cv2

    from benchmark.data.corpus_render import encode_mp4
    from skimage.data import astronaut

    frames = np.stack([astronaut()] * 5).astype(np.float32) / 255  # 5 frames: linspace repeats
    encode_mp4(frames, tmp_path / "face.mp4", fps=25, crf=18)
    clips = face_reader(str(tmp_path / "face.mp4"))
    assert clips.shape == (15, 3, 1, 224, 224)  # 15 sampled frames (repeats kept), one face each
    assert face_reader.face_finder == ("dlib_hog" if _dlib() else "lbp_cascade")
    if _dlib():  # upstream's crop: the HOG box, exactly, resized with INTER_AREA
        from benchmark.data.video import read_frames

        frame = read_frames(str(tmp_path / "face.mp4"), [0])[0]
        (top, left, bottom, right) = face_reader.detector(frame)[0]
        ref = cv2.resize(frame[top:bottom, left:right], (224, 224), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(clips[0, :, 0].permute(1, 2, 0).numpy(), ref)


def _dlib() -> bool:
    from benchmark.dlib_faces import dlib_available

    return dlib_available()


def test_video_without_faces_fails_with_a_reason(face_reader, tmp_path):
    import pandas as pd

    from benchmark.data.dataset import ClipDataset
    from detectors.genconvit.reader import NoFaceError

    path = _frame_folder(tmp_path / "blank", np.full((16, 64, 64, 3), 90, np.uint8))
    with pytest.raises(NoFaceError, match="no face found in 15 sampled frames"):
        face_reader(str(path))
    rows = pd.DataFrame({"video_id": ["blank"], "path": [str(path)], "label": [1]})
    item = ClipDataset(rows, face_reader.spec, reader=face_reader)[0]
    assert item["clips"] is None and item["error"] == "no face found in 15 sampled frames"


def test_mini_reads_whole_frames():
    from detectors.genconvit.reader import FaceClipReader

    detector = _detector(_config("mini"))
    assert not isinstance(detector.clip_reader(), FaceClipReader)
    assert detector.spec.frames == 1 and detector.spec.num_clips == 4
