"""CSV, read columnar: polars parses the fields, and a second polars read of the physical lines gives
each record's line number and field count (wrong field counts are rejected), vectorised. The fast
path is taken only for files it reads exactly as the standard ``csv`` module does: every byte seen,
no carriage return other than in CRLF, and every quote in a regular quoted field. Otherwise (an
odd file) the ``csv`` module reads it instead, slower but the reference: the same rows, the same
cells. Leading blank lines are skipped; blank lines are not rows."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import sys
from pathlib import Path
from typing import Any

from diagnose.checks.reconcile.columns import check_width
from diagnose.checks.reconcile.frames import empty_rejected, frame_of_cells

MAX_RAW = 200
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a long field is a field, not the end of the read


def _regular(delim: str) -> str:
    """A record whose every quote is in a regular quoted field (``"..."``, ``""`` inside)."""
    field = f'(?:"(?:[^"]|"")*"|[^"{delim}\\r\\n]*)'
    return f"^{field}(?:[{delim}]{field})*$"


def first_line(head: bytes) -> str:
    """The first non-blank line of ``head`` (the header, for the delimiter)."""
    for line in re.split(rb"\r\n|\r|\n", head):
        if line.strip(b" \t"):
            return line.decode("utf-8", errors="replace")
    return ""


def sniff_delimiter(first_line: str) -> str:
    outside = re.sub(r'"[^"]*"', "", first_line)
    counts = {d: outside.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def read_csv(source: bytes | str, head: bytes, fast: bool = True):
    """(headers, cells frame c0..cN-1 + _line + _raw, delimiter, rejected frame). ``source`` is the
    UTF-8 bytes or the path of a file polars can read directly; ``head`` its first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    delim = sniff_delimiter(first_line(head))
    nl = head.find(b"\n")
    try:
        result = _read_csv_polars(source, delim, crlf=nl > 0 and head[nl - 1:nl] == b"\r") if fast else None
    except OSError:  # polars took text starting "x^" or "x\x01" for a zlib stream: csv reads it
        result = None
    if result is None:
        if isinstance(source, str):
            source = Path(source).read_bytes()
            if source.startswith(codecs.BOM_UTF8):
                source = source[len(codecs.BOM_UTF8):]
        result = _read_csv_python(source, delim)
    headers, cells, bad = result
    return headers, cells, delim, bad


def _every_byte_seen(source: bytes | str, raw: Any, crlf: bool) -> bool:
    """Whether the line texts plus one line ending each make up the whole file (no text was hidden
    behind a 0x1F, and every line ends the same way)."""
    if isinstance(source, bytes):
        size, first, last = len(source), source[:3], source[-1:]
    else:
        with open(source, "rb") as fh:
            first = fh.read(3)
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(size - 1, 0))
            last = fh.read(1)
    if first == codecs.BOM_UTF8:
        size -= 3
    endings = raw.len() - (0 if last == b"\n" else 1)
    return size - int(raw.str.len_bytes().sum() or 0) == endings * (2 if crlf else 1)


def _read_csv_polars(source: bytes | str, delim: str, crlf: bool = False):
    """Vectorised read; None when the file is not one it reads exactly as ``csv`` does."""
    import polars as pl

    def src() -> Any:
        return io.BytesIO(source) if isinstance(source, bytes) else source

    try:
        physical = pl.read_csv(
            src(), has_header=False, separator="\x1f", quote_char=None,
            schema={"raw": pl.String}, truncate_ragged_lines=True, encoding="utf8",
        ).with_row_index("line", offset=1).with_columns(pl.col("raw").fill_null(""))
    except pl.exceptions.SchemaError:  # polars 2: a 0x1F in the first line
        return None
    if not _every_byte_seen(source, physical["raw"], crlf):
        return None  # a 0x1F (the separator of this read) hid text, or line endings are mixed
    if bool(physical["raw"].str.contains("\r", literal=True).any()):
        return None  # a carriage return that is not in CRLF: csv ends a record there, polars does not
    quotes = pl.col("raw").str.count_matches('"', literal=True)
    has_quotes = bool(physical["raw"].str.contains('"', literal=True).any())
    # a record spans several lines only where a line has an odd number of quotes
    multiline = has_quotes and bool((physical.select(quotes % 2 == 1).to_series()).any())
    if multiline:
        physical = physical.with_columns(
            ((quotes.cum_sum() % 2) == 0).alias("_ends")
        ).with_columns(
            pl.col("_ends").shift(1, fill_value=True).cast(pl.Int64).cum_sum().alias("_rec")
        )
        records = physical.group_by("_rec", maintain_order=True).agg(
            pl.col("line").first(), pl.col("raw").str.join("\n")
        ).drop("_rec")
    else:
        records = physical.select("line", "raw")
    del physical
    if has_quotes:
        quoted = records["raw"].filter(records["raw"].str.contains('"', literal=True))
        if not bool(quoted.str.contains(_regular(delim)).all()):
            return None  # a quote outside a regular quoted field: csv's rules, not polars'
        fields = pl.col("raw").str.replace_all(r'"[^"]*"', "").str.count_matches(delim, literal=True) + 1
    else:
        fields = pl.col("raw").str.count_matches(delim, literal=True) + 1
    records = records.with_columns(fields.alias("_nf"))
    if records.height == 0:
        return [], frame_of_cells([], [], [], 0), empty_rejected()
    records = records.with_columns(pl.col("raw").str.contains(r"^ *$").alias("_blank"))
    if bool(records["_blank"].all()):
        return [], frame_of_cells([], [], [], 0), empty_rejected()
    start = int(records["_blank"].arg_min() or 0)  # leading blank lines: the header is the first line with text
    header_raw = records["raw"][start]
    headers = [h.strip() for h in next(csv.reader([header_raw], delimiter=delim), [])]
    width = len(headers)
    check_width(width)  # before the cells are read
    wrong_nf = (pl.col("_nf") != width) & ~pl.col("_blank") & (pl.int_range(pl.len()) > start)
    bad_raw = records.filter(wrong_nf).select("line", "raw")
    records = records.select("line", "_nf", "_blank")  # free the line texts before the field read
    try:  # the header's width exactly: polars 2 refuses schema columns the file does not have
        cells = pl.read_csv(
            src(), has_header=False, separator=delim, quote_char='"',
            schema={f"c{i}": pl.String for i in range(width)},
            truncate_ragged_lines=True, encoding="utf8",
        )
    except pl.exceptions.SchemaError:
        return None
    if cells.height != records.height:
        return None
    cells = cells.hstack(records).slice(start + 1)
    wrong = (pl.col("_nf") != width) & ~pl.col("_blank")
    bad = cells.filter(wrong).select(
        "line",
        (pl.lit("has ") + pl.col("_nf").cast(pl.String) + pl.lit(f" fields, the header has {width}")).alias("reason"),
    ).join(bad_raw, on="line", how="left")
    keep = ~wrong & ~pl.col("_blank")
    if bad.height or cells["_blank"].any():  # filtering copies every column: only when needed
        cells = cells.filter(keep)
    cells = cells.select(
        *[pl.col(f"c{i}") for i in range(width)], pl.col("line").cast(pl.Int64).alias("_line"),
    )
    cells = cells.with_columns(pl.lit(None, dtype=pl.String).alias("_raw"))  # rebuilt for rejects only
    bad = bad.with_columns(pl.col("line").cast(pl.Int64))
    return headers, cells, bad


def _read_csv_python(data: bytes, delim: str):
    """The exact, slower reader (standard csv module) for files the fast path cannot read exactly.
    Lines end as csv ends them (CRLF, LF or CR alone); a line the csv module refuses is rejected and
    the read goes on."""
    import polars as pl

    physical = io.StringIO(data.decode("utf-8"), newline="").readlines()
    reader = csv.reader(physical, delimiter=delim)
    headers: list[str] = []
    records: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    bad: list[tuple[int, str, str]] = []
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            end = max(reader.line_num, start)
            bad.append((start, f"unreadable CSV ({exc})", "".join(physical[start - 1:end])[:MAX_RAW]))
            start = end + 1
            continue
        end = reader.line_num
        raw = "".join(physical[start - 1:end]).rstrip("\r\n")
        if not raw.strip(" \r\n"):
            pass  # a blank line is not a row (nor the header)
        elif not headers:
            check_width(len(row))
            headers = [h.strip() for h in row]
        elif len(row) != len(headers):
            bad.append((start, f"has {len(row)} fields, the header has {len(headers)}", raw[:MAX_RAW]))
        else:
            records.append(row)
            lines.append(start)
            raws.append(raw)
        start = end + 1
    rejected = pl.DataFrame(bad, schema={"line": pl.Int64, "reason": pl.String, "raw": pl.String},
                            orient="row") if bad else empty_rejected()
    return headers, frame_of_cells(records, lines, raws, len(headers)), rejected
