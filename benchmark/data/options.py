"""How to read user data: layout, root, real folder names, split rule, compression, pairing.

`DataOptions` is what the CLI flags (``--layout``, ``--data-root``, ``--real-dirs``, ``--split``,
``--option compression=c40``) become; `benchmark.data.prepare.resolve_data` and
`benchmark.data.prepare.prepare_data` take it. It imports nothing heavy.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Mapping

from benchmark.errors import DataError, UnknownKeyError
from benchmark.registry import LAYOUTS

# The built-in layouts' descriptions (`benchmark.builtin` registers them; plugins add more to
# `benchmark.registry.LAYOUTS`).
DATASET_LAYOUTS = {
    "manifest": "a CSV manifest (video_id, path, label, generator, split, source_id, dataset), "
                "or a folder holding manifest.csv",
    "deepfakebench": "a DeepfakeBench JSON index {dataset: {label_name: {train|val|test: "
                     "[{c23|c40|raw}:] {video: {label, frames: [...]}}}}} (preprocessing/rearrange.py); "
                     "label names with a 'real' part are real; relative frame paths start at "
                     "--data-root; compression=c23|c40|raw|all picks the level",
    "genconvit": "{root}/{train|valid|test}/{real|fake}/ videos, frame folders, or loose face-crop "
                 "images <video>_<frame>.jpg (GenConViT)",
    "aigvdet": "{root}/{train|val|test}/{set}/{0_real|1_fake}/{video}/{frame}.png (AIGVDet: a set "
               "folder such as trainset_1 is a dataset, not a generator), or "
               "{root}/{split}/[original/][T2V/]{generator}/{0_real|1_fake}/... (per-generator test "
               "sets; a real video repeated under every generator is one video)",
    "generator_folders": "{root}/{generator}/*.mp4 (MMVGM); a folder named real, real_videos, "
                         "pristine, original, ... (or listed in --real-dirs) holds the real videos",
}
SPLIT_RULES = {
    "given": "the layout's own train/val/test folders or columns (else 60/20/20)",
    "given+val=P": "the layout's own train and test splits, for a layout without a val split "
                   "(GenVidBench): P percent of the train sources, seeded, become val",
    "all-test": "every video is a test video (evaluation only: nothing is left out)",
    "A/B/C": "a seeded split per source with these train/val/test percentages, e.g. 60/20/20",
}
# c23|c40|raw: DeepfakeBench (FF++) levels; canonical|crf23|crf40: the SynthForensics layout's versions
COMPRESSION_LEVELS = ("c23", "c40", "raw", "all", "canonical", "crf23", "crf40")
SOURCE_RULES = {
    "auto": "stem, except for the aigvdet layout (video): AIGVDet numbers the videos of each "
            "class folder independently, so video_00000 in 0_real and 1_fake are unrelated",
    "stem": "files whose names share a stem (after removing generator suffixes; FF++ "
            "<target>_<source> fakes join both) are one source",
    "video": "every video is its own source",
}
IMAGE_RULES = {
    "auto": "loose images named <video>_<frame>.jpg form one video per <video>; otherwise each image "
            "is a one-frame video (with a warning)",
    "each": "each loose image is a one-frame video",
}
_VAL_FROM_TRAIN = re.compile(r"\s*given\s*\+\s*val\s*=\s*(\d+(?:\.\d+)?)\s*")
_FRACTIONS = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*")


def parse_split(rule: str | None) -> tuple[str, tuple[float, float, float] | None]:
    """``None`` / ``"given"`` / ``"given+val=20"`` / ``"all-test"`` / ``"60/20/20"`` → (kind,
    fractions or None; for ``given+val`` the (train, val, 0) shares of the train sources).

    Raises:
        DataError: anything else, e.g. ``"60/20"`` or percentages that do not sum to 100.
    """
    if rule is None or rule == "given":
        return "given", None
    if rule == "all-test":
        return "all-test", None
    carve = _VAL_FROM_TRAIN.fullmatch(str(rule))
    if carve:
        share = float(carve.group(1))
        if not 0 < share < 100:
            raise DataError(f"--split {rule}: the val share of the train sources must lie between "
                            f"0 and 100 %, got {share:g}")
        return "given+val", (1 - share / 100, share / 100, 0.0)
    match = _FRACTIONS.fullmatch(str(rule))
    if not match:
        raise DataError(f"--split: expected 'given', 'given+val=P', 'all-test' or train/val/test "
                        f"percentages such as 60/20/20, got {rule!r}")
    parts = [float(p) for p in match.groups()]
    if abs(sum(parts) - 100) > 1e-6 or parts[0] <= 0 or parts[2] <= 0:
        raise DataError(f"--split {rule}: the three percentages must sum to 100 with train and "
                        f"test above 0 (got a sum of {sum(parts):g})")
    return "fractions", (parts[0] / 100, parts[1] / 100, parts[2] / 100)


_KINDS = {"layout": "dataset layout", "compression": "compression level (data option compression)",
          "sources": "source rule (data option sources)", "images": "image rule (data option images)"}


def _choice(name: str, value: Any, allowed) -> None:
    if value not in allowed:
        raise UnknownKeyError(_KINDS[name], str(value), allowed)


@dataclass(frozen=True)
class DataOptions:
    """How to read ``--data`` (all optional).

    Attributes:
        layout: a registered layout (`benchmark.registry.LAYOUTS`); None detects it.
        root: folder that relative paths start from (DeepfakeBench frame paths, manifest paths);
            None: the JSON's or manifest's own folder.
        real_dirs: folder or label names that hold real videos, besides the built-in list
            (`benchmark.data.scan.REAL_FOLDER_NAMES`); matched case-insensitively.
        split: a rule of `SPLIT_RULES`: None or ``"given"``, ``"all-test"``, or ``"60/20/20"``.
        compression: DeepfakeBench compression level (``c23``, ``c40``, ``raw``, or ``all``).
        pairing: a CSV file with ``video_id`` (or ``path``) and ``source_id`` columns that says
            which videos share a source; it adds to the grouping by name (``sources=video`` to
            rely on the file alone).
        sources: how sources are inferred, a key of `SOURCE_RULES` (``auto`` picks per layout).
        images: how loose images in a class folder become videos, a key of `IMAGE_RULES`.
        dataset: the ``dataset`` column for layouts without one (default: the folder name).
        fingerprint: compute content fingerprints (`benchmark.data.fingerprint`).
    """

    layout: str | None = None
    root: str | None = None
    real_dirs: tuple[str, ...] = ()
    split: str | None = None
    compression: str = "c23"
    pairing: str | None = None
    sources: str = "auto"
    images: str = "auto"
    dataset: str | None = None
    fingerprint: bool = True

    def __post_init__(self) -> None:
        if self.layout is not None:
            LAYOUTS.require(self.layout)  # built-in or a plugin's; did-you-mean otherwise
        if isinstance(self.real_dirs, str):
            object.__setattr__(self, "real_dirs", tuple(d for d in self.real_dirs.split(",") if d))
        object.__setattr__(self, "real_dirs", tuple(str(d).strip().strip("/") for d in self.real_dirs))
        parse_split(self.split)
        _choice("compression", self.compression, COMPRESSION_LEVELS)
        _choice("sources", self.sources, SOURCE_RULES)
        _choice("images", self.images, IMAGE_RULES)
        if not isinstance(self.fingerprint, bool):
            raise DataError(f"data option 'fingerprint' must be true or false, got {self.fingerprint!r}")

    @property
    def split_rule(self) -> tuple[str, tuple[float, float, float] | None]:
        """(``given`` | ``all-test`` | ``fractions``, fractions or None)."""
        return parse_split(self.split)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], origin: str = "--option") -> "DataOptions":
        """Options from ``{name: value}`` (strings from the command line are accepted).

        Raises:
            UnknownKeyError: an unknown option name (with did-you-mean) or value.
            DataError: a malformed value.
        """
        known = [f.name for f in dataclasses.fields(cls)]
        out: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise UnknownKeyError(f"data option in {origin}:", str(key), known)
            if key == "fingerprint" and isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise DataError(f"{origin}: fingerprint must be true or false, got {value!r}")
                value = value.lower() in ("true", "1", "yes")
            out[key] = value
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as recorded in run records."""
        d = dataclasses.asdict(self)
        d["real_dirs"] = list(self.real_dirs)
        return d
