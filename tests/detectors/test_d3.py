"""D3: the statistic against upstream's formula, upstream's preprocessing quirks, the released
encoder's layout (a transformers folder) loaded strictly, and the training-free run contract."""
import copy
import shutil
import subprocess
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from benchmark.detector import build_detector
from benchmark.errors import WeightsError
from benchmark.registry import registry
from detectors.d3.head import second_order_std
from detectors.d3.reader import crop_long_side
from tests.detectors.common import random_clips, refused_paper_run

# a small X-CLIP whose vision tower is the d3 test encoder (the text tower is tiny and unused)
VISION = {"image_size": 32, "patch_size": 16, "num_frames": 4, "hidden_size": 32,
          "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}


def _config(encoder_path=None):
    cfg = copy.deepcopy(registry().get("d3").config("mini"))
    cfg["model"]["backbone"]["config"] = dict(VISION)
    cfg["input"].update(frames=8, size=32)
    cfg["d3"]["encoder_path"] = encoder_path
    return cfg


def _released_folder(tmp_path):
    """A full XCLIPModel saved as transformers saves the released checkpoint (seeded weights)."""
    import transformers

    torch.manual_seed(3)
    config = transformers.XCLIPConfig(
        projection_dim=32, text_config={"vocab_size": 64, "hidden_size": 32, "intermediate_size": 64,
                                        "num_hidden_layers": 1, "num_attention_heads": 2,
                                        "max_position_embeddings": 16},
        vision_config={**VISION, "mit_hidden_size": 32, "mit_intermediate_size": 64,
                       "mit_num_hidden_layers": 1, "mit_num_attention_heads": 2})
    model = transformers.XCLIPModel(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # LayerNorms and biases away from their init too
    folder = tmp_path / "xclip"
    model.save_pretrained(folder)
    return folder


def test_statistic_is_upstreams_formula():
    feats = torch.randn(3, 16, 24, generator=torch.Generator().manual_seed(0))
    vec1, vec2 = feats[:, :-1], feats[:, 1:]
    for distance, first in (("l2", torch.norm(vec1 - vec2, p=2, dim=-1)),
                            ("cos", F.cosine_similarity(vec1, vec2, dim=-1))):
        second = first[:, 1:] - first[:, :-1]
        assert torch.allclose(second_order_std(feats, distance), torch.std(second, dim=1))


def test_score_decreases_with_the_statistic():
    """Upstream ranks *real* by the std; our 'generated' score is a decreasing map of it."""
    detector = build_detector("d3", _config())
    head = detector.model.cls_head
    calm = torch.zeros(1, 8, 4)
    jumpy = torch.randn(1, 8, 4, generator=torch.Generator().manual_seed(1))
    scores = detector.scores_from_logits(torch.cat([head(calm), head(jumpy)]))
    assert scores[0] == 0.5 and scores[1] < 0.5


def test_long_side_crop_is_upstreams():
    wide = np.zeros((2, 50, 101, 3), np.uint8)
    tall = np.zeros((2, 90, 40, 3), np.uint8)
    square = np.zeros((1, 64, 64, 3), np.uint8)
    assert crop_long_side(wide, 0.1).shape == (2, 50, 101 - 2 * 10, 3)
    assert crop_long_side(tall, 0.1).shape == (2, 90 - 2 * 9, 40, 3)
    assert crop_long_side(square, 0.1).shape == (1, 64 - 2 * 6, 64, 3)  # rows, as upstream


def test_upstream_bgr_reverses_the_channels():
    bgr = build_detector("d3", _config())
    rgb_cfg = _config()
    rgb_cfg["d3"]["channel_order"] = "rgb"
    torch.manual_seed(0)
    rgb = build_detector("d3", rgb_cfg)
    rgb.model.load_state_dict(bgr.model.state_dict())
    clips = random_clips(2, 8, 32)
    assert torch.allclose(bgr.clip_logits(clips), rgb.clip_logits(clips.flip(1)))
    assert not torch.allclose(bgr.clip_logits(clips), rgb.clip_logits(clips))


def test_released_folder_loads_and_matches_upstreams_encoder(tmp_path):
    """Upstream's path: the vision tower of the folder, frames flattened, pooler_output."""
    import transformers

    folder = _released_folder(tmp_path)
    detector = build_detector("d3", _config(str(folder)))
    clips = random_clips(2, 8, 32, seed=5)  # [2, 3, 8, 32, 32]
    x = detector.normalize(clips)
    ours = detector.model.backbone(x)  # [2, 8, 32]
    # what transformers 4.57 (upstream's pin) from_pretrained keeps of a full X-CLIP file: the
    # vision_model.* tensors (5.x's flattened XCLIPVisionModel no longer maps them by itself; the
    # 4.57 call itself runs in tools/parity/d3_upstream.py)
    from safetensors.torch import load_file

    upstream = transformers.XCLIPVisionModel(transformers.XCLIPVisionConfig(**VISION)).eval()
    state = {k[len("vision_model."):]: v for k, v in load_file(str(folder / "model.safetensors")).items()
             if k.startswith("vision_model.")}
    upstream.load_state_dict(state, strict=True)
    images = x.permute(0, 2, 1, 3, 4).reshape(16, 3, 32, 32)
    with torch.no_grad():
        theirs = upstream(images, output_hidden_states=True).pooler_output.reshape(2, 8, -1)
    assert (ours - theirs).abs().max() < 1e-5


def test_renamed_or_reshaped_key_is_refused_by_name(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _released_folder(tmp_path)
    detector = build_detector("d3", _config())
    state = load_file(str(folder / "model.safetensors"))
    key = "vision_model.encoder.layers.0.mlp.fc1.weight"
    renamed = dict(state)
    renamed["vision_model.encoder.layers.0.mlp.fc_1.weight"] = renamed.pop(key)
    save_file(renamed, str(tmp_path / "renamed.safetensors"))
    with pytest.raises(WeightsError, match=r"layers\.0\.mlp\.fc1\.weight"):
        detector.load_weights(tmp_path / "renamed.safetensors")
    reshaped = dict(state)
    reshaped[key] = reshaped[key][:-1].contiguous()
    save_file(reshaped, str(tmp_path / "reshaped.safetensors"))
    with pytest.raises(WeightsError, match=r"shape mismatches.*layers\.0\.mlp\.fc1\.weight"):
        detector.load_weights(tmp_path / "reshaped.safetensors")


def test_folder_config_that_disagrees_is_refused(tmp_path):
    folder = _released_folder(tmp_path)
    cfg = _config(str(folder))
    cfg["model"]["backbone"]["config"]["layer_norm_eps"] = 1e-6
    with pytest.raises(WeightsError, match="layer_norm_eps"):
        build_detector("d3", cfg)


def test_clips_must_fill_whole_frame_groups():
    detector = build_detector("d3", _config())
    with pytest.raises(ValueError, match="multiple"):
        detector.clip_scores(random_clips(1, 6, 32))


def test_train_records_that_nothing_was_trained(tmp_path):
    """`RunContext.train` on a training-free detector trains and saves nothing, and says so."""
    from benchmark.protocol import Unit
    from benchmark.run_context import TRAINING_FREE, RunContext, RunRequest

    detector = build_detector("d3", _config())
    before = {k: v.clone() for k, v in detector.model.state_dict().items()}
    ctx = RunContext(request=RunRequest(protocol="cross_generator", method="d3"), protocol=None,
                     config={}, manifest=pd.DataFrame(), options={}, device="cpu", weights=None,
                     run=SimpleNamespace(dir=tmp_path / "run", key="k"))
    ctx.unit = Unit("a", trains=True, members={"train_generators": ("a",)})
    card = ctx.train(detector, pd.DataFrame({"label": [0, 1]}), pd.DataFrame({"label": [0, 1]}))
    assert card["trained"] is False and card["note"] == TRAINING_FREE
    assert ctx.models["a"] is card and not (tmp_path / "run").exists()
    assert all(torch.equal(before[k], v) for k, v in detector.model.state_dict().items())


def test_a_paper_run_without_the_encoder_is_refused_before_anything_is_written(tmp_path, capsys):
    """D3 trains nothing: with no encoder to load its paper config would score noise."""
    out = tmp_path / "runs"
    err = refused_paper_run(capsys, "d3", out)
    assert "d3.encoder_path is not set" in err and not out.exists()


# --- upstream's frame extraction (ffmpeg's 8 fps JPEG files of a 3 s window) ---

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None,
                                  reason="the ffmpeg program is not installed (apt-get install ffmpeg)")


def _moving_mp4(path, fps, frames, size=(48, 96)):
    """A bright square moving two pixels per frame over a gradient: the first 44 frames are
    distinct."""
    from benchmark.data.corpus_render import encode_mp4

    h, w = size
    ramp = np.linspace(0, 0.6, w, dtype=np.float32)[None, :, None].repeat(h, 0).repeat(3, 2)
    out = []
    for t in range(frames):
        frame = ramp.copy()
        x = (2 * t) % (w - 8)
        frame[8:16, x:x + 8] = 1.0
        out.append(frame)
    encode_mp4(np.stack(out), path, fps=fps, crf=12)
    return str(path)


def _reader(**d3):
    from detectors.d3.reader import D3ClipReader

    spec = build_detector("d3", _config()).spec
    return D3ClipReader(spec, 0.0, frames_from="ffmpeg_jpeg", **d3)


@needs_ffmpeg
def test_ffmpeg_jpeg_resamples_to_8_fps_like_upstreams_command(tmp_path):
    """At 24 fps the fps filter keeps every third frame: each extracted frame is, up to JPEG
    error, one decoded frame, three decoded frames after the previous one (ffmpeg's rounding
    picks the phase)."""
    from benchmark.data.video import read_frames

    path = _moving_mp4(tmp_path / "a.mp4", fps=24, frames=96)
    reader = _reader()
    frames, index = reader.read_frames(path, None)
    assert index.tolist() == [list(range(8))]
    decoded = reader.transform(read_frames(path, list(range(0, 30)))).astype(float)
    best = []
    for i in range(8):
        errors = np.abs(decoded - frames[i]).mean(axis=(1, 2, 3))
        best.append(int(errors.argmin()))
        assert errors.min() < 4 and np.sort(errors)[1] > 2 * errors.min(), (i, errors)
    assert np.diff(best).tolist() == [3] * 7, best


@needs_ffmpeg
def test_ffmpeg_jpeg_matches_the_command_run_by_hand(tmp_path):
    import cv2

    path = _moving_mp4(tmp_path / "b.mp4", fps=8, frames=24)
    frames, _ = _reader().read_frames(path, None)
    by_hand = tmp_path / "frames"
    by_hand.mkdir()
    subprocess.run(["ffmpeg", "-loglevel", "quiet", "-y", "-ss", "0", "-t", "3", "-i", path,
                    "-vf", "fps=8", f"{by_hand}/%d.jpg"], check=True)
    upstream = np.stack([cv2.imread(str(by_hand / f"{i}.jpg"))[:, :, ::-1] for i in range(1, 9)])
    assert np.array_equal(frames, _reader().transform(upstream))


@needs_ffmpeg
def test_too_short_a_window_fails_the_video_with_its_reason(tmp_path):
    from benchmark.errors import VideoDecodeError

    path = _moving_mp4(tmp_path / "c.mp4", fps=8, frames=5)
    with pytest.raises(VideoDecodeError, match="8 fps window gave 5 frames, the clip needs 8"):
        _reader().read_frames(path, None)


@needs_ffmpeg
def test_a_perturbed_view_goes_through_the_same_extraction(tmp_path):
    """Robustness reads a perturbed view through `open`; with the identity view the frames
    piped to ffmpeg give the file's extraction up to the RGB→YUV round trip."""
    from benchmark.data.video import open_video

    path = _moving_mp4(tmp_path / "d.mp4", fps=24, frames=72)
    direct, _ = _reader().read_frames(path, None)
    reader = _reader()
    reader.opener = open_video
    piped, _ = reader.read_frames(path, None)
    assert direct.shape == piped.shape
    assert np.abs(direct.astype(float) - piped).mean() < 2.0


def test_window_start_is_upstreams_for_short_videos_and_seeded_for_long_ones():
    from detectors.d3.frames import start_second

    assert start_second(3.0, 3.0, "seeded_random", "a") == 0  # upstream: 0 up to 3 s
    assert start_second(10.0, 3.0, "first", "a") == 0
    starts = {start_second(10.0, 3.0, "seeded_random", f"v{i}") for i in range(40)}
    assert starts <= set(range(7)) and len(starts) > 3
    assert start_second(10.0, 3.0, "seeded_random", "v1") == start_second(10.0, 3.0,
                                                                          "seeded_random", "v1")


def test_paper_run_without_ffmpeg_is_refused_naming_the_way_out(tmp_path, capsys, monkeypatch):
    from detectors.d3 import frames

    monkeypatch.setattr(frames.shutil, "which", lambda name: None)
    out = tmp_path / "runs"
    err = refused_paper_run(capsys, "d3", out, "--cfg-options", "d3.encoder_path=/nowhere")
    assert "ffmpeg program, which is not on PATH" in err and "d3.frames_from=decoded" in err
    assert not out.exists()
