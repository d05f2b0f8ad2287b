"""Text that is safe to open anywhere: spreadsheets, Markdown viewers, terminals and browsers.

Names in reports (generators, datasets, video ids, methods) come from folder names and user
manifests, so they can hold anything. Every report writer passes them through these functions:

- `csv_cell` / `csv_frame`: a cell that a spreadsheet would run as a formula (it starts with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, OWASP "CSV injection") gets a leading
  ``'``; numbers, negative ones included, stay numbers. `csv_uncell` / `read_csv_text` undo it,
  so a name survives a write/read round trip unchanged.
- `markdown_cell`: Markdown and HTML syntax in a name is escaped, so ``[x](javascript:...)`` stays
  text and ``<img onerror=...>`` is shown, not rendered; ``|`` and newlines cannot break a table.
- `show_controls`: bidirectional and other invisible control characters are shown as ``\\u202e``
  escapes, so ``gen\\u202eelif.exe`` cannot display as ``genexe.file``.
- `read_csv_text`: reads a CSV keeping ``NA``, ``null``, ``None``, ``nan`` as the names they are.
"""
from __future__ import annotations

import re
from typing import Any

# OWASP's list, plus the full-width forms some spreadsheets also treat as formula starts.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# Bidirectional embeddings/overrides/isolates and marks (Trojan Source, CVE-2021-42574), zero-width
# characters, and C0/C1 controls: each can make a name display as something it is not.
_HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060\ufeff"
                     "\x00-\x1f\x7f-\x9f]")
_MARKDOWN = re.compile(r"([\\`*_\[\]()!|~])")  # what can start a link, image, emphasis, code or cell
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def _is_formula(text: str) -> bool:
    bare = text.lstrip("'")
    return bare.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(bare)


def csv_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when a spreadsheet would run it as a formula.

    Only strings change; numbers (``-0.5`` as a float or as the text ``"-0.5"``) stay as they are.
    A string that already starts with ``'`` before a formula character gets one more, so
    `csv_uncell` can always undo exactly one.
    """
    if isinstance(value, str) and _is_formula(value):
        return "'" + value
    return value


def csv_uncell(value: Any) -> Any:
    """Undoes `csv_cell`: drops the one ``'`` it added."""
    if isinstance(value, str) and value.startswith("'") and _is_formula(value):
        return value[1:]
    return value


def _is_text(series) -> bool:
    import pandas as pd

    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def csv_frame(frame):
    """A copy of a DataFrame with every text cell passed through `csv_cell` (for ``to_csv``)."""
    out = frame.copy()
    for column in out.columns:
        if _is_text(out[column]):
            out[column] = out[column].map(csv_cell)
    out.columns = [csv_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def read_csv_text(path, **kwargs):
    """``pandas.read_csv`` that keeps names such as ``NA``, ``null``, ``None``, ``nan`` as text.

    Only an empty cell is missing. Cells neutralised by `csv_cell` are restored. ``kwargs`` go to
    ``read_csv`` (``dtype=str`` is a common one).
    """
    import pandas as pd

    kwargs.setdefault("keep_default_na", False)
    kwargs.setdefault("na_values", [""])
    frame = pd.read_csv(path, **kwargs)
    for column in frame.columns:
        if _is_text(frame[column]):
            frame[column] = frame[column].map(csv_uncell)
    frame.columns = [csv_uncell(c) for c in frame.columns]
    return frame


def show_controls(text: str) -> str:
    """Invisible and direction-changing characters written as visible ``\\uXXXX`` escapes."""
    return _HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", str(text))


def html_text(text: str) -> str:
    """`show_controls` plus HTML escaping of ``& < > "``, for text placed in HTML by hand."""
    shown = show_controls(text)
    return "".join(_HTML.get(c, c) for c in shown)


def markdown_cell(text: Any) -> str:
    """A value as inert Markdown table-cell text: no links, images, HTML, emphasis or new cells."""
    shown = html_text(text)
    return _MARKDOWN.sub(r"\\\1", shown)
