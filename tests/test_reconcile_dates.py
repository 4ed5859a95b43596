"""Issue #8: the date forms exports use, the day/month order decided per column and shown, and rows
whose date cannot be read kept (date unknown), counted and listed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from diagnose.checks.reconcile import reconcile_files
from diagnose.cli import cli
from diagnose.checks.reconcile.dates import parse_dates

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")

OCT5 = date(2026, 10, 5)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text", [
    "2026-10-05", "2026-10-05T23:59:00Z", "2026-10-05T10:00:00+02:00", "2026-10-05 10:00:00",
    "1791158400000", "1791158400", "Oct 5, 2026", "5 Oct 2026", "October 5, 2026", "Oct 5 2026 10:00 AM",
    "Monday, October 5, 2026", "5-Oct-2026", "5th October 2026", "20261005", "05.10.2026", "2026/10/05",
    "10/05/2026", "10-05-2026", "10/5/26",
])
def test_each_common_form(text):
    parsed, rule = parse_dates(pl.Series([text]))
    assert parsed.to_list() == [OCT5], rule
    assert rule


@pytest.mark.parametrize("values,expected,words", [
    (["05/10/2026", "25/12/2026"], [OCT5, date(2026, 12, 25)], "DD/MM/YYYY (day first"),
    (["10/05/2026", "12/25/2026"], [OCT5, date(2026, 12, 25)], "MM/DD/YYYY (month first"),
    (["10/05/2026", "11/06/2026"], [OCT5, date(2026, 11, 6)], "MM/DD/YYYY (ambiguous"),
])
def test_day_or_month_first_per_column(values, expected, words):
    parsed, rule = parse_dates(pl.Series(values))
    assert parsed.to_list() == expected
    assert words in rule


def test_the_rule_used_is_shown(tmp_path):
    d = write(tmp_path / "d.csv", "email,created at\na@x.com,2026-10-05\n")
    i = write(tmp_path / "i.csv", "email,signup date\na@x.com,05/10/2026\nb@x.com,25/10/2026\n")
    ev = reconcile_files(d, i).evidence
    assert ev.date_rules["dashboard.created_at"] == "ISO 8601"
    assert ev.date_rules["internal.created_at"].startswith("DD/MM/YYYY (day first")
    assert ev.matched[0].signup_date == "2026-10-05"
    out = CliRunner().invoke(cli, ["reconcile", "--dashboard", str(d), "--internal", str(i)]).output
    assert "date_rules" in out and "DD/MM/YYYY" in out


def test_a_written_out_date_is_found_by_customer(tmp_path):
    d = write(tmp_path / "d.csv", "email,partner\nother@x.com,jane\n")
    i = write(tmp_path / "i.csv", 'email,signup_date\nkim@example.com,"Oct 5, 2026"\n')
    a = reconcile_files(d, i, partner="jane", customer="kim@example.com").evidence.customer
    assert (a.bucket, a.signup_date) == ("missing_from_dashboard", "2026-10-05")


def test_an_unreadable_date_keeps_its_row(tmp_path):
    d = write(tmp_path / "d.csv", "email,created_at\nkim@example.com,sometime in autumn\nzed@x.com,2026-10-01\n")
    i = write(tmp_path / "i.csv", "email,signup_date,click_date\nkim@example.com,2026-10-05,\n"
                                  "ann@x.com,31/31/2026,2026-01-01\nzed@x.com,2026-10-01,not yet\n")
    result = reconcile_files(d, i, since=date(2026, 9, 1))
    ev = result.evidence
    c = ev.counts
    assert (c.dashboard, c.internal, c.rejected, c.excluded) == (2, 3, 0, 0)
    assert c.date_unreadable == 3 and c.matched == 2 and c.missing_from_dashboard == 1
    listed = {(r.side, r.line, r.column, r.value) for r in ev.date_unreadable}
    assert listed == {("dashboard", 2, "created_at", "sometime in autumn"),
                      ("internal", 3, "signup_date", "31/31/2026"), ("internal", 4, "click_date", "not yet")}
    assert result.has("date-unreadable") and "3 date(s)" in result.problem("date-unreadable").message
    ann = reconcile_files(d, i, customer="ann@x.com").evidence.customer
    assert (ann.bucket, ann.signup_date) == ("missing_from_dashboard", None)
    data = json.loads(CliRunner().invoke(cli, ["reconcile", "--dashboard", str(d), "--internal", str(i),
                                                "--json"]).output)
    assert data["counts"]["date_unreadable"] == 3 and len(data["date_unreadable"]) == 3
