"""Which videos share a source, and the split rule: the two things leak-free splits rest on.

A fake made from a real video (FaceForensics++ names it ``<target>_<source>``; image-to-video and
video-to-video sets reuse the real file's stem) must land in the real video's split, or a detector
is tested on the content it was trained on. `group_sources` infers sources by name, across classes:

- files whose stems are equal after removing known generator suffixes (``clip7_sora`` → ``clip7``,
  also the row's own generator name, as a suffix or prefix) are one source;
- a fake ``A_B`` whose ``A`` and ``B`` are both real stems joins both (FF++ target and source);
- else a fake ``R_anything`` joins the longest real stem ``R`` it starts with (``R`` then ``_``,
  ``-`` or ``.``);
- a pairing file (``video_id`` or ``path``, and ``source_id`` columns) adds groups: videos it gives
  one source id are one source, together with whatever they were grouped with by name.

Where the layout has its own splits and they are kept, names are compared within each split only:
generic names (``video_00000`` in every AIGVDet folder) would otherwise join unrelated videos across
splits. Grouping never merges what the layout itself says are one source (DeepfakeBench
``dataset/video``, a manifest's ``source_id``): it only adds to it.
"""
from __future__ import annotations

import os

import pandas as pd

from benchmark.data.manifest import REAL, assign_splits, validate_manifest
from benchmark.data.options import DataOptions
from benchmark.data.scan import ReadLog, video_stem
from benchmark.errors import DataError
from benchmark.registry import LAYOUTS

GENERATED_SUFFIXES = ("fake", "fakes", "generated", "gen", "synthetic", "synth", "i2v", "t2v", "v2v",
                      "deepfake", "real", "orig", "original")
_SEPARATORS = "_-."


class _Union:
    """Union-find over row positions."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def name_key(stem: str, generator: str) -> str:
    """A file stem without known generator suffixes (and its own generator's name as a prefix)."""
    key, words = stem, {generator.lower(), *GENERATED_SUFFIXES}
    changed = True
    while changed:
        changed, low = False, key.lower()
        for word in words:
            for sep in _SEPARATORS:
                if low.endswith(sep + word) and len(key) > len(word) + 1:
                    key, changed = key[: -len(word) - 1], True
                    break
                if word == generator.lower() and low.startswith(word + sep) and len(key) > len(word) + 1:
                    key, changed = key[len(word) + 1:], True
                    break
            if changed:
                break
    return key


def _cut_points(key: str) -> list[int]:
    return [i for i, c in enumerate(key) if c in _SEPARATORS and 0 < i < len(key) - 1]


def _join_by_name(part: pd.DataFrame, union: _Union) -> None:
    """Unions within one scope (a split, or everything) by the rules in the module docstring."""
    keys = [name_key(video_stem(v), g) for v, g in zip(part["video_id"], part["generator"])]
    positions = part["_pos"].tolist()
    first: dict[str, int] = {}
    real = {k for k, g in zip(keys, part["generator"]) if g == REAL}
    for pos, key in zip(positions, keys):
        union.join(pos, first.setdefault(key, pos))
    for pos, key, gen in zip(positions, keys, part["generator"]):
        if gen == REAL or key in real:
            continue
        cuts = _cut_points(key)
        pair = [(key[:i], key[i + 1:]) for i in cuts if key[:i] in real and key[i + 1:] in real]
        if pair:  # FF++ <target>_<source>
            union.join(pos, first[pair[0][0]])
            union.join(pos, first[pair[0][1]])
            continue
        prefixes = [key[:i] for i in cuts if key[:i] in real]
        if prefixes:
            union.join(pos, first[max(prefixes, key=len)])


def _join_by_pairing(frame: pd.DataFrame, path: str, union: _Union) -> None:
    from benchmark.safe_text import read_csv_text

    try:
        pairs = read_csv_text(path, dtype=str)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"pairing file {path}: not a readable CSV ({error})") from None
    key = "video_id" if "video_id" in pairs.columns else "path"
    if key not in pairs.columns or "source_id" not in pairs.columns:
        raise DataError(f"pairing file {path}: expected columns video_id (or path) and source_id, "
                        f"found {', '.join(map(str, pairs.columns))}")
    folder = os.path.dirname(os.path.abspath(path))
    if key == "path":
        pairs["path"] = [os.path.normpath(p if os.path.isabs(p) else os.path.join(folder, p))
                         for p in pairs["path"]]
        where = {os.path.normpath(p): i for i, p in enumerate(frame["path"])}
    else:
        where = {v: i for i, v in enumerate(frame["video_id"])}
    missing = [v for v in pairs[key] if v not in where]
    if missing:
        import difflib

        close = difflib.get_close_matches(str(missing[0]), list(where), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DataError(f"pairing file {path}: {len(missing)} {key} value(s) are not in the data, e.g. "
                        f"{missing[0]!r}{hint}")
    first: dict[str, int] = {}
    for value, source in zip(pairs[key], pairs["source_id"]):
        union.join(where[value], first.setdefault(source, where[value]))


def source_rule(options: DataOptions, layout: str) -> str:
    """``stem`` or ``video`` for ``layout`` (resolves ``auto``, see `SOURCE_RULES`)."""
    if options.sources != "auto":
        return options.sources
    return "video" if layout == "aigvdet" else "stem"


def group_sources(frame: pd.DataFrame, options: DataOptions, by_split: bool, infer: bool,
                  log: ReadLog, layout: str = "") -> pd.DataFrame:
    """``frame`` with ``source_id`` set to one id per inferred source (see the module docstring).

    Args:
        frame: rows with ``video_id``, ``path``, ``generator``, ``split`` and ``source_id``.
        options: ``sources`` (``stem`` or ``video``) and ``pairing``.
        by_split: compare names within each split only (the layout's own splits are kept).
        infer: infer by name at all (False for manifests, whose ``source_id`` is authoritative).
        log: receives the grouping rule, for reports.
        layout: the layout read, for ``sources=auto``.
    """
    frame = frame.reset_index(drop=True).assign(_pos=range(len(frame)))
    union, first = _Union(len(frame)), {}
    for pos, code in enumerate(pd.factorize(frame["source_id"])[0]):  # the layout's own sources
        union.join(pos, first.setdefault(code, pos))
    rule = "the layout's source ids" if not infer else "each video its own source"
    declared = layout_account(layout)["sources"] if infer and layout else ""
    if infer and source_rule(options, layout) == "video" and options.sources == "auto":
        rule += f" ({layout}: names do not pair videos; sources=stem or a pairing file can)"
    if infer and source_rule(options, layout) == "stem":
        scopes = frame.groupby(frame["split"].fillna("")) if by_split else [("", frame)]
        for _, part in scopes:
            _join_by_name(part, union)
        rule = ("shared file stems after removing generator suffixes (FF++ <target>_<source> fakes "
                "join both)" + (", compared within each split" if by_split else ""))
    if options.pairing:
        _join_by_pairing(frame, options.pairing, union)
        rule += f", plus the pairing file {options.pairing}"
    log.grouping = f"{layout}'s {declared}; then {rule}" if declared else rule
    return _name_groups(frame, union).drop(columns="_pos")


def layout_account(layout: str) -> dict[str, str]:
    """What a registered layout says of itself: ``reads`` (the published files and version its reader reads;
    its description where it declares none) and ``sources`` (how it groups sources; empty where
    it declares none). A layout not registered here (``named``, ``manifest``) says nothing."""
    if layout not in LAYOUTS.usable():
        return {"layout": layout, "reads": "", "sources": ""}
    meta = LAYOUTS.meta(layout)
    return {"layout": layout, "reads": meta.get("reads") or LAYOUTS.description(layout),
            "sources": meta.get("sources") or ""}


def _name_groups(frame: pd.DataFrame, union: _Union) -> pd.DataFrame:
    """Each group's source id: its first real video's source id, else its first video's."""
    roots = [union.find(i) for i in range(len(frame))]
    order = frame.assign(_root=roots, _fake=frame["generator"] != REAL).sort_values(
        ["_root", "_fake", "source_id"], kind="stable")
    names = order.groupby("_root", sort=False)["source_id"].first()
    return frame.assign(source_id=[names[r] for r in roots])


def apply_split_rule(frame: pd.DataFrame, options: DataOptions, seed: int, origin: str,
                     log: ReadLog) -> pd.DataFrame:
    """Sets ``split`` by `DataOptions.split`: the layout's own, all test, or a seeded per-source cut."""
    kind, fractions = options.split_rule
    given = frame["split"].notna()
    if kind == "all-test":
        log.splitting = "all-test: every video is a test video" + (
            " (the layout's own splits are ignored)" if given.any() else "")
        return frame.assign(split="test")
    if kind == "given" and given.all():
        log.splitting = "the layout's own splits"
        return frame
    if kind == "given+val" and given.all():
        return _val_from_train(frame, fractions, seed, origin, log)
    if kind in ("given", "given+val") and given.any():
        example = frame.loc[~given, "video_id"].iloc[0]
        raise DataError(f"{origin}: some videos sit under a split folder and others do not "
                        f"(e.g. {example!r}); use one scheme, or --split 60/20/20 or all-test")
    fractions = fractions or (0.6, 0.2, 0.2)
    text = "/".join(f"{100 * f:g}" for f in fractions)
    log.splitting = (f"seeded {text} per source, stratified by the generators a source holds (seed {seed})"
                     + (" — replaces the layout's own splits" if given.any() else ""))
    return assign_splits(frame, fractions=fractions, seed=seed)


def _val_from_train(frame: pd.DataFrame, fractions: tuple, seed: int, origin: str,
                    log: ReadLog) -> pd.DataFrame:
    """The layout's own splits, with a seeded share of its train sources as val (``given+val``):
    for a layout that ships no val split, so checkpoints are never chosen on test."""
    has_val = frame["split"] == "val"
    if has_val.any():
        raise DataError(f"{origin}: --split given+val={100 * fractions[1]:g} carves a val split out "
                        f"of train, but the layout has its own ({int(has_val.sum())} val videos); "
                        f"use --split given")
    train = frame["split"] == "train"
    carved = assign_splits(frame[train], fractions=fractions, seed=seed)
    log.splitting = (f"the layout's own train and test splits; val: a seeded {100 * fractions[1]:g} % "
                     f"of the train sources (seed {seed}), stratified by generator — the layout "
                     f"has no val split")
    return frame.assign(split=carved["split"].reindex(frame.index).fillna(frame["split"]))


def finish_manifest(frame: pd.DataFrame, options: DataOptions, seed: int, origin: str,
                    log: ReadLog, layout: str = "") -> pd.DataFrame:
    """Raw reader rows → a validated manifest: sources grouped, split rule applied.

    Args:
        layout: the layout read; for ``manifest`` and named datasets the data's own ``source_id``
            is authoritative and nothing is inferred.
    """
    kind, _ = options.split_rule
    keep_splits = kind in ("given", "given+val") and frame["split"].notna().all()
    infer = layout not in ("manifest", "named")
    frame = group_sources(frame, options, by_split=keep_splits, infer=infer, log=log, layout=layout)
    frame = apply_split_rule(frame, options, seed, origin, log)
    return validate_manifest(frame, origin=origin)
