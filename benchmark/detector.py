"""The one interface every detector implements.

A detector is an mmaction2 recognizer (data_preprocessor + backbone + head) built from a plain-dict
config through mmaction2's ``MODELS`` registry. Protocols only call the methods below: they never
reach into the model.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, ClassVar, Mapping

from benchmark.checkpoint import (KeyMap, LoadSummary, load_parts, load_strict, official_state_dict,
                                  read_state_dict, resolve_parts)
from benchmark.config import DetectorConfig, load_method_config
from benchmark.errors import ConfigError, RegistryError

AGGREGATIONS = ("mean", "max", "median")
PRECISIONS = ("fp32", "bf16", "fp16")


def check_precision(precision: str, device: str) -> None:
    """Refuses an evaluation precision the device has no autocast for (`vbench run` checks this
    in preflight, before the run directory exists).

    Args:
        precision: ``fp32``, ``bf16`` or ``fp16`` (``--precision``).
        device: the resolved device, ``cpu``, ``cuda`` or ``cuda:N``.

    Raises:
        UnknownKeyError: an unknown precision.
        ConfigError: fp16 on a CPU (CPU autocast runs bf16 only), or bf16 on a GPU without it.
    """
    if precision not in PRECISIONS:
        from benchmark.errors import UnknownKeyError

        raise UnknownKeyError("precision", precision, PRECISIONS)
    if precision == "fp16" and not device.startswith("cuda"):
        raise ConfigError(f"--precision fp16 needs a CUDA device, but the run's device is "
                          f"{device} (CPU autocast runs bf16: use --precision bf16 or fp32)")
    if precision == "bf16" and device.startswith("cuda"):
        import torch

        # the condition under which torch.autocast itself refuses bf16 on a GPU
        if not torch.cuda.is_bf16_supported():
            raise ConfigError(f"--precision bf16: the GPU of device {device} "
                              f"({torch.cuda.get_device_name(device)}) does not support bfloat16; "
                              f"use --precision fp16 or fp32")


class Detector:
    """Base detector: builds the model, loads weights, scores clips.

    Subclasses set `key_map` (official checkpoint names → ours) and `ignore_keys` (official keys that
    are known to be unused), and may override `forward_logits` when the model is not a recognizer.

    Args:
        config: a plain dict with ``model`` (an mmaction2 model config), ``input`` (an InputSpec
            dict) and optional ``score`` (``{"type": "softmax", "fake_index": 1}`` or
            ``{"type": "sigmoid"}``), ``aggregation`` and ``task``.
    """

    key_map: ClassVar[KeyMap] = KeyMap()
    ignore_keys: ClassVar[tuple[str, ...]] = ()
    # Methods released as several files (AIGVDet's RGB and flow nets, GenConViT's ED and VAE):
    # part name -> KeyMap of that file. The KeyMap's inverse rules say which of our keys the part
    # holds. Empty: one file, `key_map`.
    weight_parts: ClassVar[dict[str, KeyMap]] = {}
    # The closed schema of this detector's configs (`benchmark.config`); subclasses add sections.
    config_schema: ClassVar[type[DetectorConfig]] = DetectorConfig
    # Whether `clip_reader(train=True)` applies ``train.augmentation``; a detector whose reader
    # cannot (e.g. frames aligned with cached flow) refuses configs that ask for it.
    supports_augmentation: ClassVar[bool] = True

    @classmethod
    def run_problem(cls, config: dict[str, Any], has_weights: bool) -> str | None:
        """Why a run of ``config`` must be refused before it starts (e.g. a training-free method
        with no weights to load), or None. Checked by `benchmark.preflight`."""
        return None
    # False for a training-free method (D3): `RunContext.train` records "nothing trained" instead
    # of training, and its scores, identical for every train set, are computed once per video.
    trainable: ClassVar[bool] = True

    @classmethod
    def load_config(cls, entry, name: str, path: Path, overrides: dict[str, Any]) -> dict[str, Any]:
        """One config of this detector's registry entry, validated (`benchmark.config`)."""
        return load_method_config(entry, name, path, overrides)

    def __init__(self, config: dict[str, Any]):
        from benchmark.compat import mmaction_models
        from benchmark.data.augment import build_augmentation
        from benchmark.data.spec import InputSpec

        self.config = copy.deepcopy(config)
        self.spec = InputSpec.from_dict(self.config["input"], origin=f"config {config.get('name')}")
        steps = self.config.get("train", {}).get("augmentation")
        if steps and not self.supports_augmentation:
            raise ConfigError(f"config {config.get('method')}/{config.get('name')}: "
                              f"train.augmentation is not supported by {type(self).__name__}'s "
                              f"clip reader; remove it")
        self.augmentation = build_augmentation(steps, f"config {config.get('name')}: train.augmentation")
        self.score_cfg = {"type": "softmax", "fake_index": 1, **self.config.get("score", {})}
        self.aggregation = self.config.get("aggregation", "mean")
        if self.aggregation not in AGGREGATIONS:
            raise RegistryError(f"config {config.get('name')}: aggregation '{self.aggregation}' "
                                f"is not one of {AGGREGATIONS}")
        self.model = mmaction_models().build(copy.deepcopy(self.config["model"]))
        self.model.eval()

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def num_classes(self) -> int | None:
        """Outputs of the classification head (2 for detection, K for a K-way task); None for a
        head that does not declare ``num_classes`` (e.g. a one-logit sigmoid head)."""
        value = self.config["model"].get("cls_head", {}).get("num_classes")
        return None if value is None else int(value)

    @classmethod
    def with_num_classes(cls, config: dict[str, Any], num_classes: int) -> dict[str, Any]:
        """A copy of ``config`` whose head has ``num_classes`` outputs (multi-class tasks).

        The base class sets ``model.cls_head.num_classes``; a detector whose head names its class
        count otherwise, or that cannot train K classes as configured, overrides this.

        Raises:
            ConfigError: a one-logit (sigmoid) head, which cannot give K class probabilities.
        """
        name = f"config {config.get('method')}/{config.get('name')}"
        if config.get("score", {}).get("type") == "sigmoid":
            raise ConfigError(f"{name}: a sigmoid-scored detector has one logit and cannot "
                              f"output {num_classes} class probabilities")
        if "num_classes" not in config["model"].get("cls_head", {}):
            raise ConfigError(f"{name}: model.cls_head declares no num_classes; "
                              f"{cls.__name__}.with_num_classes must say how to set K classes")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ConfigError(f"{name}: a multi-class head needs an int >= 2 classes, "
                              f"got {num_classes!r}")
        out = copy.deepcopy(config)
        out["model"]["cls_head"]["num_classes"] = num_classes
        return out

    def to(self, device) -> "Detector":
        self.model.to(device)
        return self

    def set_inference(self, precision: str = "fp32", channels_last: bool = False) -> "Detector":
        """How the forward runs in evaluation: autocast to ``bf16``/``fp16`` (weights stay fp32,
        logits come back as fp32), and channels-last memory for conv networks (4-D and 5-D
        weights). Training is unaffected.

        Raises:
            ConfigError: an unknown precision, or fp16 on a CPU (no fp16 autocast there).
        """
        import torch

        check_precision(precision, str(self.device))
        self.precision = precision
        if channels_last:
            for module in self.model.modules():
                for name, param in module.named_parameters(recurse=False):
                    if param.dim() in (4, 5):
                        fmt = torch.channels_last if param.dim() == 4 else torch.channels_last_3d
                        param.data = param.data.contiguous(memory_format=fmt)
        return self

    @property
    def clip_shape(self) -> tuple[int, int, int, int]:
        """Shape of one clip as its `clip_reader` delivers it to `clip_scores`, ``(3, T, H, W)``.

        The input spec's shape unless the reader adds frames (AIGVDet's flow images) or cuts
        clips differently (GenConViT's one-frame face clips); cost and golden tests build their
        clips from it.
        """
        return self.spec.clip_shape

    # -- weights ---------------------------------------------------------------------------------
    def load_weights(self, path: str | Path | Mapping[str, str | Path],
                     sha256: str | Mapping[str, str] | None = None) -> LoadSummary:
        """Loads a checkpoint in the official layout, strictly.

        Args:
            path: one file; for a method with `weight_parts`, ``{part: file}``, the string
                ``"part=file,part=file"``, or a folder holding every part's official file name.
            sha256: expected digest (``{part: digest}`` for parts).
        """
        if self.weight_parts:
            files = resolve_parts(path, self.weight_parts, self.part_files())
            digests = sha256 if isinstance(sha256, Mapping) else {}
            states = {part: read_state_dict(f, sha256=digests.get(part)) for part, f in files.items()}
            return load_parts(self.model, states, files, self.weight_parts, self.ignore_keys)
        state = read_state_dict(path, sha256=sha256)
        return load_strict(self.model, state, path, self.key_map, self.ignore_keys)

    def part_files(self) -> dict[str, str]:
        """Official file name of each weight part (from the config's ``weights_files``)."""
        return dict(self.config.get("weights_files", {}))

    def official_state_dict(self) -> dict:
        """The weights under the official checkpoint's key names (``{part: state}`` for parts)."""
        if self.weight_parts:
            return {part: official_state_dict(self.model, key_map, only_mapped=True)
                    for part, key_map in self.weight_parts.items()}
        return official_state_dict(self.model, self.key_map)

    def clip_reader(self, spec=None, train: bool = False):
        """How the data layer turns one video into this detector's clips (runs in workers).

        Args:
            spec: the input spec to read with (training swaps in one random clip); `spec` if None.
            train: a training reader, which applies ``train.augmentation`` to each clip.
        """
        from benchmark.data.dataset import ClipReader

        return ClipReader(spec or self.spec, augment=self.augmentation if train else None)

    # -- training --------------------------------------------------------------------------------
    def train_batch_transform(self, clips, labels, generator):
        """Batch-level training augmentation (identity here; e.g. StA's Video-level Blending).

        Args:
            clips: uint8 ``[N, 3, T, H, W]``.
            labels: ``[N]`` long.
            generator: the ``torch.Generator`` that makes the augmentation reproducible.
        """
        return clips, labels

    # -- inference -------------------------------------------------------------------------------
    def normalize(self, clips):
        """uint8 ``[N, 3, T, H, W]`` → float, normalised by the model's data preprocessor."""
        pre = self.model.data_preprocessor
        x = clips.to(self.device, non_blocking=True).float()  # [N, 3, T, H, W]
        if getattr(pre, "_enable_normalize", False):
            x = (x - pre.mean) / pre.std
        return x

    def forward_logits(self, x):
        """Normalised ``[N, 3, T, H, W]`` → logits ``[N, num_classes]``."""
        feats, _ = self.model.extract_feat(x[:, None], test_mode=True)  # one view per clip
        return self.model.cls_head(feats)

    def clip_logits(self, clips):
        """uint8 clips ``[N, 3, T, H, W]`` → logits ``[N, num_classes]`` (eval, no grad)."""
        import torch

        self.model.eval()
        precision = getattr(self, "precision", "fp32")
        with torch.inference_mode(), torch.autocast(
                self.device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16,
                enabled=precision != "fp32"):
            return self.forward_logits(self.normalize(clips)).float()

    def scores_from_logits(self, logits):
        """One score per clip in [0, 1], higher = more likely generated."""
        if self.score_cfg["type"] == "sigmoid":
            return logits.reshape(len(logits), -1)[:, 0].sigmoid()
        return logits.softmax(dim=1)[:, self.score_cfg["fake_index"]]

    def clip_scores(self, clips):
        """uint8 clips ``[N, 3, T, H, W]`` → P(generated) ``[N]``."""
        return self.scores_from_logits(self.clip_logits(clips))

    def class_probs(self, clips):
        """uint8 clips → class probabilities ``[N, num_classes]`` (multi-class tasks).

        A sigmoid-scored (one-logit) detector gives ``[1 - p, p]``.
        """
        return self.probs_from_logits(self.clip_logits(clips))

    def probs_from_logits(self, logits):
        """Logits ``[N, num_classes]`` → class probabilities ``[N, num_classes]`` (see
        `class_probs`)."""
        import torch

        if self.score_cfg["type"] == "sigmoid":
            p = self.scores_from_logits(logits)
            return torch.stack([1 - p, p], dim=1)
        return logits.softmax(dim=1)

    def aggregate(self, clip_scores, video_index, num_videos: int):
        """Per-clip scores ``[N_clips]`` → per-video scores ``[num_videos]`` by `aggregation`."""
        return aggregate(clip_scores, video_index, num_videos, self.aggregation)

    def aggregate_probs(self, clip_probs, video_index, num_videos: int):
        """Per-clip class probabilities ``[N_clips, K]`` → per video ``[num_videos, K]``.

        Each class is aggregated over the clips by `aggregation`; ``max`` and ``median`` rows are
        then divided by their sum so that they stay distributions (``mean`` rows already are).
        """
        import torch

        columns = [aggregate(clip_probs[:, k], video_index, num_videos, self.aggregation)
                   for k in range(clip_probs.shape[1])]
        video = torch.stack(columns, dim=1)  # [num_videos, K]
        if self.aggregation == "mean":
            return video
        return video / video.sum(dim=1, keepdim=True).clamp_min(1e-12)

    def video_scores(self, clips, video_index, num_videos: int, valid=None):
        """uint8 clips of a batch → one score per video ``[num_videos]``: the clips' scores
        aggregated. Detectors whose readers mark the frame slots that count (``valid``, e.g.
        AIGVDet's overlapping clips) override it to score exactly those."""
        return self.aggregate(self.clip_scores(clips), video_index, num_videos)


def aggregate(values, index, num_videos: int, how: str = "mean"):
    """Groups ``values [N]`` by ``index [N]`` (0..num_videos-1) and reduces each group."""
    import torch

    values, index = values.float(), index.to(values.device).long()
    if how == "mean":
        total = torch.zeros(num_videos, device=values.device).index_add_(0, index, values)
        count = torch.zeros(num_videos, device=values.device).index_add_(0, index, torch.ones_like(values))
        return total / count.clamp_min(1)
    if how == "max":
        out = torch.full((num_videos,), float("-inf"), device=values.device)
        return out.scatter_reduce(0, index, values, reduce="amax")
    if how == "median":
        return torch.stack([values[index == i].median() for i in range(num_videos)])
    raise ValueError(f"aggregation '{how}' is not one of {AGGREGATIONS}")


def build_detector(method: str, config: str | dict[str, Any] = "mini",
                   registry_path: str | None = None) -> Detector:
    """Builds a registered method's detector from a config name (``mini``/``paper``) or dict."""
    from benchmark.registry import registry

    entry = registry(registry_path).get(method)
    if entry.kind != "detector":
        raise RegistryError(f"{entry.origin}: method '{method}' is a {entry.kind}, not a detector; "
                            f"build it with benchmark.defence.build_defence('{method}')")
    cls = entry.load_class()
    if not (isinstance(cls, type) and issubclass(cls, Detector)):
        raise RegistryError(f"{entry.origin}: '{entry.entry_point}' is not a Detector subclass")
    return cls(entry.config(config) if isinstance(config, str) else config)
