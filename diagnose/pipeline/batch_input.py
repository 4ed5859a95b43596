"""What ``diagnose batch`` runs: the tickets its arguments name, in order, each with a stable key,
a digest of its content (``--resume`` skips a ticket whose key and digest already have a result) and
a unique name for its report files.

Arguments: ticket files (YAML or JSON), folders (their *.yaml, *.yml and *.json files, not
recursive), globs (``queue/**/*.yaml``), or one table of tickets: a CSV or JSON Lines file with one
ticket per row, columns = ticket keys (plus ``ticket``, a name for the row), export paths relative
to the table. A wrong argument or a table with an unknown column is BadInput before any ticket
runs; a ticket that cannot be read (a bad file, a bad row) becomes a failed ticket when its turn
comes. The plan holds paths and names only: a table's rows are read again, one at a time, as the
batch runs.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import shorten
from diagnose.core.reading import TICKET_LIMIT, parse_json, read_bytes
from diagnose.core.ticket import FIELD_TYPES

TICKET_SUFFIXES = (".yaml", ".yml", ".json")
TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson")
NAME_COLUMN = "ticket"  # a table's optional column naming each row (a helpdesk's ticket number)
GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Item:
    """One ticket to run: a file (``path``) or a table's row (``data``, paths relative to ``base``)."""

    position: int
    key: str  # a file's resolved path, or "<table's resolved path>#<row>"
    digest: str  # of the file's bytes or the row's values ("" when unreadable)
    name: str  # unique among the batch's tickets, safe as a file name
    source: str  # as a person names it: the path given, or "tickets.csv row 3"
    path: Path | None = None
    data: dict[str, Any] | None = None
    base: Path | None = None
    error: str | None = None  # the row could not be read (it fails when its turn comes)


@dataclass
class Plan:
    tickets: int = 0  # all the arguments name
    skipped: int = 0  # already done (--resume)
    inputs: list[Path] = field(default_factory=list)  # the files read (outputs must not overwrite them)
    _files: list[tuple[Path, str, str, str]] = field(default_factory=list)  # path, key, name, source
    _table: Path | None = None
    _table_names: Counter = field(default_factory=Counter)
    _done: frozenset = frozenset()

    @property
    def to_run(self) -> int:
        return self.tickets - self.skipped

    def items(self) -> Iterator[Item]:
        """The tickets to run, in order (a table is read again, a row at a time)."""
        if self._table is not None:
            for item in _table_items(self._table, self._table_names):
                if (item.key, item.digest) not in self._done:
                    yield item
            return
        for position, (path, key, name, source) in enumerate(self._files):
            digest = _file_digest(path)
            if (key, digest) not in self._done:
                yield Item(position, key, digest, name, source, path=path)


def plan(args: list[str] | tuple[str, ...], done: set[tuple[str, str]] | frozenset = frozenset()) -> Plan:
    """The tickets ``args`` name; ``done``: (key, digest) pairs that already have a result."""
    if not args:
        raise BadInput("give ticket files, folders, globs, or one CSV / JSON Lines table of tickets")
    result = Plan(_done=frozenset(done))
    if len(args) == 1 and _is_table(args[0]):
        table = _resolve(args[0])
        result._table, result.inputs = table, [table]
        names: Counter = Counter()
        for item in _table_items(table, None, names):
            result.tickets += 1
            result.skipped += (item.key, item.digest) in result._done
        if not result.tickets:
            raise BadInput(f"{args[0]}: no tickets in the table (only a header)")
        result._table_names = names
        return result
    files: dict[Path, str] = {}
    for arg in args:
        for path, shown in _expand(arg):
            files.setdefault(path, shown)
    slugs = Counter(_slug(p.stem) for p in files)
    for path, shown in files.items():
        key = str(path)
        name = _slug(path.stem)
        if slugs[name] > 1:
            name = f"{name}-{hashlib.sha256(key.encode('utf-8', 'replace')).hexdigest()[:6]}"
        result._files.append((path, key, name, shown))
        result.tickets += 1
        result.skipped += (key, _file_digest(path)) in result._done
    result.inputs = list(files)
    return result


# -- arguments ------------------------------------------------------------------------------------


def _is_table(arg: str) -> bool:
    return arg.lower().endswith(TABLE_SUFFIXES) and Path(arg).is_file()


def _resolve(arg: str) -> Path:
    try:
        return Path(arg).resolve()
    except (OSError, ValueError) as exc:
        raise BadInput(f"{shorten(arg)} cannot be a file name ({getattr(exc, 'strerror', None) or exc})") from None


def _expand(arg: str) -> list[tuple[Path, str]]:
    """The ticket files one argument names, each with how to show it."""
    p = Path(arg)
    try:
        exists, is_dir = p.exists(), p.is_dir()
    except (OSError, ValueError):
        exists = is_dir = False
    if is_dir:
        found = sorted(c for c in p.iterdir() if c.suffix.lower() in TICKET_SUFFIXES and not c.name.startswith(".")
                       and c.is_file())
        if not found:
            raise BadInput(f"{arg}: no ticket files (*.yaml, *.yml, *.json) in this folder")
        return [(c.resolve(), str(c)) for c in found]
    if exists:
        if arg.lower().endswith(TABLE_SUFFIXES):
            raise BadInput(f"{arg}: a table of tickets (CSV / JSON Lines) must be the only argument")
        return [(_resolve(arg), arg)]
    if GLOB_CHARS.search(arg):
        found = sorted(m for m in glob.glob(arg, recursive=True)
                       if m.lower().endswith(TICKET_SUFFIXES) and Path(m).is_file())
        if not found:
            raise BadInput(f"no ticket file (*.yaml, *.yml, *.json) matches {shorten(arg)}")
        return [(Path(m).resolve(), m) for m in found]
    raise BadInput(f"{shorten(arg)}: no such file or folder")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")[:80] or "ticket"


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(read_bytes(path, "ticket", TICKET_LIMIT)).hexdigest()[:16]
    except BadInput:
        return ""  # read again when its turn comes, and failed then with the reason


# -- tables -----------------------------------------------------------------------------------------


KNOWN_COLUMNS = (NAME_COLUMN, *FIELD_TYPES)


def _column(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def _unknown(table: Path, columns: list[str]) -> None:
    unknown = [c for c in columns if c not in KNOWN_COLUMNS]
    if unknown:
        raise BadInput(f"{table.name}: unknown column{'s' if len(unknown) > 1 else ''} "
                       f"{', '.join(shorten(c, 40) for c in unknown[:10])} (known: {', '.join(KNOWN_COLUMNS)})")


def _table_items(table: Path, names: Counter | None, seen: Counter | None = None) -> Iterator[Item]:
    """Every row of the table as an Item. ``names``: how often each ``ticket`` value's name occurs
    (from the first pass; a repeated one gets the row number); ``seen`` collects them on that pass."""
    rows = _jsonl_rows(table) if table.suffix.lower() in (".jsonl", ".ndjson") else _csv_rows(table)
    for number, (data, error) in enumerate(rows, start=1):
        label = data.pop(NAME_COLUMN, None) if data is not None else None
        name = _slug(str(label)) if label not in (None, "") else f"{_slug(table.stem)}-{number}"
        if seen is not None and label not in (None, ""):
            seen[name] += 1
        if names is not None and label not in (None, "") and names[name] > 1:
            name = f"{name}-{number}"
        digest = hashlib.sha256(json.dumps([data, error], sort_keys=True, default=str).encode(
            "utf-8", "replace")).hexdigest()[:16]
        yield Item(number - 1, f"{table}#{number}", digest, name, f"{table.name} row {number}",
                   data=data, base=table.parent, error=error)


def _open_text(table: Path) -> io.TextIOWrapper:
    try:
        return open(table, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise BadInput(f"cannot read {table}: {exc.strerror or exc}") from None


def _csv_rows(table: Path) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    with _open_text(table) as handle:
        try:
            first = handle.readline()
            handle.seek(0)
            delimiter = max((",", ";", "\t"), key=first.count)  # Excel writes ';' where ',' is a decimal mark
            reader = csv.reader(handle, delimiter=delimiter)
            header = [_column(h) for h in next(reader, [])]
            if not header:
                raise BadInput(f"{table.name}: empty table (no header row)")
            _unknown(table, header)
            repeated = [c for c, n in Counter(header).items() if n > 1]
            if repeated:
                raise BadInput(f"{table.name}: column {repeated[0]!r} appears twice")
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue  # a blank line is no ticket
                if len(cells) > len(header):
                    yield None, f"{len(cells)} cells for {len(header)} columns"
                    continue
                yield {h: c for h, c in zip(header, cells) if c.strip()}, None
        except UnicodeDecodeError:
            raise BadInput(f"{table.name} is not UTF-8 text") from None
        except csv.Error as exc:
            raise BadInput(f"{table.name}: not a readable CSV table ({exc})") from None


def _jsonl_rows(table: Path) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    with _open_text(table) as handle:
        try:
            for line in handle:
                if not line.strip():
                    continue
                if len(line) > TICKET_LIMIT:
                    yield None, f"a row longer than {TICKET_LIMIT // (1024 * 1024)} MB"
                    continue
                try:
                    data = parse_json(line, "the row")
                except BadInput as exc:
                    yield None, str(exc)
                    continue
                if not isinstance(data, dict):
                    yield None, f"the row is a JSON {type(data).__name__}, not an object of ticket keys"
                    continue
                data = {_column(str(k)): v for k, v in data.items()}
                _unknown(table, list(data))
                yield {k: v for k, v in data.items() if v not in (None, "")}, None
        except UnicodeDecodeError:
            raise BadInput(f"{table.name} is not UTF-8 text") from None
