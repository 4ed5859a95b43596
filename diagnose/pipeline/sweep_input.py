"""The links of a sweep, read a row at a time: a CSV with a link / url column (and optional
partner_key and expected public key columns; every other column is kept as a label) or a text file
(one URL per line, ``#`` comments), or ``-`` for standard input.

Nothing the user gave is dropped: a row that is not a usable link (not a URL, a line too long, a
quote never closed, a partner key or public key of the wrong shape) is a row with ``error`` set,
which the sweep records as bad input. A text line of words is "not a web address" when its first word
is not one, and "more than one value" only when a URL is followed by more. Lines are read with a length cap, so a hostile file (one
endless line, /dev/zero) cannot fill the memory. Standard input and other non-regular files are
first copied to a temporary file (up to a cap), which lets the rows be counted for the progress bar.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from diagnose.core.errors import BadInput
from diagnose.core.evidence import shorten
from diagnose.core.partnerstack import PUBLIC_KEY_RE, looks_like_partner_key
from diagnose.core.reading import clean_text
from diagnose.core.urls import normalise_url

MAX_LINE = 64 * 1024  # bytes of one physical line
MAX_URL = 8192  # characters of one link
MAX_LABEL = 2000  # characters kept of one label cell
SPOOL_LIMIT = 256 * 1024 ** 2  # standard input / a pipe: at most 256 MB (10^6 links are ~100 MB)
_TOO_LONG = "\x1ediagnose-line-too-long\x1e"

# Column names, compared after lower-casing and folding spaces / dashes to '_'; the first found wins.
LINK_COLUMNS = ("link", "url", "partner_link", "referral_link", "link_url", "landing_page", "landing_url")
PARTNER_COLUMNS = ("partner_key", "partner", "partnerkey")
PUBLIC_KEY_COLUMNS = ("expected_public_key", "public_key", "expected_key", "pk")

MAX_RECORD = 256 * 1024  # characters of one CSV record (a quote left open spans lines)


class _RecordTooLong(Exception):
    pass


class _Feed:
    """The physical lines for csv.reader, counted, and cut off (once) when one record grows past
    MAX_RECORD: a quote that is never closed cannot pull the rest of the file into one field. (The
    csv module's own field_size_limit is process-wide: the reconcile reader sets it, this does not.)"""

    def __init__(self, lines: Iterator[tuple[int, str]]):
        self.lines, self.number, self.size = lines, 0, 0

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        self.number, text = next(self.lines)
        self.size += len(text)
        if self.size > MAX_RECORD:
            raise _RecordTooLong
        return text


@dataclass(frozen=True)
class LinkRow:
    line: int  # the first physical line of the row (1-based)
    link: str  # the link as given (bounded), or the row's text for a bad row
    url: str | None = None  # validated and normalised; None for a bad row
    partner_key: str | None = None
    expected_key: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # why the row is not a usable link

    @property
    def id(self) -> str:
        """The row's identity across sweeps (for --baseline and duplicates)."""
        if self.url is None:
            return "bad-input:" + self.link
        return "\t".join(p for p in (self.url, self.partner_key and f"partner={self.partner_key}",
                                     self.expected_key and f"expect={self.expected_key}") if p)


def _fold(name: str) -> str:
    return re.sub(r"[\s_-]+", "_", name.strip().lstrip("\ufeff").lower())


class LinkSource:
    """The rows of one LINKS file; iterate :meth:`rows` (as often as needed), :meth:`count` them."""

    def __init__(self, given: str, stdin=None):
        self.given = given
        self._tmp: str | None = None
        self._cr: bool | None = None  # lines end at "\r" alone (see _cr_only)
        self.path = self._regular_file(given, stdin)
        self.encoding = self._encoding()
        header = self._first_line()
        self.mode, self.delimiter, self.columns, self.unnamed = "text", ",", [], set()
        self.link_column = self.partner_column = self.key_column = None
        if header is not None:
            self._detect(header)

    # -- the file --
    def _regular_file(self, given: str, stdin) -> str:
        if given == "-":
            return self._spool((stdin or sys.stdin.buffer), "standard input")
        try:
            info = os.stat(given)
        except (OSError, ValueError) as exc:
            raise BadInput(f"cannot read LINKS {shorten(given, 200)}: {getattr(exc, 'strerror', None) or exc}") from None
        if stat.S_ISDIR(info.st_mode):
            raise BadInput(f"LINKS {shorten(given, 200)} is a directory, not a file")
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):  # /dev/zero, a socket, ...
            raise BadInput(f"LINKS {shorten(given, 200)} is not a regular file (use - to read standard input)")
        if stat.S_ISREG(info.st_mode):
            try:
                with open(given, "rb"):
                    pass
            except OSError as exc:
                raise BadInput(f"cannot read LINKS {shorten(given, 200)}: {exc.strerror or exc}") from None
            return given
        try:  # a pipe (<(...)): copied once, up to the cap
            with open(given, "rb") as fh:
                return self._spool(fh, shorten(given, 200))
        except OSError as exc:
            raise BadInput(f"cannot read LINKS {shorten(given, 200)}: {exc.strerror or exc}") from None

    def _spool(self, stream, what: str) -> str:
        fd, self._tmp = tempfile.mkstemp(prefix="diagnose-sweep-links-")
        total = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                total += len(chunk)
                if total > SPOOL_LIMIT:
                    self.close()
                    raise BadInput(f"LINKS ({what}) is larger than {SPOOL_LIMIT // 1024 ** 2} MB")
                out.write(chunk)
        return self._tmp

    def _encoding(self) -> str:
        with open(self.path, "rb") as fh:
            head = fh.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # transcoded once to UTF-8
            fd, tmp = tempfile.mkstemp(prefix="diagnose-sweep-links-")
            decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
            with open(self.path, "rb") as src, os.fdopen(fd, "wb") as out:
                while chunk := src.read(1024 * 1024):
                    out.write(decoder.decode(chunk).encode("utf-8", "surrogatepass"))
                out.write(decoder.decode(b"", final=True).encode("utf-8", "surrogatepass"))
            self.close()
            self.path = self._tmp = tmp
            return "utf-16"
        return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"

    def close(self) -> None:
        if self._tmp:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = None

    def _lines(self) -> Iterator[tuple[int, str]]:
        """(line number, text) of each physical line, each at most MAX_LINE bytes (a longer one is a
        marker); UTF-8 per line, else cp1252."""
        with open(self.path, "rb") as fh:
            for number, raw in enumerate(_cr_lines(fh) if self._cr_only() else _lf_lines(fh), start=1):
                if raw is None:
                    yield number, _TOO_LONG + "\n"
                    continue
                if number == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8):]
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = raw.decode("cp1252", errors="replace")
                yield number, clean_text(text)

    def _cr_only(self) -> bool:
        """Whether lines end at a carriage return alone (an old Mac export): the file holds "\r" and
        never "\n" (the csv module reads such a file as lines; readline would see one long line)."""
        if self._cr is None:
            seen_cr = False
            with open(self.path, "rb") as fh:
                while chunk := fh.read(1024 * 1024):
                    if b"\n" in chunk:
                        seen_cr = False
                        break
                    seen_cr = seen_cr or b"\r" in chunk
            self._cr = seen_cr
        return self._cr

    def _first_line(self) -> str | None:
        for _, text in self._lines():
            if text.strip() and not text.lstrip().startswith("#"):
                return text
        return None

    def _detect(self, header: str) -> None:
        from diagnose.checks.reconcile.csvread import sniff_delimiter

        self.delimiter = sniff_delimiter(header)
        try:
            cells = next(csv.reader([header], delimiter=self.delimiter))
        except (csv.Error, StopIteration):
            cells = []
        folded = [_fold(c) for c in cells]
        for names, attr in ((LINK_COLUMNS, "link_column"), (PARTNER_COLUMNS, "partner_column"),
                            (PUBLIC_KEY_COLUMNS, "key_column")):
            setattr(self, attr, next((folded.index(n) for n in names if n in folded), None))
        if self.link_column is not None:
            self.mode = "csv"
            self.columns = [clean_text(c.strip().lstrip("\ufeff")) or f"column {i + 1}" for i, c in enumerate(cells)]
            self.unnamed = {i for i, c in enumerate(cells) if not c.strip().lstrip("\ufeff")}
        elif Path(self.given).suffix.lower() in (".csv", ".tsv") and len(cells) > 1:
            if re.match(r"\s*https?://", cells[0], re.IGNORECASE):
                raise BadInput(f"LINKS {shorten(self.given, 200)} looks like a CSV without a header row: add one "
                               "that names the link column (link or url)")
            raise BadInput(f"LINKS {shorten(self.given, 200)}: no column named link or url "
                           f"(columns: {shorten(', '.join(cells), 200)})")

    @property
    def label_columns(self) -> list[str]:
        used = {self.link_column, self.partner_column, self.key_column}
        return [c for i, c in enumerate(self.columns) if i not in used]

    # -- the rows --
    def rows(self, default_key: str | None = None) -> Iterator[LinkRow]:
        if self.mode == "csv":
            yield from self._csv_rows(default_key)
        else:
            yield from self._text_rows(default_key)

    def count(self) -> int:
        """The number of rows (for the progress bar): the same rows as :meth:`rows`, not validated."""
        if self.mode == "csv":
            return sum(1 for _ in self._csv_rows(None, validate=False))
        return sum(1 for _, text in self._lines() if text.strip() and not text.lstrip().startswith("#"))

    def ids(self, default_key: str | None = None) -> set[str]:
        """The ids of every row of the list (read again: it is a file, standard input is spooled), for a
        stopped sweep to tell the baseline's links still listed from those no longer in the list."""
        return {row.id for row in self.rows(default_key)}

    def _text_rows(self, default_key: str | None) -> Iterator[LinkRow]:
        for number, text in self._lines():
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if text.startswith(_TOO_LONG):
                yield LinkRow(number, "", error=f"line {number} is longer than {MAX_LINE // 1024} KB")
                continue
            first, *more = stripped.split(None, 1)
            rest = more[0] if more else ""
            labels = {}
            if rest.startswith("#"):
                labels["comment"] = rest[1:].strip()[:MAX_LABEL]
            elif rest:
                yield LinkRow(number, shorten(stripped, 300), error=_several(first, stripped))
                continue
            if len(first) > 2 and (first[0], first[-1]) in (('"', '"'), ("'", "'"), ("<", ">")):
                first = first[1:-1].strip()  # "https://…", <https://…>: as pasted from a document or a mail
            yield _row(number, first, None, None, default_key, labels)

    def _csv_rows(self, default_key: str | None, validate: bool = True) -> Iterator[LinkRow | None]:
        feed = _Feed(self._lines())
        reader = csv.reader(feed, delimiter=self.delimiter)
        header_seen = False
        while True:
            start, feed.size = feed.number + 1, 0
            try:
                cells = next(reader)
            except StopIteration:
                return
            except _RecordTooLong:
                yield LinkRow(start, "", error=f"a quote opened on line {start} is still open on line {feed.number} "
                                               f"(more than {MAX_RECORD // 1024} KB): the lines between were read "
                                               "as one cell")
                continue
            except csv.Error as exc:
                yield LinkRow(start, "", error=f"unreadable CSV row (lines {start}-{feed.number}): {exc}")
                continue
            if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue  # a blank line, or a comment (a row whose first cell starts with #)
            if not header_seen:
                header_seen = True
                continue
            yield self._csv_row(start, feed.number, cells, default_key) if validate else None

    def _csv_row(self, start: int, end: int, cells: list[str], default_key: str | None) -> LinkRow:
        def cell(i: int | None) -> str:
            return cells[i].strip() if i is not None and i < len(cells) else ""

        if any(_TOO_LONG in c for c in cells):
            return LinkRow(start, "", error=f"line {start} is longer than {MAX_LINE // 1024} KB")
        labels = {name: cell(i)[:MAX_LABEL] for i, name in enumerate(self.columns)
                  if i not in (self.link_column, self.partner_column, self.key_column)
                  and (cell(i) or i not in self.unnamed)}  # a spreadsheet's empty trailing columns are no labels
        if len(cells) > len(self.columns) and any(c.strip() for c in cells[len(self.columns):]):
            labels["extra cells"] = self.delimiter.join(cells[len(self.columns):])[:MAX_LABEL]
        link = cell(self.link_column)
        if "\n" in link or "\r" in link:
            return LinkRow(start, shorten(link, 300), labels=labels,
                           error=f"a quote opened on line {start} is closed only on line {end}: "
                                 "the lines between were read as one cell")
        return _row(start, link, cell(self.partner_column) or None, cell(self.key_column) or None,
                    default_key, labels)


def _lf_lines(fh) -> Iterator[bytes | None]:
    """The physical lines of ``fh`` (ending at "\n"), None for one longer than MAX_LINE (skipped)."""
    while raw := fh.readline(MAX_LINE + 1):
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while (rest := fh.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
            yield None
            continue
        yield raw


def _cr_lines(fh) -> Iterator[bytes | None]:
    """The same for a file whose lines end at "\r" alone; memory stays bounded by MAX_LINE + a chunk."""
    buf, skipping = b"", False
    while chunk := fh.read(1024 * 1024):
        *done, buf = (buf + chunk).split(b"\r")
        for part in done:
            if skipping:  # the end of a line already reported as too long
                skipping = False
                continue
            yield part + b"\r" if len(part) < MAX_LINE else None
        if len(buf) > MAX_LINE:
            if not skipping:
                yield None
            buf, skipping = b"", True
    if buf and not skipping:
        yield buf


def _several(first: str, line: str) -> str:
    """Why a text line of several words is a bad row: a URL followed by more, or words that are not a URL."""
    try:
        normalise_url(first.strip("\"'<>"))
    except BadInput:
        return f"{shorten(line, 100)} is not a web address (a text list holds one URL per line)"
    return "more than one value on the line (a text list holds one URL per line; use a CSV with a link column for more)"


def _row(line: int, link: str, partner: str | None, key: str | None, default_key: str | None,
         labels: dict[str, str]) -> LinkRow:
    shown = shorten(link, 300) if len(link) > 300 else link
    if not link:
        return LinkRow(line, "", labels=labels, error="no link in the row")
    if len(link) > MAX_URL:
        return LinkRow(line, shown, labels=labels, error=f"the link is longer than {MAX_URL} characters")
    try:
        url = normalise_url(link)
    except BadInput as exc:
        return LinkRow(line, shown, labels=labels, error=str(exc))
    if partner is not None and not looks_like_partner_key(partner):
        return LinkRow(line, shown, labels=labels,
                       error=f"partner_key {shorten(partner)} is not a partner key (letters, digits, '-', '_', '.')")
    if key is not None and not PUBLIC_KEY_RE.fullmatch(key):
        return LinkRow(line, shown, labels=labels,
                       error=f"expected public key {shorten(key)} is not pk_ followed by 32 letters or digits")
    return LinkRow(line, link, url, partner, key or default_key, labels)

