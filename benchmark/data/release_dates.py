"""Release dates of video generators: the table ``release_dates.yaml`` beside this module, and the
per-run override files of the ``chronological`` protocol (``--option release_dates=FILE``).

A date is ``YYYY-MM`` (month precision) or ``YYYY-MM-DD`` (day precision). Two dates compare at
the coarser precision of the two: a month-precision date stands for the whole month, so
``2024-02`` is neither before nor after ``2024-02-15`` (it is "up to" it, and it up to
``2024-02``). Months between two dates are whole calendar months (``2024-02-28`` to ``2024-03-01``
is 1).

Generator names are compared lower-case with everything but letters and digits removed, against
each entry's name and its aliases (``Wan2.1`` finds ``wan``). An override file maps generator
names to dates, as YAML (``name: 2024-06`` or ``name: {date: 2024-06, source: ...}``) or CSV
(header ``generator,date`` and optionally ``source``); its entries replace the table's entry of
the same generator (by name or alias) and add the others. Every malformed line is refused naming
the file and the line.
"""
from __future__ import annotations

import csv
import datetime
import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmark.errors import DataError

BUILTIN = Path(__file__).with_name("release_dates.yaml")
_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
DATE_HELP = "expected YYYY-MM or YYYY-MM-DD"


def normalise(name: str) -> str:
    """``"Wan2.1"`` → ``"wan21"``: the form names are compared in."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass(frozen=True)
class ReleaseDate:
    """A calendar date at month or day precision."""

    year: int
    month: int
    day: int | None = None

    @classmethod
    def parse(cls, text: str) -> "ReleaseDate":
        """``"2024-02"`` or ``"2024-02-15"``; anything else is a ValueError saying what was
        expected."""
        match = _DATE.fullmatch(str(text).strip())
        if not match:
            raise ValueError(f"malformed date {str(text)!r} ({DATE_HELP})")
        year, month, day = (int(g) if g else None for g in match.groups())
        try:
            datetime.date(year, month, day or 1)
        except ValueError as err:
            raise ValueError(f"malformed date {str(text)!r} ({err})") from None
        return cls(year, month, day)

    @property
    def precision(self) -> str:
        return "month" if self.day is None else "day"

    @property
    def month_index(self) -> int:
        return self.year * 12 + self.month - 1

    def __str__(self) -> str:
        month = f"{self.year:04d}-{self.month:02d}"
        return month if self.day is None else f"{month}-{self.day:02d}"

    def _key(self, other: "ReleaseDate") -> tuple[tuple[int, ...], tuple[int, ...]]:
        if self.day is None or other.day is None:
            return (self.month_index,), (other.month_index,)
        return (self.month_index, self.day), (other.month_index, other.day)

    def up_to(self, cut: "ReleaseDate") -> bool:
        """Released up to (and including) ``cut``, at the coarser precision of the two."""
        mine, theirs = self._key(cut)
        return mine <= theirs

    def months_after(self, cut: "ReleaseDate") -> int:
        """Whole calendar months from ``cut`` to this date (0: the same month)."""
        return self.month_index - cut.month_index


@dataclass(frozen=True)
class Entry:
    """One generator's date and where it came from (``origin``: ``file:line``)."""

    name: str
    date: ReleaseDate
    source: str
    origin: str
    synthetic: bool = False
    aliases: tuple[str, ...] = ()

    def keys(self) -> set[str]:
        return {normalise(n) for n in (self.name, *self.aliases)}


@dataclass
class DateTable:
    """The dates a run uses: entries by normalised name, and the files they came from."""

    files: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    def describe(self) -> str:
        """The files in use, for messages: ``"benchmark/data/release_dates.yaml + mine.csv"``."""
        return " + ".join(self.files)

    def find(self, generator: str) -> Entry | None:
        key = normalise(generator)
        return next((e for e in reversed(self.entries) if key in e.keys()), None)

    def overlay(self, other: "DateTable") -> "DateTable":
        """This table with ``other``'s entries replacing those they name (by name or alias); a
        replaced entry's names stay names of the new date (``Wan2.1: ...`` also dates ``wan``)."""
        entries = list(self.entries)
        for new in other.entries:
            old = [e for e in entries if e.keys() & new.keys()]
            names = tuple(dict.fromkeys(n for e in old for n in (e.name, *e.aliases)))
            entries = [e for e in entries if e not in old]
            entries.append(replace(new, aliases=tuple(dict.fromkeys((*new.aliases, *names)))))
        return DateTable(self.files + other.files, entries)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(BUILTIN.parent.parent.parent))
    except ValueError:
        return str(path)


def _yaml_pairs(path: Path) -> list[tuple[int, str, object]]:
    """(line, generator, value node) of a YAML mapping, read with line numbers."""
    import yaml

    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read the release-date file ({err})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise DataError(f"{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    if isinstance(root, yaml.MappingNode):  # the table's own form nests under `generators:`
        nested = [v for k, v in root.value if k.value == "generators"]
        if nested and isinstance(nested[0], yaml.MappingNode):
            root = nested[0]
    if not isinstance(root, yaml.MappingNode):
        raise DataError(f"{path}:1: expected a mapping of generator names to dates "
                        f"(generator: YYYY-MM)")
    return [(k.start_mark.line + 1, str(k.value), v) for k, v in root.value
            if not (k.value == "version" and isinstance(v, yaml.ScalarNode))]


def _fields(value) -> dict[str, object]:
    import yaml

    if isinstance(value, yaml.ScalarNode):
        return {"date": value.value}
    if isinstance(value, yaml.MappingNode):
        out: dict[str, object] = {}
        for k, v in value.value:
            out[str(k.value)] = ([str(n.value) for n in v.value] if isinstance(v, yaml.SequenceNode)
                                 else str(getattr(v, "value", "")))
        return out
    return {}


def _entry(path: Path, line: int, name: str, fields: dict[str, object], default_source: str) -> Entry:
    where = f"{_shown(path)}:{line}"
    if "date" not in fields:
        raise DataError(f"{where}: generator {name!r} has no date ({DATE_HELP})")
    try:
        date = ReleaseDate.parse(str(fields["date"]))
    except ValueError as err:
        raise DataError(f"{where}: generator {name!r}: {err}") from None
    if fields.get("precision") not in (None, "", date.precision):
        raise DataError(f"{where}: generator {name!r}: date {date} has {date.precision} precision, "
                        f"but precision says {fields['precision']!r}")
    aliases = fields.get("aliases") or []
    return Entry(name, date, str(fields.get("source") or default_source), where,
                 str(fields.get("synthetic", "")).lower() == "true",
                 tuple(aliases) if isinstance(aliases, list) else (str(aliases),))


def _read_csv(path: Path, default_source: str) -> list[Entry]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read the release-date file ({err})") from None
    reader = csv.reader(lines)
    header = [h.strip().lower() for h in next(reader, [])]
    if "generator" not in header or "date" not in header:
        raise DataError(f"{path}:1: expected a header with columns generator,date[,source], "
                        f"got {','.join(header) or '(empty)'}")
    entries = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        row = dict(zip(header, (c.strip() for c in cells)))
        if not row.get("generator"):
            raise DataError(f"{_shown(path)}:{number}: no generator name")
        entries.append(_entry(path, number, row["generator"], row, default_source))
    return entries


def read_table(path: str | Path) -> DateTable:
    """A release-date file (YAML or CSV), every line checked; refuses a name given twice."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"release-date file {path} does not exist")
    given = f"given in {_shown(path)}"
    if path.suffix.lower() == ".csv":
        entries = _read_csv(path, given)
    else:
        entries = [_entry(path, line, name, _fields(value), given)
                   for line, name, value in _yaml_pairs(path)]
    seen: dict[str, Entry] = {}
    for entry in entries:
        for key in entry.keys():
            if key in seen and seen[key].name != entry.name:
                raise DataError(f"{entry.origin}: generator {entry.name!r} is also named by "
                                f"{seen[key].name!r} ({seen[key].origin}); give it once")
            seen[key] = entry
    return DateTable([_shown(path)], entries)


def file_digest(path: str | Path) -> str:
    """sha256 of an override file's bytes (part of a run's options, so of its key)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_dates(override: str | Path | None = None) -> DateTable:
    """The built-in table, with ``override``'s entries over it when given."""
    table = read_table(BUILTIN)
    return table.overlay(read_table(override)) if override else table

