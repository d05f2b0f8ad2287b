"""The classes of source tracing: which videos are traced, under which class names, in which order.

Without a preset, the classes are ``real`` (when the data has real videos) followed by the
generators in sorted order; a class's index is its position. The ``mmvgm9`` preset is MMVGM's
nine-label setting (VGMShield, arXiv 2402.13126; labels in the published order) over a user's
folder-per-generator data: folder names map to labels through the aliases below, and real videos
are not traced, because upstream's tracing task has no real class (it trains on the nine
generators' videos only; real videos appear in its detection task).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from benchmark.errors import DataError, UnknownKeyError

REAL = "real"
MMVGM_LABELS = ("Hotshot-XL", "I2VGen-XL (i2v)", "I2VGen-XL (t2v)", "LaVie", "SEINE (i2v)",
                "Show-1", "SVD-XT (i2v)", "VideoCrafter (i2v)", "VideoCrafter (t2v)")
# Folder names are compared lower-case with everything but letters and digits removed
# ("SVD_XT-i2v" -> "svdxti2v"). Each label also accepts its own name compared that way.
MMVGM_ALIASES: dict[str, tuple[str, ...]] = {
    "Hotshot-XL": ("hotshot", "hotshotxl"),
    "I2VGen-XL (i2v)": ("i2vgenxli2v", "i2vgeni2v"),
    "I2VGen-XL (t2v)": ("i2vgenxlt2v", "i2vgent2v"),
    "LaVie": ("lavie",),
    "SEINE (i2v)": ("seine", "seinei2v"),
    "Show-1": ("show1",),
    "SVD-XT (i2v)": ("svd", "svdxt", "svdi2v", "svdxti2v", "stablevideodiffusion"),
    "VideoCrafter (i2v)": ("videocrafteri2v", "videocrafter1i2v", "vci2v"),
    "VideoCrafter (t2v)": ("videocraftert2v", "videocrafter1t2v", "vct2v"),
}
# Names that fit two labels: upstream generated both tasks with these models.
AMBIGUOUS = {"i2vgen": ("I2VGen-XL (i2v)", "I2VGen-XL (t2v)"),
             "i2vgenxl": ("I2VGen-XL (i2v)", "I2VGen-XL (t2v)"),
             "videocrafter": ("VideoCrafter (i2v)", "VideoCrafter (t2v)"),
             "videocrafter1": ("VideoCrafter (i2v)", "VideoCrafter (t2v)")}
PRESETS = ("none", "mmvgm9")


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _alias_table() -> dict[str, str]:
    table = {normalise(label): label for label in MMVGM_LABELS}
    table.update({alias: label for label, aliases in MMVGM_ALIASES.items() for alias in aliases})
    return table


@dataclass(frozen=True)
class ClassPlan:
    """The traced classes of a dataset.

    Attributes:
        classes: every class name in index order.
        class_of: manifest ``generator`` value → class name, for every traced generator.
        excluded: generator values that are not traced (``real`` under ``mmvgm9``).
    """

    classes: tuple[str, ...]
    class_of: dict[str, str] = field(default_factory=dict)
    excluded: tuple[str, ...] = ()

    def label(self, generators: pd.Series) -> pd.Series:
        """The class name of each row's generator (NaN where not traced)."""
        return generators.map(self.class_of)


def class_plan(manifest: pd.DataFrame, preset: str, data: str) -> ClassPlan:
    """The class plan of ``manifest`` under ``preset`` (``none`` or ``mmvgm9``).

    Raises:
        DataError: under ``mmvgm9``, a generator folder that matches no label or two labels, or a
            label no folder maps to.
    """
    generators = sorted(set(manifest.loc[manifest["label"] == 1, "generator"].astype(str)))
    has_real = bool((manifest["label"] == 0).any())
    if preset == "none":
        classes = ((REAL,) if has_real else ()) + tuple(generators)
        return ClassPlan(classes, {c: c for c in classes})
    if preset != "mmvgm9":
        raise UnknownKeyError("value of option 'preset'", preset, PRESETS)
    table, class_of = _alias_table(), {}
    for generator in generators:
        key = normalise(generator)
        if key in AMBIGUOUS:
            raise DataError(f"data {data!r}: generator folder {generator!r} fits both "
                            f"{' and '.join(map(repr, AMBIGUOUS[key]))} of preset mmvgm9; name "
                            f"the task in the folder, e.g. {generator}_i2v or {generator}_t2v")
        if key not in table:
            raise DataError(f"data {data!r}: generator folder {generator!r} matches none of the "
                            f"nine mmvgm9 labels; accepted folder names (case, '-', '_' and spaces "
                            f"ignored): {_accepted()}")
        class_of[generator] = table[key]
    missing = [label for label in MMVGM_LABELS if label not in class_of.values()]
    if missing:
        raise DataError(f"data {data!r}: preset mmvgm9 needs videos of all nine labels; no "
                        f"generator folder maps to {', '.join(map(repr, missing))} (found "
                        f"{', '.join(map(repr, generators)) or 'none'}; accepted: {_accepted()})")
    return ClassPlan(MMVGM_LABELS, class_of, (REAL,) if has_real else ())


def _accepted() -> str:
    return "; ".join(f"{label}: {', '.join(aliases)}" for label, aliases in MMVGM_ALIASES.items())


def resolve_held_out(names: tuple[str, ...], plan: ClassPlan, data: str) -> tuple[str, ...]:
    """Class names of the held-out generators given as generator (folder) or class names.

    Raises:
        DataError: ``real`` held out (real is not a generator).
        UnknownKeyError: a name that is no traced generator of the data.
    """
    by_name = {**{c: c for c in plan.classes}, **plan.class_of}
    out = []
    for name in names:
        if name == REAL or plan.class_of.get(name) == REAL:
            raise DataError(f"option held_out: 'real' cannot be held out (held-out classes are "
                            f"generators the model never saw); data {data!r}")
        if name not in by_name:
            raise UnknownKeyError(f"generator in option held_out (data {data!r})", name,
                                  [c for c in by_name if c != REAL])
        out.append(by_name[name])
    return tuple(dict.fromkeys(out))


def check_classes(manifest: pd.DataFrame, known: tuple[str, ...], held_out: tuple[str, ...],
                  data: str, trains: bool = True) -> None:
    """Refuses a known class without training (when training) or test videos, a held-out class
    without test videos, fewer than two known classes, and no validation videos when training."""
    counts = manifest.groupby(["class_name", "split"]).size()
    where = "; ".join(f"{c}: train {counts.get((c, 'train'), 0)}, val {counts.get((c, 'val'), 0)}, "
                      f"test {counts.get((c, 'test'), 0)}" for c in (*known, *held_out))
    if len(known) < 2:
        raise DataError(f"data {data!r}: source tracing needs at least two known classes, got "
                        f"{list(known)} (held out: {list(held_out)})")
    for name in known:
        for split in (("train", "test") if trains else ("test",)):
            if counts.get((name, split), 0) == 0:
                raise DataError(f"data {data!r}: class {name!r} has no {split} videos, so it "
                                f"cannot be {'learned' if split == 'train' else 'tested'} "
                                f"(videos per class: {where})")
    for name in held_out:
        if counts.get((name, "test"), 0) == 0:
            raise DataError(f"data {data!r}: held-out generator {name!r} has no test videos, so "
                            f"its 'unknown' AUROC cannot be measured (videos per class: {where})")
    if trains and not (manifest["class_name"].isin(known) & (manifest["split"] == "val")).any():
        raise DataError(f"data {data!r}: the validation split is empty; the checkpoint is chosen "
                        f"on validation balanced accuracy (videos per class: {where})")
