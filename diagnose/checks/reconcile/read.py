"""Reading dashboard exports and internal records for ``diagnose reconcile`` (polars, columnar).

A file is read into a :class:`Table`: one polars frame of the readable rows, with canonical column
names (``customer_key``, ``email``, ``name``, ``partner_key``, ``created_at``, ``status``,
``source``, ``provider_key``, ``click_date``) and each row's physical line number (``_line``), and
one frame of the rows that could not be read (``line``, ``reason``, ``raw``). Nothing is dropped:
``len(rows) + len(rejected)`` is the number of data rows in the file (blank lines are not rows).

CSV (csvread.py): UTF-8 with or without BOM (UTF-16 with BOM and cp1252/latin-1 are converted), ``,``
``;`` or tab detected from the header line, quoted fields with embedded newlines. JSON Lines: one
object per line (``.jsonl`` / ``.ndjson``, or a file whose first character is ``{``). Excel (excel.py:
.xlsx, or .xls), known by its first bytes whatever the file is called; row numbers are the sheet's.
Columns are found by header (columns.py); dates are read per column (dates.py, the rule used is
kept), and a date that cannot be read keeps its row with the date unknown (``Table.unreadable``).
Works on polars 1.0 to 2.x.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import shorten
from diagnose.core.reading import clean_text
from diagnose.checks.reconcile.columns import (
    DATE_FIELDS, FIELDS, TooManyColumns, check_width, header_list, resolve_columns,
)
from diagnose.checks.reconcile.csvread import MAX_RAW, read_csv
from diagnose.checks.reconcile.dates import parse_dates
from diagnose.checks.reconcile.excel import read_excel, spreadsheet_kind
from diagnose.checks.reconcile.frames import empty_rejected, empty_unreadable, frame_of_cells, line_mask


@dataclass
class Table:
    side: str
    path: str
    rows: Any  # polars DataFrame: _line + FIELDS (created_at / click_date as Date, + *_raw)
    rejected: Any  # polars DataFrame: line, reason, raw
    headers: list[str]
    columns: dict[str, str] = field(default_factory=dict)  # canonical field -> header used
    encoding: str = "utf-8"
    fmt: str = "csv"
    date_rules: dict[str, str] = field(default_factory=dict)  # date field -> the rule used to read it
    unreadable: Any = None  # polars DataFrame: line, field, column, value (rows kept, date unknown)

    @property
    def total(self) -> int:
        return self.rows.height + self.rejected.height


# -- bytes -> text ----------------------------------------------------------------------------


def _existing_file(path: str | Path, side: str) -> Path:
    """``path`` if it is a regular file: a device (/dev/zero), a FIFO or a socket would hang the read
    or fill memory, a name too long for the file system is bad input too (exit 2, never 3)."""
    import stat

    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise BadInput(f"{side} file {path} does not exist") from None
    except OSError as exc:
        raise BadInput(f"{side} file {shorten(str(path), 80)}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise BadInput(f"{side} file {path} is a directory, not a file")
    if not stat.S_ISREG(mode):
        raise BadInput(f"{side} file {path} is not a regular file (a device, a pipe or a socket)")
    return p


def load_bytes(path: str | Path, side: str) -> tuple[bytes, str]:
    """The file's bytes as UTF-8 without BOM, and the encoding it was read as."""
    p = _existing_file(path, side)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise BadInput(f"{side} file {path} cannot be read: {exc.strerror or exc}") from None
    encoding = "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"{side} file {path} starts with a UTF-16 mark but is not UTF-16 text") from None
        encoding = "utf-16"
    if not data.strip():
        raise BadInput(f"{side} file {path} is empty")
    return data, encoding


def check_file(path: str | Path, side: str) -> bytes:
    """The first 64 KiB of the file; BadInput when it is missing, a directory, unreadable or empty."""
    p = _existing_file(path, side)
    try:
        with p.open("rb") as fh:
            head = fh.read(65536)
        size = p.stat().st_size
    except OSError as exc:
        raise BadInput(f"{side} file {path} cannot be read: {exc.strerror or exc}") from None
    body = head[len(codecs.BOM_UTF8):] if head.startswith(codecs.BOM_UTF8) else head
    if not body.strip() and size <= len(head):
        raise BadInput(f"{side} file {path} is empty")
    return head


def _cp1252_where_not_utf8(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: the bytes that are not UTF-8 read as cp1252."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start:exc.end].decode("cp1252", "replace"), exc.end


codecs.register_error("diagnose-cp1252", _cp1252_where_not_utf8)
_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")  # where a UTF-8 sequence of 2-4 bytes may start
_NON_ASCII_LINE = re.compile(rb"[\x80-\xff][^\n]*")  # from a line's first such byte to its end: linear


def decode_mixed(data: bytes) -> tuple[str, int, int, int]:
    """(text, lines holding bytes that are not UTF-8, the first such line, its first such byte) of
    ``data``, which is not valid UTF-8: UTF-8 wherever the bytes are valid UTF-8 (a file pasted
    together from a UTF-8 and a cp1252 export keeps its UTF-8 rows), cp1252 for the other bytes."""
    if not _MULTIBYTE.search(data):  # not one UTF-8 sequence of two bytes or more: all cp1252, at C speed
        first = re.search(rb"[\x80-\xff]", data)
        at = first.start() if first else 0
        return (data.decode("cp1252", "replace"), len(_NON_ASCII_LINE.findall(data)),
                data.count(b"\n", 0, at) + 1, at)
    parts: list[str] = []
    lines = first_line = first_byte = pos = 0
    for no, line in enumerate(data.split(b"\n"), start=1):
        try:
            parts.append(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            lines += 1
            if not first_line:
                first_line, first_byte = no, pos + exc.start
            parts.append(line.decode("utf-8", "diagnose-cp1252") if _MULTIBYTE.search(line)
                         else line.decode("cp1252", "replace"))
        pos += len(line) + 1
    return "\n".join(parts), lines, first_line, first_byte


def ensure_utf8(data: bytes, encoding: str, side: str, path: str | Path) -> tuple[bytes, str]:
    """``data`` as valid UTF-8: a file that is UTF-8 but for some bytes (a row pasted from a cp1252
    export) keeps its UTF-8 text; only the bytes that are not UTF-8 are read as cp1252, and the
    encoding says how many lines held them and where the first was (checked only when a fast read
    failed, or for JSON Lines)."""
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError:
        if b"\x00" in data:
            raise BadInput(f"{side} file {path} is binary, not CSV, JSON Lines or Excel") from None
        text, lines, first_line, first_byte = decode_mixed(data)
        return text.encode("utf-8"), (f"cp1252 where not UTF-8: {lines} line(s), the first line {first_line} "
                                      f"(byte {first_byte})")
    return data, encoding


# compressed files: polars would try to inflate some itself and fail mid-read ("corrupt deflate stream")
COMPRESSED = ((b"\x1f\x8b", "gzip", "gunzip"), (b"\x28\xb5\x2f\xfd", "zstd", "unzstd"),
              (b"BZh", "bzip2", "bunzip2"), (b"\xfd7zXZ\x00", "xz", "unxz"))


def check_compressed(head: bytes, side: str, path: str | Path) -> None:
    """BadInput when the file's first bytes are those of a gzip, zstd, bzip2 or xz stream."""
    for magic, name, tool in COMPRESSED:
        if head.startswith(magic) and (name != "bzip2" or head[3:4] in b"123456789" and head[4:10] == b"1AY&SY"):
            raise BadInput(f"{side} file {path} is {name}-compressed, not CSV or JSON Lines: "
                           f"decompress it first ({tool} FILE) and give the file inside")


def is_jsonl(path: str | Path, data: bytes) -> bool:
    if str(path).lower().endswith((".jsonl", ".ndjson", ".json")):
        return True
    return data.lstrip()[:1] == b"{"


# -- reading ------------------------------------------------------------------------------------


def read_table(path: str | Path, side: str, mapping: dict[str, str | None] | None = None,
               *, progress: Callable[[str], None] | None = None) -> Table:
    """Read one file (CSV, JSON Lines or Excel) into a :class:`Table`. Raises BadInput on bad input."""
    if progress:
        progress(f"reading {side} file {path}")
    try:
        return _read_table(path, side, mapping or {})
    except TooManyColumns as exc:
        raise BadInput(f"{side} file {path} has {exc.count} columns; at most {exc.limit} are read "
                       "(export only the columns that name the customers)") from None


def _read_table(path: str | Path, side: str, mapping: dict[str, str | None]) -> Table:
    import polars as pl

    head = check_file(path, side)
    encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    check_compressed(head, side, path)
    kind = spreadsheet_kind(path, head, side)
    if kind is not None:
        headers, cells, rejected, encoding = read_excel(path, side, kind)
        data, delim, fmt = None, ",", kind
    elif is_jsonl(path, head) or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        data, encoding = load_bytes(path, side)
        data, encoding = ensure_utf8(data, encoding, side, path)
    else:
        data = None  # polars reads (and maps) the file itself: no copy in Python
    if kind is not None:
        pass
    elif data is not None and is_jsonl(path, data):
        headers, cells, rejected = _read_jsonl(data, lambda names: resolve_columns(names, side, str(path), mapping))
        delim = ","
        fmt = "jsonl"
        if not headers and rejected.height:  # not one object: the file is not empty, its lines are bad
            first = rejected.row(0, named=True)
            more = f" (and {rejected.height - 1} more bad line(s))" if rejected.height > 1 else ""
            raise BadInput(f"{side} file {path} has no JSON object to read: line {first['line']}: "
                           f"{first['reason']}{more}")
    else:
        try:
            headers, cells, delim, rejected = read_csv(data if data is not None else str(path),
                                                           head if data is None else data[:65536])
        except (UnicodeDecodeError, pl.exceptions.ComputeError):
            # the fast read refused the file: the csv module reads it (not the same fast read again)
            if data is None:
                data, encoding = load_bytes(path, side)
                data, encoding = ensure_utf8(data, encoding, side, path)
            headers, cells, delim, rejected = read_csv(data, data[:65536], fast=False)
        fmt = "csv"
    del data
    if not headers:
        raise BadInput(f"{side} file {path} is empty (no header row)")
    check_width(len(headers))  # an Excel sheet (CSV and JSON Lines are measured as they are read)
    cols = resolve_columns(headers, side, str(path), mapping)
    if "email" not in cols and "customer_key" not in cols:
        raise BadInput(
            f"{side} file {path} has no email column (nor a customer_key column): "
            f"headers found: {header_list(headers)}; use --map {side}.email=HEADER"
        )
    def cleaned(f: str) -> Any:
        if f not in cols:
            return pl.lit(None, dtype=pl.String).alias(f)
        c = pl.col(f"c{cols[f]}")
        stripped = c.str.strip_chars().replace("", None)  # blank -> null (replace: cheaper than when)
        return (pl.when(stripped.is_null()).then(None).otherwise(c) if f == "email" else stripped).alias(f)

    frame = cells.lazy().select(pl.col("_line"), *[cleaned(f) for f in FIELDS if f != "source"]).collect()
    # Dates: read per column (the rule used is kept); a date that cannot be read keeps its row, with
    # the date unknown, and is listed in ``unreadable``.
    rules: dict[str, str] = {}
    unreadable = []
    for f in DATE_FIELDS:
        if f not in cols:
            continue
        parsed, rule = parse_dates(frame[f])
        if rule:
            rules[f] = rule
        frame = frame.with_columns(parsed.alias(f"{f}_date"))
        unreadable.append(frame.filter(pl.col(f).is_not_null() & pl.col(f"{f}_date").is_null()).select(
            pl.col("_line").alias("line"), pl.lit(f).alias("field"), pl.lit(headers[cols[f]]).alias("column"),
            pl.col(f).str.slice(0, 40).alias("value")))
    frame = frame.with_columns(
        pl.lit(None, dtype=pl.Date).alias(f"{f}_date") for f in DATE_FIELDS if f not in cols)
    empty = pl.col("email").is_null() & pl.col("customer_key").is_null()
    bad = frame.filter(empty)
    if bad.height:
        present = [c for c in cells.columns if not c.startswith("_")]  # JSON Lines: the columns kept; _raw is set
        raw_of = cells.filter(line_mask(cells["_line"], bad["_line"])).select(
            "_line", pl.coalesce("_raw", pl.concat_str([pl.col(c).fill_null("") for c in present],
                                                       separator=delim)).alias("_raw"))
        bad = bad.join(raw_of, on="_line", how="left").select(
            pl.col("_line").alias("line"), pl.lit("empty email and customer_key").alias("reason"),
            pl.col("_raw").alias("raw"))
        rejected = pl.concat([rejected, bad])
        frame = frame.filter(~empty)
    del cells
    rows = frame.drop("created_at", "click_date").rename({"created_at_date": "created_at", "click_date_date": "click_date"})
    rejected = rejected.with_columns(pl.col("raw").str.slice(0, MAX_RAW)).sort("line")
    unreadable_frame = pl.concat(unreadable).sort("line") if unreadable else empty_unreadable()
    return Table(side, str(path), rows, rejected, headers,
                 {f: headers[i] for f, i in sorted(cols.items(), key=lambda kv: kv[1])}, encoding, fmt,
                 rules, unreadable_frame)


def _read_jsonl(data: bytes, roles: Callable[[list[str]], dict[str, int]]):
    """(names, cells, rejected): cells holds only the columns ``roles`` takes (objects may name
    thousands of keys, each on a few rows: a cell for every key on every row would not fit)."""
    import polars as pl

    headers: dict[str, None] = {}
    objects: list[dict[str, Any]] = []
    lines: list[int] = []
    raws: list[str] = []
    bad: list[tuple[int, str, str]] = []
    # lines end at "\n" only: U+2028, U+2029 or NEL in a JSON string are text, not line ends; at "\r"
    # when the file holds no "\n" at all (an export with old Mac line ends: "\r" is never inside a JSON value)
    text = data.decode("utf-8")
    for no, line in enumerate(text.split("\n" if "\n" in text or "\r" not in text else "\r"), start=1):
        line = line.removesuffix("\r")
        if not line.strip(" \t\r"):
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
            bad.append((no, f"not valid JSON ({getattr(exc, 'msg', None) or shorten(str(exc), 80)})", line[:MAX_RAW]))
            continue
        except RecursionError:
            bad.append((no, "not valid JSON (nested too deeply)", line[:MAX_RAW]))
            continue
        if not isinstance(obj, dict):
            bad.append((no, f"a JSON {type(obj).__name__}, not an object", line[:MAX_RAW]))
            continue
        if "\\u" in line:  # a "\\ud800" escape: a lone surrogate, which no column can hold
            obj = {clean_text(k): clean_text(v) if isinstance(v, str) else v for k, v in obj.items()}
        for k in obj:
            headers.setdefault(k)
        objects.append(obj)
        lines.append(no)
        raws.append(line)
    names = list(headers)
    check_width(len(names))
    kept = sorted(set(roles(names).values()))
    records = [[_scalar(o.get(names[i])) for i in kept] for o in objects]
    rejected = pl.DataFrame(bad, schema={"line": pl.Int64, "reason": pl.String, "raw": pl.String},
                            orient="row") if bad else empty_rejected()
    return names, frame_of_cells(records, lines, raws, len(names), kept), rejected


def _scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
