"""reconcile on every polars the project allows (1.0 … 2.x): the fast CSV reader, the matcher, and no
DeprecationWarning raised from diagnose's own code (issue #8, item 1)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from diagnose.checks.reconcile import reconcile_files
from diagnose.checks.reconcile.csvread import _read_csv_polars
from diagnose.checks.reconcile.frames import line_mask
from diagnose.checks.reconcile.read import read_table

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")

DATA = Path(__file__).parent / "data" / "reconcile"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_fast_reader_handles_ragged_rows(tmp_path):
    """polars 2 refused a schema wider than the file (SchemaError): the fast path must read ragged
    rows itself, not fall back, and flag the wrong field counts."""
    data = b"Email,Name\na@x.com,A\nb@x.com\nc@x.com,C,extra,more\n"
    result = _read_csv_polars(data, ",")
    assert result is not None, "the fast reader gave up"
    headers, cells, bad = result
    assert headers == ["Email", "Name"]
    assert cells.select("c0", "c1", "_line").rows() == [("a@x.com", "A", 2)]
    assert sorted(bad.select("line", "reason").rows()) == [
        (3, "has 1 fields, the header has 2"), (4, "has 4 fields, the header has 2")]


def test_no_deprecation_warning_from_diagnose(tmp_path):
    d = write(tmp_path / "d.csv", "Customer Key,Email,Status,Partner Key,Created At\n"
                                  "k1,a@x.com,Paid,jane,2024-01-02\n,B@x.com,Pending,jane,01/03/2024\n"
                                  ",c@x.com,Paid,john,2024-01-04\n,lonely@x.com,Paid,jane,2024-01-05\n")
    i = write(tmp_path / "i.csv", "id,email,signup_date,click_date\nk1,a@x.com,2024-01-02,2023-01-01\n"
                                  ",b@x.com,2024-01-03,\n,c@x.com,2024-01-04,\n,gone@x.com,2024-01-06,\n"
                                  "k9,z@x.com,2024-01-07,\nk9,z2@x.com,2024-01-08,\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for kwargs in ({}, {"partner": "jane", "customer": "b@x.com"}, {"rows": False}, {"customer": "k9"}):
            ev = reconcile_files(d, i, **kwargs).evidence
            assert ev.counts.internal == 6 and ev.counts.dashboard == 4
        ev = reconcile_files(DATA / "dashboard.csv", DATA / "internal.csv", partner="jane").evidence
        assert ev.counts.matched == 4 and ev.duplicates


def test_line_mask_finds_only_present_lines():
    import polars as pl

    lines = pl.Series([2, 3, 5, 8, 13])
    assert line_mask(lines, pl.Series([13, 4, 2, 99, 1])).to_list() == [True, False, False, False, True]
    assert line_mask(lines, pl.Series([], dtype=pl.Int64)).to_list() == [False] * 5
    assert line_mask(pl.Series([], dtype=pl.Int64), pl.Series([1])).to_list() == []


def test_multiline_and_blank_lines_read_by_the_fast_path(tmp_path):
    path = write(tmp_path / "d.csv", 'email,name\n"a@x.com","two\nlines"\n\nb@x.com,B\n')
    table = read_table(path, "dashboard")
    assert table.rows.select("_line", "email").rows() == [(2, "a@x.com"), (5, "b@x.com")]
    assert table.rejected.height == 0


@pytest.mark.parametrize("customer", ["ben.other@example.com", "cora.cleared@example.com", "cus_ben", "nobody@x.com"])
def test_the_customer_answer_warns_of_nothing(customer):
    """polars 2.1 deprecates is_in with a Series of the column's own type; the warning is raised
    where polars' Rust code runs, so the module filter of the suite does not see it: record every
    warning instead."""
    demo = Path(__file__).resolve().parent.parent / "diagnose" / "demo" / "data"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        reconcile_files(demo / "dashboard.csv", demo / "internal.csv", partner="a1b2c3d4e5f6", customer=customer,
                        rows=False)
    assert [str(w.message)[:80] for w in seen if issubclass(w.category, (DeprecationWarning, FutureWarning))] == []
