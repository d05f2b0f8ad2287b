"""D3 as a vbench detector: a frozen frame encoder, then a statistic; nothing is trained.

The model is an mmaction2 ``Recognizer3D``: ``ActionDataPreprocessor`` (ImageNet mean/std, as
upstream's ``albumentations.Normalize``), `D3FrameEncoder` (X-CLIP's vision tower per frame) and
`D3Head` (the std of second-order feature distances → one logit, sigmoid score).

Released weights: upstream loads ``microsoft/xclip-base-patch16`` with
``XCLIPVisionModel.from_pretrained``, which keeps the full X-CLIP checkpoint's ``vision_model.*``
tensors and drops the rest. We load that same file (a ``transformers`` folder holding
``model.safetensors`` or ``pytorch_model.bin``, or the file itself) strictly:

=========================  ===========================
official key               ours
=========================  ===========================
``vision_model.<r>``       ``backbone.encoder.<r>``
``text_model.*``, ``mit.*``, ``prompts_*``, ``visual_projection.*``, ``text_projection.*``,
``logit_scale``            ignored (not on the image-feature path), reported
=========================  ===========================
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, ClassVar, Literal, Mapping, Optional

from pydantic import Field

from benchmark.api import Detector, KeyMap, WeightsError
from benchmark.config import DetectorConfig, Section
from detectors.d3 import backbone as _backbone  # noqa: F401  registers D3FrameEncoder
from detectors.d3 import head as _head  # noqa: F401  registers D3Head
from detectors.d3.frames import ffmpeg_program
from detectors.d3.reader import D3ClipReader

log = logging.getLogger("vbench.d3")
D3_KEY_MAP = KeyMap.prefixes([("vision_model.", "backbone.encoder.")])
UNUSED = (r"^text_model\.", r"^mit\.", r"^prompts_", r"^visual_projection\.",
          r"^text_projection\.", r"^logit_scale$")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class D3Section(Section):
    """Where the frozen encoder comes from and upstream's input quirks."""

    encoder_path: Optional[str] = None  # a transformers folder or a checkpoint file; None: random
    # A run with no encoder_path (and no --weights) is refused unless this says a random encoder
    # is meant (the mini); nothing is trained, so a random paper encoder would score noise.
    random_encoder: bool = False
    channel_order: Literal["rgb", "upstream_bgr"] = "upstream_bgr"  # cv2.imread, never converted
    crop_fraction: float = Field(0.1, ge=0.0, lt=0.5)  # cut from each end of the long side
    # where frames come from: upstream's ffmpeg JPEG extraction (detectors/d3/frames.py) or the
    # decoded video (a documented difference: moves the statistic by about a fifth)
    frames_from: Literal["decoded", "ffmpeg_jpeg"] = "decoded"
    fps: float = Field(8.0, gt=0)          # video2frame.py: -vf fps=8
    window_s: float = Field(3.0, gt=0)     # video2frame.py: -t 3
    start: Literal["first", "seeded_random"] = "first"  # where a window of a longer video starts


class D3Config(DetectorConfig):
    d3: D3Section = Field(default_factory=D3Section)


class D3Detector(Detector):
    """D3; score = sigmoid((center - std of second-order distances) / temperature).

    Args:
        config: see `benchmark.detector.Detector`, plus ``d3`` (`D3Section`).
    """

    key_map: ClassVar[KeyMap] = D3_KEY_MAP
    ignore_keys: ClassVar[tuple[str, ...]] = UNUSED
    config_schema: ClassVar[type[DetectorConfig]] = D3Config
    supports_augmentation: ClassVar[bool] = False  # nothing is trained
    trainable: ClassVar[bool] = False

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self.d3 = {**D3Section().model_dump(), **self.config.get("d3", {})}
        if self.d3["encoder_path"]:
            log.info("d3: %s", self.load_weights(self.d3["encoder_path"]))
        else:
            log.warning("d3 config %s: no d3.encoder_path: the encoder keeps its random "
                        "initialisation (set it to the released encoder's folder)", config.get("name"))

    @classmethod
    def run_problem(cls, config: dict[str, Any], has_weights: bool) -> str | None:
        """Why a run of ``config`` would report noise: no encoder to load and none meant random."""
        d3 = {**D3Section().model_dump(), **config.get("d3", {})}
        if d3["frames_from"] == "ffmpeg_jpeg" and ffmpeg_program() is None:
            return (f"d3 config {config.get('name')}: d3.frames_from=ffmpeg_jpeg runs upstream's "
                    f"frame extraction with the ffmpeg program, which is not on PATH; install it "
                    f"(apt-get install ffmpeg) or pass --cfg-options d3.frames_from=decoded "
                    f"(recorded: the statistic then differs from upstream's)")
        if has_weights or d3["encoder_path"] or d3["random_encoder"]:
            return None
        return (f"d3 config {config.get('name')}: d3.encoder_path is not set, and D3 trains "
                f"nothing, so its scores would come from a random encoder; pass "
                f"--cfg-options d3.encoder_path=/path/to/xclip-base-patch16 (a local transformers "
                f"folder) or --weights FILE")

    def clip_reader(self, spec=None, train: bool = False):
        d3 = self.d3
        return D3ClipReader(spec or self.spec, d3["crop_fraction"], frames_from=d3["frames_from"],
                            fps=d3["fps"], window_s=d3["window_s"], start=d3["start"])

    def normalize(self, clips):
        """Upstream feeds OpenCV's BGR frames to an RGB encoder with the ImageNet mean/std in RGB
        order; ``upstream_bgr`` reverses the channels before the same normalisation."""
        if self.d3["channel_order"] == "upstream_bgr":
            clips = clips.flip(1)  # [N, 3, T, H, W], channels B, G, R
        return super().normalize(clips)

    def load_weights(self, path, sha256: str | None = None):
        """The released encoder from a ``transformers`` folder (its ``config.json`` must agree with
        ours) or from the checkpoint file itself, strictly (`benchmark.checkpoint.load_strict`)."""
        from benchmark.checkpoint import load_strict, read_state_dict

        path = Path(path)
        if path.is_dir():
            _check_folder_config(path, self.config["model"]["backbone"]["config"])
            found = [path / f for f in WEIGHT_FILES if (path / f).is_file()]
            if not found:
                raise WeightsError(f"{path}: no {' or '.join(WEIGHT_FILES)} in this folder")
            path = found[0]
        if path.suffix == ".safetensors":
            state = _read_safetensors(path)
        else:
            state = read_state_dict(path, sha256=sha256)
        return load_strict(self.model, state, path, self.key_map, self.ignore_keys)


def _read_safetensors(path: Path) -> dict:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from None


def _check_folder_config(folder: Path, ours: Mapping[str, Any]) -> None:
    """Refuses a folder whose ``config.json`` (its ``vision_config`` for a full X-CLIP) gives a
    field of our encoder config another value, naming the field and both values."""
    file = folder / "config.json"
    if not file.is_file():
        return
    theirs = json.loads(file.read_text())
    theirs = theirs.get("vision_config", theirs)
    for key, value in ours.items():
        if key in theirs and theirs[key] != value:
            raise WeightsError(f"{file}: vision field '{key}' is {theirs[key]!r} but the d3 config "
                               f"has model.backbone.config.{key}={value!r}")
