"""Hostile input for ``diagnose reconcile``: every row of the file is accounted for (in a bucket, rejected
or excluded), the rows are the ones Python's ``csv`` / ``json`` modules read, and the CSVs the tool
writes neutralise formula look-alikes. Repros first, then a property test against the ``csv`` and
``json`` readers on generated files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.checks.reconcile import reconcile_files
from diagnose.checks.reconcile.read import read_table
from diagnose.core.csvsafe import neutralise, neutralise_frame

INTERNAL = "email,name\na@x.com,Ann\n"


def write(path: Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def totals(tmp_path: Path, dashboard: Path):
    """(dashboard rows accounted for, the counts): buckets + rejected + excluded, each side."""
    c = reconcile_files(dashboard, write(tmp_path / "internal.csv", INTERNAL)).evidence.counts
    pairs = c.matched + c.other_partner + c.pending
    assert c.internal == pairs + c.missing_from_dashboard + c.rejected_internal + c.excluded_internal == 1
    return pairs + c.dashboard_only + c.rejected_dashboard + c.excluded_dashboard, c


def python_rows(text: str, delim: str = ","):
    rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim)
            if r and not (len(r) == 1 and not r[0].strip(" "))]
    return rows[0], rows[1:]


# -- repros -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, names", [
    ('email,name\na@x.com,"Ann" Lee\nb@x.com,Bob\n', ["Ann Lee", "Bob"]),  # quoted value, then text
    ('email,name,n\na@x.com,=F("u","x"),1\nb@x.com,Bob,2\n', ["Bob"]),  # quotes in an unquoted field (4 fields, as csv)
    ('email,name\ra@x.com,Ann\rb@x.com,Bob\r', ["Ann", "Bob"]),  # CR-only line endings
    ('email,name\na@x.com,Ann\rb@x.com,Bob\n', ["Ann", "Bob"]),  # a stray CR ends a record, as in csv
    ('\n  \nemail,name\na@x.com,Ann\nb@x.com,Bob\n', ["Ann", "Bob"]),  # leading blank lines
    ('email,name\n\x1fa@x.com,Ann\nb@x.com,Bob\n', ["Ann", "Bob"]),  # a row starting with 0x1F
    ('email,name\na@x.com,A\x1f,"q\nb@x.com,Bob\n', None),  # 0x1F before a quote
])
def test_a_csv_reads_as_the_csv_module_reads_it(tmp_path, text, names):
    path = write(tmp_path / "d.csv", text)
    header, rows = python_rows(text)
    table = read_table(path, "dashboard")
    assert table.total == len(rows)
    good = [r for r in rows if len(r) == len(header)]
    assert table.rows["email"].to_list() == [r[0] for r in good]
    if names is not None:
        assert [r[1] for r in good][:2] == names[:len(good)]
        assert table.rows["name"].to_list() == [r[1].strip() for r in good]
    assert totals(tmp_path, path)[0] == len(rows)


def test_line_numbers_after_leading_blank_lines_and_cr(tmp_path):
    table = read_table(write(tmp_path / "d.csv", "\n\nemail,name\na@x.com,Ann\n\nb@x.com,Bob\n"), "dashboard")
    assert table.rows["_line"].to_list() == [4, 6]
    table = read_table(write(tmp_path / "d.csv", "email,name\ra@x.com,Ann\r\rb@x.com,\"B\"x\r"), "dashboard")
    assert table.rows["_line"].to_list() == [2, 4]


def test_jsonl_lines_end_at_newline_only(tmp_path):
    lines = [json.dumps({"email": "a@x.com", "name": f"A{sep}B"}, ensure_ascii=False)
             for sep in ("\u2028", "\u2029", "\x85", "\x1c", "\x0b", "\x0c")]
    path = write(tmp_path / "d.jsonl", "\r\n".join(lines) + "\n\x1f\n")
    table = read_table(path, "dashboard")
    assert table.rows.height == 6 and table.rejected.height == 1  # the 0x1F line: not JSON, not blank
    assert table.rows["_line"].to_list() == [1, 2, 3, 4, 5, 6]
    assert totals(tmp_path, path)[0] == 7


def test_a_long_field_in_cp1252_keeps_the_later_rows(tmp_path):
    text = "email,name\na@x.com,é\nb@x.com," + "x" * 140_000 + "\nc@x.com,é\nd@x.com,Z\n"
    path = write(tmp_path / "d.csv", text, "cp1252")
    table = read_table(path, "dashboard")
    assert table.encoding.startswith("cp1252") and table.total == 4 and table.rows.height == 4
    assert table.rows["name"].to_list()[2:] == ["é", "Z"]
    assert totals(tmp_path, path)[0] == 4


def test_formula_look_alikes_are_neutralised():
    import polars as pl

    hostile = ["\uff1dSUM(A1)", "\uff0b1", "\uff0d1", "\uff20x", "\u200b=1", "\ufeff=1", "\u200d\u200b+1", "=1", "@x"]
    assert [neutralise(v) for v in hostile] == ["'" + v for v in hostile]
    assert neutralise_frame(pl.DataFrame({"a": hostile}))["a"].to_list() == ["'" + v for v in hostile]
    plain = ["ok", "a=b", "\u200bok", "Zoë", None]
    assert [neutralise(v) for v in plain] == plain
    assert neutralise_frame(pl.DataFrame({"a": plain}))["a"].to_list() == plain


# -- the property: every row accounted for, the rows csv / json read -----------------------------------

RUST_WS = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x1c\x1d\x1e\x1f")
CELL = st.one_of(
    st.text(alphabet=st.sampled_from(list('ab "\',;\t\r\n\u2028\x1f\x85=éü€ß')), max_size=8),
    st.sampled_from(["", " ", '"', '""', '"Ann" Lee', '=F("u","x")', "<LONG>"]),  # <LONG>: 140 KB
)
EMAIL = st.sampled_from(["a@x.com", "b@y.org", " c@z.io ", "", " ", "dé@x.com"])
LINE = st.one_of(st.tuples(EMAIL, CELL, CELL).map(lambda r: ("row", [c.replace("<LONG>", "x" * 140_000) for c in r])),
                 st.sampled_from([("raw", ""), ("raw", "  "), ("raw", 'x,"Ann" Lee,1'), ("raw", "\x1fq,w,e"),
                                  ("raw", 'a@x.com,"open'), ("raw", "a,b")]))


def _write_csv(lines, delim, ending, quoting) -> str:
    out = io.StringIO()
    w = csv.writer(out, delimiter=delim, lineterminator=ending, quoting=quoting)
    w.writerow(["email", "name", "note"])
    for kind, value in lines:
        if kind == "raw":
            out.write(value.replace(",", delim) + ending)
        else:
            w.writerow(value)
    return out.getvalue()


@settings(max_examples=40, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(lines=st.lists(LINE, max_size=8), delim=st.sampled_from([",", ";", "\t"]),
       ending=st.sampled_from(["\n", "\r\n", "\r"]), quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]), lead=st.sampled_from(["", "\n", " \r\n"]))
def test_csv_rows_are_the_csv_modules_rows(tmp_path, lines, delim, ending, quoting, encoding, lead):
    text = lead + _write_csv(lines, delim, ending, quoting)
    if encoding == "cp1252":
        text = text.encode("cp1252", errors="replace").decode("cp1252")
    header, rows = python_rows(text, delim)
    path = write(tmp_path / "d.csv", text, encoding)
    table = read_table(path, "dashboard")
    assert table.headers == header
    assert table.total == len(rows)
    good = [r for r in rows if len(r) == 3 and (r[0].strip(RUST_WS))]
    assert table.rows["email"].to_list() == [r[0] for r in good]
    assert table.rows["name"].to_list() == [r[1].strip(RUST_WS) or None for r in good]
    assert totals(tmp_path, path)[0] == len(rows)


JSON_LINE = st.one_of(
    st.dictionaries(st.sampled_from(["email", "name", "x"]), st.one_of(CELL, st.integers(), st.none()), max_size=3)
    .map(lambda d: {k: v.replace("<LONG>", "x" * 140_000) if isinstance(v, str) else v for k, v in d.items()})
    .map(lambda d: json.dumps(d, ensure_ascii=False)),
    st.sampled_from(["", "  ", "\x1f", "[1]", "{bad", '{"email": "a@x.com"}\u2028']))


@settings(max_examples=30, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(JSON_LINE, min_size=1, max_size=8), ending=st.sampled_from(["\n", "\r\n"]))
def test_jsonl_rows_are_the_json_modules_lines(tmp_path, lines, ending):
    text = ending.join(['{"email": "h@x.com"}', *lines]) + ending
    path = write(tmp_path / "d.jsonl", text)
    rows = [ln for ln in text.split("\n") if ln.strip(" \t\r")]
    table = read_table(path, "dashboard")
    assert table.total == len(rows)
    assert totals(tmp_path, path)[0] == len(rows)
