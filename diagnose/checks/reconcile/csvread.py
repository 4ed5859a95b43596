"""CSV, read columnar: polars parses the fields, and a second polars read of the physical lines gives
each record's line number and field count (wrong field counts are rejected), vectorised. When the
two reads disagree (an odd file), the standard ``csv`` module reads it instead, slower but exact."""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path
from typing import Any

from diagnose.checks.reconcile.frames import empty_rejected, frame_of_cells

MAX_RAW = 200


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
    first_nl = head.find(b"\n")
    first_line = (head if first_nl < 0 else head[:first_nl]).decode("utf-8", errors="replace").rstrip("\r")
    delim = sniff_delimiter(first_line)
    result = _read_csv_polars(source, delim) if fast else None
    if result is None:
        if isinstance(source, str):
            source = Path(source).read_bytes()
            if source.startswith(codecs.BOM_UTF8):
                source = source[len(codecs.BOM_UTF8):]
        result = _read_csv_python(source, delim)
    headers, cells, bad = result
    return headers, cells, delim, bad


def _read_csv_polars(source: bytes | str, delim: str):
    """Vectorised read; None when the record boundaries of the two reads do not agree."""
    import polars as pl

    def src() -> Any:
        return io.BytesIO(source) if isinstance(source, bytes) else source

    physical = pl.read_csv(
        src(), has_header=False, separator="\x1f", quote_char=None,
        schema={"raw": pl.String}, truncate_ragged_lines=True, encoding="utf8",
    ).with_row_index("line", offset=1).with_columns(pl.col("raw").fill_null(""))
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
        fields = pl.col("raw").str.replace_all(r'"[^"]*"', "").str.count_matches(delim, literal=True) + 1
    elif has_quotes:
        records = physical.select("line", "raw")
        fields = pl.col("raw").str.replace_all(r'"[^"]*"', "").str.count_matches(delim, literal=True) + 1
    else:
        records = physical.select("line", "raw")
        fields = pl.col("raw").str.count_matches(delim, literal=True) + 1
    records = records.with_columns(fields.alias("_nf"))
    del physical
    if records.height == 0:
        return [], frame_of_cells([], [], [], 0), empty_rejected()
    header_raw = records["raw"][0]
    headers = [h.strip() for h in next(csv.reader([header_raw], delimiter=delim), [])]
    width = len(headers)
    if width == 0:
        return [], frame_of_cells([], [], [], 0), empty_rejected()
    records = records.with_columns(pl.col("raw").str.contains(r"^[ \r]*$").alias("_blank"))
    wrong_nf = (pl.col("_nf") != width) & ~pl.col("_blank") & (pl.int_range(pl.len()) > 0)
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
    cells = cells.hstack(records).slice(1)
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
    """The exact, slower reader (standard csv module) for files the fast path cannot align."""
    import polars as pl

    text = data.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    physical = text.splitlines()
    headers: list[str] = []
    records: list[list[str]] = []
    lines: list[int] = []
    raws: list[str] = []
    bad: list[tuple[int, str, str]] = []
    start = 1
    try:
        for row in reader:
            end = reader.line_num
            raw = "\n".join(physical[start - 1:end])
            if not headers:
                if not any(c.strip() for c in row):
                    start = end + 1
                    continue
                headers = [h.strip() for h in row]
            elif not any(c.strip() for c in row) and len(row) <= 1:
                pass  # a blank line is not a row
            elif len(row) != len(headers):
                bad.append((start, f"has {len(row)} fields, the header has {len(headers)}", raw[:MAX_RAW]))
            else:
                records.append(row)
                lines.append(start)
                raws.append(raw)
            start = end + 1
    except csv.Error as exc:
        bad.append((start, f"unreadable CSV ({exc})", "\n".join(physical[start - 1:start + 1])[:MAX_RAW]))
    rejected = pl.DataFrame(bad, schema={"line": pl.Int64, "reason": pl.String, "raw": pl.String},
                            orient="row") if bad else empty_rejected()
    return headers, frame_of_cells(records, lines, raws, len(headers)), rejected
