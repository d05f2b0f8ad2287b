"""Dataset cards: a manifest as Croissant 1.0 JSON-LD (mlcommons.org/croissant/1.0), with the
sha256 of every video, written by ``vbench data inspect --card`` and hashed into each run.

The card holds one ``cr:FileObject`` per manifest row (``contentUrl`` relative to the folder all
videos share, ``encodingFormat``, ``sha256``: of the file's bytes, or for a frame folder of its
``sha256sum`` listing, see `benchmark.data.fingerprint.compute_sha256`), one ``cr:RecordSet``
describing the manifest's fields, and under ``vbench:*`` keys the layout that read it (what it
reads, how it groups sources), the split rule, the source grouping and the videos per split. It
holds no time, host or absolute path, so the same data gives the same bytes: `card_bytes` is what
is written and `card_hash` (its sha256) is what a run records.
"""
from __future__ import annotations

import hashlib
import json
import mimetypes
import os
from typing import Any

from benchmark.data.prepared import PreparedData

CONTEXT = {"@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
           "cr": "http://mlcommons.org/croissant/", "vbench": "https://github.com/vbench/vbench#",
           "citeAs": "cr:citeAs", "column": "cr:column", "conformsTo": "dct:conformsTo",
           "dct": "http://purl.org/dc/terms/", "data": {"@id": "cr:data", "@type": "@json"},
           "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "extract": "cr:extract",
           "field": "cr:field", "fileObject": "cr:fileObject", "recordSet": "cr:recordSet",
           "source": "cr:source", "md5": "cr:md5"}
# manifest column → (Croissant data type, what it holds)
FIELDS = {"video_id": ("sc:Text", "the video's id, unique in the manifest"),
          "label": ("sc:Integer", "0 real, 1 generated"),
          "generator": ("sc:Text", "the generator as the dataset names it; 'real' for real videos"),
          "split": ("sc:Text", "train, val or test"),
          "source_id": ("sc:Text", "videos of one source (a real clip and the fakes made from it, "
                                   "one prompt) always share a split"),
          "dataset": ("sc:Text", "the dataset (or version) the video belongs to")}


def _format(path: str) -> str:
    if os.path.isdir(path):
        return "image/jpeg" if any(n.lower().endswith((".jpg", ".jpeg")) for n in os.listdir(path)) \
            else "image/png"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def _files(manifest) -> list[dict[str, Any]]:
    from benchmark.data.fingerprint import sha256_paths

    paths = [os.path.abspath(p) for p in manifest["path"]]
    sums = sha256_paths(paths)
    base = os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else ""
    return [{"@type": "cr:FileObject", "@id": f"file/{vid}", "name": str(vid),
             "contentUrl": os.path.relpath(path, base).replace(os.sep, "/"),
             "encodingFormat": _format(path), "sha256": sums[path]}
            for vid, path in zip(manifest["video_id"], paths)]


def _record_set(manifest) -> dict[str, Any]:
    columns = [c for c in FIELDS if c in manifest.columns]
    return {"@type": "cr:RecordSet", "@id": "manifest", "name": "manifest",
            "description": "one record per video, as vbench's manifest holds it",
            "field": [{"@type": "cr:Field", "@id": f"manifest/{c}", "name": c,
                       "description": FIELDS[c][1], "dataType": FIELDS[c][0],
                       "source": {"extract": {"column": c}}} for c in columns]}


def build_card(prepared: PreparedData) -> dict[str, Any]:
    """The Croissant card of ``prepared``'s manifest (see the module docstring)."""
    from benchmark.data.sources import layout_account
    from benchmark import __version__

    m = prepared.manifest
    counts = m.groupby(["split", "label"]).size()
    splits = {s: {"real": int(counts.get((s, 0), 0)), "generated": int(counts.get((s, 1), 0))}
              for s in ("train", "val", "test")}
    return {"@context": CONTEXT, "@type": "sc:Dataset", "name": prepared.name,
            "conformsTo": "http://mlcommons.org/croissant/1.0",
            "description": f"{len(m)} videos read by vbench from {os.path.basename(prepared.spec)}",
            "distribution": _files(m), "recordSet": [_record_set(m)],
            "vbench:readers": [layout_account(p.layout) for p in (prepared.parts or [prepared])],
            "vbench:splitting": prepared.log.splitting, "vbench:grouping": prepared.log.grouping,
            "vbench:splits": splits, "vbench:sources": int(m["source_id"].nunique()),
            "vbench:generators": sorted(map(str, set(m["generator"]))),
            "vbench:version": __version__}


def card_bytes(prepared: PreparedData) -> bytes:
    """The card as written: sorted keys, two-space indent, UTF-8, one final newline."""
    text = json.dumps(build_card(prepared), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def card_hash(prepared: PreparedData) -> str:
    """The sha256 of `card_bytes`: what a run records as its data's card."""
    return hashlib.sha256(card_bytes(prepared)).hexdigest()
