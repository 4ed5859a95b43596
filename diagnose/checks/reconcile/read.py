"""Reading dashboard exports and internal records for ``diagnose reconcile`` (polars, columnar).

A file is read into a :class:`Table`: one polars frame of the readable rows, with canonical column
names (``customer_key``, ``email``, ``name``, ``partner_key``, ``created_at``, ``status``,
``source``, ``provider_key``, ``click_date``) and each row's physical line number (``_line``), and
one frame of the rows that could not be read (``line``, ``reason``, ``raw``). Nothing is dropped:
``len(rows) + len(rejected)`` is the number of data rows in the file (blank lines are not rows).

CSV: UTF-8 with or without BOM (UTF-16 with BOM and cp1252/latin-1 are converted), ``,`` ``;`` or
tab detected from the header line, quoted fields with embedded newlines. JSON Lines: one object per
line (``.jsonl`` / ``.ndjson``, or a file whose first character is ``{``). Excel (.xlsx, or .xls),
known by its first bytes whatever the file is called: the first sheet, read by polars with the
optional fastexcel engine (``pip install 'diagnose[excel]'``); without it, one line saying how to
export CSV. Row numbers are the sheet's.

Fast path: polars parses the fields, and a second polars read of the physical lines gives each
record's line number and field count (wrong field counts are rejected), vectorised. When the two
reads disagree (an odd file), the standard ``csv`` module reads it instead, slower but exact.

Dates are read per column (:func:`parse_dates`, the rule used is kept); a date that cannot be read
keeps its row with the date unknown (``Table.unreadable``). Also here, for the check: the loose
e-mail forms (:func:`add_email_levels`), frames of rows by line number (:class:`Rows`, :func:`line_mask`,
duplicates), and writing (the missed-out CSV, the streamed JSON). Works on polars 1.0 to 2.x.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput

SIDES = ("dashboard", "internal")
FIELDS = (
    "customer_key", "email", "name", "partner_key", "created_at", "status", "source",
    "provider_key", "click_date",
)
DATE_FIELDS = ("created_at", "click_date")

# Header spellings, compared after lower-casing and removing everything but letters and digits.
# Earlier spellings win when a file has several (e.g. "Partner Key" over "Partner").
ALIASES: dict[str, tuple[str, ...]] = {
    "customer_key": ("customerkey", "customerexternalkey", "externalkey", "customerid",
                     "customerexternalid", "externalid", "userid", "accountid", "clientid", "key"),
    "email": ("email", "emailaddress", "customeremail", "customeremailaddress", "useremail", "mail"),
    "name": ("name", "customername", "fullname", "username", "customer", "client", "clientname"),
    "partner_key": ("partnerkey", "partnerid", "partner", "referringpartner", "referredby",
                    "referrer", "partnerslug"),
    "created_at": ("createdat", "submittedon", "signupdate", "signedupat", "signedupon", "signedup",
                   "signupat", "signup", "createddate", "created", "createdon", "registeredat",
                   "registrationdate", "registeredon", "joinedat", "joined", "date", "timestamp"),
    "status": ("status", "customerstatus", "state", "stage"),
    "source": ("source", "referralsource", "customersource", "type"),
    "provider_key": ("providerkey", "customerproviderkey", "paymentproviderkey", "stripecustomerid",
                     "stripecustomer", "stripeid", "stripekey", "providerid", "billingid",
                     "billingcustomerid"),
    "click_date": ("clickdate", "clickedat", "clickedon", "clicked", "clickat", "firstclick",
                   "firstclickat", "firstclickdate", "lastclick", "lastclickat", "lastclickdate",
                   "referralclickdate", "referredat", "referraldate"),
}
# "id" alone is the customer's key in an internal export, but PartnerStack's own record id in a
# dashboard export, so it is only a spelling of customer_key on the internal side.
SIDE_ALIASES = {"internal": {"customer_key": ("id",)}, "dashboard": {}}

MAX_RAW = 200


def header_token(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


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


def parse_mapping(items: dict[str, str | None] | None) -> dict[str, dict[str, str | None]]:
    """``{"dashboard.email": "E-mail address"}`` -> ``{"dashboard": {"email": "E-mail address"}}``.
    An empty header or ``-`` maps the field to no column: it is then not inferred either."""
    out: dict[str, dict[str, str | None]] = {side: {} for side in SIDES}
    for key, header in (items or {}).items():
        side, dot, fld = key.strip().partition(".")
        side, fld = side.strip().lower(), fld.strip().lower().replace("-", "_")
        if not dot or side not in SIDES or fld not in FIELDS:
            raise BadInput(
                f"--map {key}={header!r}: expected SIDE.FIELD=HEADER with SIDE one of "
                f"{', '.join(SIDES)} and FIELD one of {', '.join(FIELDS)}"
            )
        header = str(header or "").strip()
        out[side][fld] = None if header in ("", "-") else header
    return out


def resolve_columns(headers: list[str], side: str, path: str, mapping: dict[str, str | None]) -> dict[str, int]:
    """Canonical field -> column index, from explicit mapping first, then the known spellings (a
    field mapped to None has no column)."""
    tokens = [header_token(h) for h in headers]
    found: dict[str, int] = {}
    for fld, header in mapping.items():
        if header is None:
            continue
        exact = [i for i, h in enumerate(headers) if h == header]
        loose = [i for i, t in enumerate(tokens) if t == header_token(header)]
        hits = exact or loose
        if not hits:
            raise BadInput(
                f"--map {side}.{fld}={header!r}: no such column in {side} file {path} "
                f"(headers found: {', '.join(repr(h) for h in headers)})"
            )
        found[fld] = hits[0]
    used = set(found.values())
    for fld in FIELDS:
        if fld in found or fld in mapping:
            continue
        spellings = ALIASES[fld] + SIDE_ALIASES[side].get(fld, ())
        for spelling in spellings:
            idx = next((i for i, t in enumerate(tokens) if t == spelling and i not in used), None)
            if idx is not None:
                found[fld] = idx
                used.add(idx)
                break
    return found


# -- bytes -> text ----------------------------------------------------------------------------


def _existing_file(path: str | Path, side: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise BadInput(f"{side} file {path} does not exist")
    if p.is_dir():
        raise BadInput(f"{side} file {path} is a directory, not a file")
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


def ensure_utf8(data: bytes, encoding: str, side: str, path: str | Path) -> tuple[bytes, str]:
    """``data`` converted from cp1252 when it is not valid UTF-8 (checked only when a fast read
    failed, or for JSON Lines)."""
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError as exc:
        if b"\x00" in data:
            raise BadInput(f"{side} file {path} is binary, not CSV or JSON Lines") from None
        return data.decode("cp1252", errors="replace").encode("utf-8"), f"cp1252 (not UTF-8 at byte {exc.start})"
    return data, encoding


def is_jsonl(path: str | Path, data: bytes) -> bool:
    if str(path).lower().endswith((".jsonl", ".ndjson", ".json")):
        return True
    return data.lstrip()[:1] == b"{"


OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old Excel .xls (and other Office 97 files)


def spreadsheet_kind(path: str | Path, head: bytes, side: str = "input") -> str | None:
    """``xlsx`` / ``xls`` when the file's first bytes say it is an Excel workbook, else None;
    BadInput for a ZIP archive that is not one."""
    import zipfile

    if head.startswith(OLE2_MAGIC[:4]):
        return "xls"
    if not head.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        names = []
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    raise BadInput(f"{side} file {path} is a ZIP archive, not CSV or JSON Lines: unzip it and give the CSV inside")


def _read_excel(path: str | Path, side: str, kind: str):
    """(headers, cells, rejected, what was read) of the first sheet, every cell as text (polars +
    fastexcel). A workbook of several sheets says which one was read, and that the others were not."""
    import polars as pl

    how = "export the sheet as CSV (Excel: File > Save As > CSV UTF-8) and give that file"
    what = f"{side} file {path} is an Excel workbook (.{kind}), not CSV"
    try:
        import fastexcel
    except ImportError:
        raise BadInput(f"{what}: {how}, or install the Excel reader: pip install 'diagnose[excel]'") from None
    try:
        import inspect

        keep = {k: False for k in ("drop_empty_rows", "drop_empty_cols")
                if k in inspect.signature(pl.read_excel).parameters}  # keep the sheet's row numbers
        with warnings.catch_warnings():  # polars 1.4x warns about its own from_arrow call here
            warnings.simplefilter("ignore", FutureWarning)
            sheet = pl.read_excel(path, engine="calamine", read_options={"header_row": None, "dtypes": "string"},
                                  **keep)
        names = fastexcel.read_excel(str(path)).sheet_names
    except Exception as exc:  # an unreadable workbook, or a polars too old for this fastexcel
        detail = " ".join(str(exc).split())[:160]
        major, minor = (int(x) for x in re.findall(r"\d+", pl.__version__)[:2])
        old = f"; reading Excel needs polars >= 1.34, this is {pl.__version__}" if (major, minor) < (1, 34) else ""
        raise BadInput(f"{what} and it could not be read ({type(exc).__name__}: {detail}{old}): {how}") from None
    read = f"{kind}, sheet {names[0]!r}" + (f" (the other {len(names) - 1} sheet(s) not read)" if len(names) > 1 else "")
    if sheet.height == 0:
        return [], _frame_of_cells([], [], [], 0), _empty_rejected(), read
    sheet = sheet.select(pl.all().cast(pl.String)).with_row_index("_line", offset=1)
    sheet = sheet.rename({name: f"c{i}" for i, name in enumerate(sheet.columns[1:])})
    headers = [str(h or "").strip() for h in sheet.row(0)[1:]]
    cells = sheet.slice(1).filter(~pl.all_horizontal(
        pl.col(f"c{i}").fill_null("").str.strip_chars() == "" for i in range(len(headers))))
    cells = cells.select(*[f"c{i}" for i in range(len(headers))], pl.col("_line").cast(pl.Int64),
                         pl.lit(None, dtype=pl.String).alias("_raw"))
    return headers, cells, _empty_rejected(), read


def sniff_delimiter(first_line: str) -> str:
    outside = re.sub(r'"[^"]*"', "", first_line)
    counts = {d: outside.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


# -- reading ------------------------------------------------------------------------------------


def read_table(path: str | Path, side: str, mapping: dict[str, str | None] | None = None,
               *, progress: Callable[[str], None] | None = None) -> Table:
    """Read one file (CSV or JSON Lines) into a :class:`Table`. Raises BadInput on bad input."""
    import polars as pl

    if progress:
        progress(f"reading {side} file {path}")
    head = check_file(path, side)
    encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    kind = spreadsheet_kind(path, head, side)
    if kind is not None:
        headers, cells, rejected, encoding = _read_excel(path, side, kind)
        data, delim, fmt = None, ",", kind
    elif is_jsonl(path, head) or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        data, encoding = load_bytes(path, side)
        data, encoding = ensure_utf8(data, encoding, side, path)
    else:
        data = None  # polars reads (and maps) the file itself: no copy in Python
    if kind is not None:
        pass
    elif data is not None and is_jsonl(path, data):
        headers, cells, _, rejected = _read_jsonl(data)
        delim = ","
        fmt = "jsonl"
    else:
        try:
            headers, cells, delim, rejected = _read_csv(data if data is not None else str(path), head)
        except (UnicodeDecodeError, pl.exceptions.ComputeError):
            if data is not None:
                raise
            data, encoding = load_bytes(path, side)
            data, encoding = ensure_utf8(data, encoding, side, path)
            headers, cells, delim, rejected = _read_csv(data, data[:65536], fast=encoding.startswith("utf"))
        fmt = "csv"
    del data
    if not headers:
        raise BadInput(f"{side} file {path} is empty (no header row)")
    cols = resolve_columns(headers, side, str(path), (mapping or {}))
    if "email" not in cols and "customer_key" not in cols:
        raise BadInput(
            f"{side} file {path} has no email column (nor a customer_key column): "
            f"headers found: {', '.join(repr(h) for h in headers)}; use --map {side}.email=HEADER"
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
        width = len(headers)
        raw_of = cells.filter(line_mask(cells["_line"], bad["_line"])).select(
            "_line", pl.coalesce("_raw", pl.concat_str([pl.col(f"c{i}").fill_null("") for i in range(width)],
                                                       separator=delim)).alias("_raw"))
        bad = bad.join(raw_of, on="_line", how="left").select(
            pl.col("_line").alias("line"), pl.lit("empty email and customer_key").alias("reason"),
            pl.col("_raw").alias("raw"))
        rejected = pl.concat([rejected, bad])
        frame = frame.filter(~empty)
    del cells
    rows = frame.drop("created_at", "click_date").rename({"created_at_date": "created_at", "click_date_date": "click_date"})
    rejected = rejected.with_columns(pl.col("raw").str.slice(0, MAX_RAW)).sort("line")
    unreadable_frame = pl.concat(unreadable).sort("line") if unreadable else _empty_unreadable()
    return Table(side, str(path), rows, rejected, headers,
                 {f: headers[i] for f, i in sorted(cols.items(), key=lambda kv: kv[1])}, encoding, fmt,
                 rules, unreadable_frame)


_MONTHS = {m: f"{i:02d}" for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_MONTH = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_END = r"(?:$|[T\s,])"
DATE_FORMS = {  # name -> (regex with groups, how the groups make year, month, day)
    "ISO 8601": (r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _END, "ymd"),
    "epoch seconds / milliseconds": (r"^(\d{9,10}|\d{12,13})(?:\.\d+)?$", "epoch"),
    "YYYYMMDD": (r"^(\d{4})(\d{2})(\d{2})$", "ymd"),
    "Month D, YYYY": (r"(?i)^" + _WEEKDAY + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})" + _END, "mdy"),
    "D Month YYYY": (r"(?i)^" + _WEEKDAY + r"(\d{1,2})(?:st|nd|rd|th)?[\s-]+" + _MONTH + r",?[\s-]+(\d{4})" + _END, "dmy"),
    "DD.MM.YYYY": (r"^(\d{1,2})\.(\d{1,2})\.(\d{4})" + _END, "dmy"),
}
NUMERIC_DATE = r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})" + _END  # 10/05/2026, 05-10-26: order per column


def parse_dates(series: Any) -> tuple[Any, str | None]:
    """A Date series and the rule used (None when the column has no date). Reads ISO dates and
    date-times (the date as written, zone aside), epoch seconds / milliseconds, YYYYMMDD, "Oct 5,
    2026", "5 Oct 2026", "October 5, 2026" (weekday allowed), DD.MM.YYYY, and numeric dates with
    / or - decided per column: day first when some first number is over 12 (and more often than
    a second number is), month first otherwise (ambiguous -> month first). Unreadable -> null."""
    import polars as pl

    s = series.str.strip_chars()
    iso = s.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    iso = pl.select(pl.when(s.str.slice(10, 1).is_in(["", "T", " "])).then(iso)).to_series()
    todo = iso.is_null() & s.is_not_null()
    used = ["ISO 8601"] if iso.is_not_null().any() else []
    if not todo.any():
        return iso, "; ".join(used) or None

    def ymd(y: Any, m: Any, d: Any) -> Any:
        return pl.concat_str([y, pl.lit("-"), m.str.zfill(2), pl.lit("-"), d.str.zfill(2)]).str.to_date(
            "%Y-%m-%d", strict=False)

    rest = s.filter(todo).alias("s").to_frame()
    parts = []
    for name, (regex, how) in DATE_FORMS.items():
        g = pl.col("s").str.extract_groups(regex)
        f1, f2, f3 = (g.struct.field(str(n)) for n in (1, 2, 3))
        if how == "epoch":
            v = f1.cast(pl.Int64)
            date = pl.from_epoch(pl.when(f1.str.len_chars() >= 12).then(v).otherwise(v * 1000), time_unit="ms").dt.date()
        elif how == "ymd":
            date = ymd(f1, f2, f3)
        elif how == "mdy":
            date = ymd(f3, f1.str.to_lowercase().str.slice(0, 3).replace(_MONTHS), f2)
        else:
            month = f2 if name == "DD.MM.YYYY" else f2.str.to_lowercase().str.slice(0, 3).replace(_MONTHS)
            date = ymd(f3, month, f1)
        parts.append(date.alias(name))
    g = pl.col("s").str.extract_groups(NUMERIC_DATE)
    a, b, y = (g.struct.field(str(n)) for n in (1, 2, 3))
    nums = rest.select(a.cast(pl.Int32).alias("a"), b.cast(pl.Int32).alias("b"), pl.col("s"))
    first_over, second_over = int((nums["a"] > 12).sum()), int((nums["b"] > 12).sum())
    day_first = first_over > second_over
    y4 = pl.when(y.str.len_chars() == 2).then(
        pl.when(y.cast(pl.Int32) < 69).then(pl.lit("20") + y).otherwise(pl.lit("19") + y)).otherwise(y)
    parts.append((ymd(y4, b, a) if day_first else ymd(y4, a, b)).alias("numeric"))
    found = rest.select(parts)
    counts = found.select(pl.all().is_not_null().sum()).row(0, named=True)
    used += [name for name in DATE_FORMS if counts[name]]
    if nums["a"].is_not_null().any():
        example = lambda col: nums.filter(pl.col(col) > 12)["s"][0]  # noqa: E731
        if day_first:
            rule = f"DD/MM/YYYY (day first: a first number is over 12, e.g. {example('a')!r})"
        elif second_over:
            rule = f"MM/DD/YYYY (month first: a second number is over 12, e.g. {example('b')!r})"
        else:
            rule = "MM/DD/YYYY (ambiguous: no number over 12, month first assumed)"
        if first_over and second_over:
            rule += "; mixed orders in the column: the dates that fit only the other order are unreadable"
        used.append(rule)
    parsed = found.select(pl.coalesce(pl.all())).to_series()
    return iso.scatter(todo.arg_true(), parsed), "; ".join(dict.fromkeys(used)) or None


def stream_json(data: dict[str, Any], lists: dict[str, tuple[Any, Callable[[Any], Any], list[str]]],
                out: Any, chunk: int = 20_000) -> None:
    """Write ``data`` (a result's JSON object) to ``out`` with each key of ``lists`` replaced by all
    its rows: ``(frame, builder, columns)``, built and written ``chunk`` rows at a time as JSON by
    polars, two chunks at once on two threads, a few chunks ahead at most, so memory stays flat
    whatever the number of rows. ``complete`` is true."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    def render(frame: Any, build: Callable[[Any], Any], columns: list[str], start: int) -> str:
        text = build(frame.slice(start, chunk)).select(columns).write_ndjson()
        return ("," if start else "") + "\n    " + text.rstrip("\n").replace("\n", ",\n    ")

    def pieces(pool: Any) -> Any:  # text, or a future of text, in output order
        yield "{"
        for n, (key, value) in enumerate({**data, "complete": True}.items()):
            yield ("," if n else "") + f"\n  {json.dumps(key)}: "
            if key not in lists:
                yield json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
                continue
            frame, build, columns = lists[key]
            yield "[" if frame.height else "[]"
            for start in range(0, frame.height, chunk):
                yield pool.submit(render, frame, build, columns, start)
            yield "\n  ]" if frame.height else ""
        yield "\n}\n"

    with ThreadPoolExecutor(max_workers=2) as pool:
        ahead: deque[Any] = deque()
        for piece in pieces(pool):
            ahead.append(piece)
            while len(ahead) > 3 or (ahead and isinstance(ahead[0], str)):
                first = ahead.popleft()
                out.write(first if isinstance(first, str) else first.result())
        for first in ahead:
            out.write(first if isinstance(first, str) else first.result())


def line_mask(lines: Any, wanted: Any) -> Any:
    """A boolean Series over ``lines`` (sorted, unique line numbers): True where the line is one of
    ``wanted``. Binary search in expressions: the same on polars 1.0 and 2.x (no ``is_in``)."""
    import polars as pl

    mask = pl.repeat(False, lines.len(), dtype=pl.Boolean, eager=True).alias("_mask")
    if not lines.len() or not wanted.len():
        return mask
    idx = pl.select(pl.lit(lines).search_sorted(pl.lit(wanted)).clip(0, lines.len() - 1)).to_series()
    found = lines.gather(idx) == wanted
    return mask.scatter(idx.filter(found).sort(), True)


def _frame_of_cells(records: list[list[str | None]], lines: list[int], raws: list[str], width: int):
    import polars as pl

    data = {f"c{i}": [r[i] if i < len(r) else None for r in records] for i in range(width)}
    data["_line"] = lines
    data["_raw"] = raws
    return pl.DataFrame(data, schema={**{f"c{i}": pl.String for i in range(width)},
                                      "_line": pl.Int64, "_raw": pl.String})


def _empty_rejected():
    import polars as pl

    return pl.DataFrame(schema={"line": pl.Int64, "reason": pl.String, "raw": pl.String})


def _empty_unreadable():
    import polars as pl

    return pl.DataFrame(schema={"line": pl.Int64, "field": pl.String, "column": pl.String, "value": pl.String})


def _read_jsonl(data: bytes):
    import polars as pl

    headers: dict[str, None] = {}
    objects: list[dict[str, Any]] = []
    lines: list[int] = []
    raws: list[str] = []
    bad: list[tuple[int, str, str]] = []
    for no, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            bad.append((no, f"not valid JSON ({exc.msg})", line[:MAX_RAW]))
            continue
        if not isinstance(obj, dict):
            bad.append((no, f"a JSON {type(obj).__name__}, not an object", line[:MAX_RAW]))
            continue
        for k in obj:
            headers.setdefault(str(k))
        objects.append(obj)
        lines.append(no)
        raws.append(line)
    names = list(headers)
    records = [[_scalar(o.get(h)) for h in names] for o in objects]
    rejected = pl.DataFrame(bad, schema={"line": pl.Int64, "reason": pl.String, "raw": pl.String},
                            orient="row") if bad else _empty_rejected()
    return names, _frame_of_cells(records, lines, raws, len(names)), lines, rejected


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


def _read_csv(source: bytes | str, head: bytes, fast: bool = True):
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
        return [], _frame_of_cells([], [], [], 0), _empty_rejected()
    header_raw = records["raw"][0]
    headers = [h.strip() for h in next(csv.reader([header_raw], delimiter=delim), [])]
    width = len(headers)
    if width == 0:
        return [], _frame_of_cells([], [], [], 0), _empty_rejected()
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
                            orient="row") if bad else _empty_rejected()
    return headers, _frame_of_cells(records, lines, raws, len(headers)), rejected


# -- e-mail normalisation (the loose rules) -----------------------------------------------------------------------


_STEPS = {
    # reason -> [expression builders]; each builder reads one materialised column exactly once or
    # twice, so no rule recomputes the ones before it.
    "case-or-space": [lambda c: c.str.to_lowercase().str.replace_all(r"\s+", "")],
    "plus-tag": [lambda c: c.str.replace(r"^([^@+]*)\+[^@]*@", "${1}@")],
    "gmail-dots": [
        lambda c: c.str.replace(r"@(?i:googlemail\.com)$", "@gmail.com"),
        lambda c: _when_gmail(c),
    ],
}


# What each rule can change: an e-mail matching none of the enabled patterns is its own loosest form.
_TOUCHED = {"case-or-space": r"\s", "plus-tag": r"\+", "gmail-dots": r"@(?i:g(?:oogle)?mail\.com)$"}  # + upper case


def _when_gmail(c: Any) -> Any:
    import polars as pl

    return pl.when(c.str.contains(r"@(?i:gmail\.com)$")).then(
        c.str.head(-10).str.replace_all(".", "", literal=True) + "@gmail.com").otherwise(c)


def add_email_levels(frame: Any, src: str, prefix: str, case: bool, plus: bool, gmail: bool,
                     keep: bool = True) -> tuple[Any, list[tuple[str, str]]]:
    """``frame`` with one column per enabled loose rule (``prefix`` + n), strictest to loosest,
    and ``[(reason, column)]`` starting with ``("exact", src)``. ``keep=False`` keeps only the
    loosest (named ``prefix``)."""
    import polars as pl

    levels = [("exact", src)]
    rules = [r for r, on in (("case-or-space", case), ("plus-tag", plus), ("gmail-dots", gmail)) if on]
    if not keep:  # only the loosest form, computed only for the e-mails a rule can change
        canon = frame.get_column(src).alias(prefix)
        changed = None
        if rules:
            changed = canon.str.contains("|".join(_TOUCHED[r] for r in rules))
            changed = (changed | (canon.str.to_lowercase() != canon) if case else changed).fill_null(False)
        if changed is not None and changed.any():
            idx = changed.arg_true()
            expr = pl.col(src)
            for step in (step for r in rules for step in _STEPS[r]):
                expr = step(expr)
            canon = canon.scatter(idx, canon.gather(idx).to_frame(src).select(expr).to_series())
        return frame.with_columns(canon), [(rules[-1] if rules else "exact", prefix)]
    cur = src
    n = 0
    for reason, on in (("case-or-space", case), ("plus-tag", plus), ("gmail-dots", gmail)):
        if not on:
            continue
        for step in _STEPS[reason]:
            n += 1
            name = f"{prefix}{n}"
            frame = frame.with_columns(step(pl.col(cur)).alias(name))
            cur = name
        levels.append((reason, cur))
    return frame, levels


def normalise_email(value: str, case: bool = True, plus: bool = True, gmail: bool = True) -> str:
    """The loosest enabled form of one e-mail (the same rules as the vectorised matcher)."""
    import polars as pl

    frame, _ = add_email_levels(pl.DataFrame({"e": [value]}), "e", "_n", case, plus, gmail, keep=False)
    return frame["_n"][0]


# -- frames of rows ----------------------------------------------------------------------------------


def status_class_expr(status: Any) -> Any:
    """The class of each dashboard status (platforms.DASHBOARD_STATUSES: first match wins, case
    ignored; null when blank, unknown when none matches), as a polars expression."""
    import polars as pl

    from diagnose.core.partnerstack import DASHBOARD_STATUSES, STATUS_UNKNOWN

    out = pl.lit(STATUS_UNKNOWN)
    for cls, pattern in reversed(DASHBOARD_STATUSES):
        out = pl.when(status.str.contains(f"(?i){pattern}")).then(pl.lit(cls)).otherwise(out)
    return pl.when(status.str.strip_chars().fill_null("") == "").then(None).otherwise(out)


class Rows:
    """Row positions of line numbers in a frame (its ``_line`` is unique): a lookup table indexed by
    line number, so finding 1M rows is one gather, not 1M binary searches."""

    def __init__(self, frame: Any):
        import polars as pl

        self.frame, lines = frame, frame["_line"]
        size = int(lines.max()) + 1 if lines.len() else 0
        self.lookup = pl.repeat(None, size, dtype=pl.UInt32, eager=True).scatter(
            lines, pl.int_range(lines.len(), dtype=pl.UInt32, eager=True))

    def taken(self, lines: Any) -> Any:
        """A boolean mask over the frame's rows: True for the rows at ``lines`` (all present)."""
        import polars as pl

        mask = pl.repeat(False, self.frame.height, dtype=pl.Boolean, eager=True)
        return mask.scatter(self.lookup.gather(lines).sort(), True) if len(lines) else mask

    def at(self, lines: Any, **columns: str) -> Any:
        """The frame's ``columns`` (renamed as given) at ``lines``, in that order."""
        import polars as pl

        idx = self.lookup.gather(lines)
        return self.frame.select(pl.col(c).gather(idx).alias(new) for c, new in columns.items())


def ranked(frame: Any, key: str) -> Any:
    """``frame`` with ``_rank``: the row's occurrence number among rows of the same ``key``."""
    import polars as pl

    if frame.height == frame[key].n_unique():
        return frame.with_columns(pl.lit(0, dtype=pl.Int64).alias("_rank")), False
    return frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over(key).alias("_rank")), True


def dup_lines(keyed: Any, has_dups: bool) -> Any:
    """Line numbers of the rows whose customer_key appears on more than one row."""
    import polars as pl

    if not has_dups:
        return pl.Series("_line", [], dtype=pl.Int64)
    return keyed.filter(pl.col("customer_key").is_duplicated())["_line"]


def duplicate_keys(ik: Any, dk: Any, dup_i_lines: Any, dup_d_lines: Any, ie: Any, de: Any, by_key: bool) -> Any:
    """Keys on more than one row: customer_key (keyed rows), normalised e-mail (rows without a
    key, or every row when keys are not matched; ``ie`` / ``de`` are None when no e-mail repeats on
    that side)."""
    import polars as pl

    parts = []
    for side, frame, lines, rest in (("internal", ik, dup_i_lines, ie), ("dashboard", dk, dup_d_lines, de)):
        keyed = frame.select("_line", "customer_key").filter(line_mask(frame["_line"], lines))
        parts.append(keyed.group_by("customer_key").agg(pl.len().alias("rows"), pl.col("_line").sort().head(10).alias("lines"))
                     .select(pl.lit(side).alias("side"), pl.lit("customer_key").alias("kind"),
                             pl.col("customer_key").alias("value"), "rows", "lines"))
        if rest is None:
            continue
        unkeyed = (rest.filter(pl.col("customer_key").is_null()) if by_key else rest).select("_line", "_canon")
        if unkeyed.height != unkeyed["_canon"].n_unique():
            unkeyed = unkeyed.filter(pl.col("_canon").is_duplicated())
            parts.append(unkeyed.group_by("_canon").agg(pl.len().alias("rows"), pl.col("_line").sort().head(10).alias("lines"))
                         .select(pl.lit(side).alias("side"), pl.lit("email").alias("kind"),
                                 pl.col("_canon").alias("value"), "rows", "lines"))
    return pl.concat(parts).with_columns(pl.col("rows").cast(pl.Int64)).sort(
        ["rows", "side", "value"], descending=[True, False, False])


# -- writing -------------------------------------------------------------------------------------


MISSED_OUT_COLUMNS = ("customer_key", "email", "name", "partner_key", "provider_key", "created_at")


def write_missed_out(missing: Any, path: str | Path, partner: str | None) -> int:
    """Write the missed customers as an import-ready, spreadsheet-safe CSV. Returns the row count."""
    import polars as pl

    from diagnose.core.csvsafe import neutralise_frame

    frame = missing.select(
        pl.col("customer_key"), pl.col("email").str.strip_chars(), pl.col("name"),
        pl.lit(partner, dtype=pl.String).alias("partner_key"), pl.col("provider_key"),
        pl.col("signup_date").alias("created_at"),
    ).select(MISSED_OUT_COLUMNS)
    try:
        neutralise_frame(frame).write_csv(str(path))
    except OSError as exc:
        raise BadInput(f"--missed-out {path}: cannot write ({exc.strerror or exc})") from None
    return frame.height
