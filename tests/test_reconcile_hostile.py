"""Hostile exports for ``diagnose reconcile`` (issue 10): a file far wider than any customer list and
a JSON Lines line nested deeper than any parser goes get a one-line error (exit 2) that names the
file, or count as bad rows beside readable ones; nothing is dropped in silence, nothing hangs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cli_output import one_line_error
from click.testing import CliRunner

from diagnose.checks.reconcile import columns, reconcile_files
from diagnose.checks.reconcile.read import read_table
from diagnose.cli import cli
from diagnose.core.errors import BadInput

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")

INTERNAL = "email,customer_key\nkim@example.com,k1\n"


def reconcile(tmp_path: Path, dashboard: Path):
    internal = tmp_path / "internal.csv"
    internal.write_text(INTERNAL, encoding="utf-8")
    return CliRunner().invoke(cli, ["reconcile", "--dashboard", str(dashboard), "--internal", str(internal)])


# -- a file of 200,000 columns -----------------------------------------------------------------------


@pytest.mark.parametrize("eol", ["\n", "\r"], ids=["fast-read", "csv-module"])  # a lone CR: the csv module reads it
def test_a_csv_of_200000_columns_is_refused_in_one_line_and_quickly(tmp_path, eol):
    n = 200_000
    path = tmp_path / "wide.csv"
    path.write_text(",".join(["email", "customer_key", *(f"c{i}" for i in range(n))]) + eol
                    + ",".join(["kim@example.com", "k1", *("x" * n)]) + eol, encoding="utf-8")
    start = time.monotonic()
    line = one_line_error(reconcile(tmp_path, path))
    assert time.monotonic() - start < 10  # it took 15 s and answered "no problems" before
    assert "wide.csv" in line and f"{n + 2} columns" in line and f"at most {columns.MAX_COLUMNS}" in line
    assert len(line) < 300


def test_the_column_limit_is_one_number_and_a_file_at_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(columns, "MAX_COLUMNS", 4)
    at = tmp_path / "at.csv"
    at.write_text("email,customer_key,name,status\nkim@example.com,k1,Kim,active\n", encoding="utf-8")
    table = read_table(at, "dashboard")
    assert table.headers == ["email", "customer_key", "name", "status"] and table.rows.height == 1
    over = tmp_path / "over.csv"
    over.write_text("email,customer_key,name,status,x\nkim@example.com,k1,Kim,active,1\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"dashboard file .*over\.csv has 5 columns; at most 4 are read"):
        read_table(over, "dashboard")
    jsonl = tmp_path / "over.jsonl"
    jsonl.write_text(json.dumps({"email": "kim@example.com", "customer_key": "k1", "a": 1, "b": 2, "c": 3}) + "\n")
    with pytest.raises(BadInput, match=r"over\.jsonl has 5 columns; at most 4 are read"):
        read_table(jsonl, "dashboard")


def test_json_lines_whose_keys_are_each_on_one_row_read_only_the_columns_that_play_a_role(tmp_path):
    """10,000 rows that each name a key of their own: 10,002 columns, read without a cell for every
    key on every row (100 million cells), and every row kept."""
    n = 10_000
    path = tmp_path / "sparse.jsonl"
    path.write_text("".join(json.dumps({"email": f"c{i}@example.com", "customer_key": f"k{i}", f"extra{i}": i}) + "\n"
                            for i in range(n)), encoding="utf-8")
    start = time.monotonic()
    table = read_table(path, "dashboard")
    assert time.monotonic() - start < 20
    assert len(table.headers) == n + 2 and table.rows.height == n and table.rejected.height == 0
    assert table.rows["email"][n - 1] == f"c{n - 1}@example.com"


def test_a_map_error_on_a_wide_file_lists_a_few_headers_not_all(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(["email", *(f"column{i}" for i in range(1000))]) + "\nkim@example.com" + ",x" * 1000 + "\n")
    internal = tmp_path / "internal.csv"
    internal.write_text(INTERNAL, encoding="utf-8")
    result = CliRunner().invoke(cli, ["reconcile", "--dashboard", str(path), "--internal", str(internal),
                                      "--map", "dashboard.customer_key=nope"])
    line = one_line_error(result)
    assert "no such column" in line and "and 981 more" in line and len(line) < 1000


# -- a JSON Lines line nested 100,000 levels deep --------------------------------------------------------

DEEP = {"list": "[" * 100_000 + "]" * 100_000, "object": '{"a":' * 100_000 + "1" + "}" * 100_000}


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_a_file_of_only_a_deeply_nested_line_is_a_one_line_error_not_empty(tmp_path, kind):
    path = tmp_path / "deep.jsonl"
    path.write_text(DEEP[kind] + "\n", encoding="utf-8")
    line = one_line_error(reconcile(tmp_path, path))
    assert "deep.jsonl" in line and "line 1" in line and "nested too deeply" in line
    assert "empty" not in line


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_a_deeply_nested_line_among_readable_ones_is_a_bad_row_like_any_other(tmp_path, kind):
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps({"email": "kim@example.com", "customer_key": "k1"}) + "\n" + DEEP[kind] + "\n"
                    + "not json\n", encoding="utf-8")
    internal = tmp_path / "internal.csv"
    internal.write_text(INTERNAL, encoding="utf-8")
    ev = reconcile_files(path, internal).evidence
    reasons = {r.line: r.reason for r in ev.rejected}
    assert ev.counts.matched == 1 and ev.counts.rejected_dashboard == 2
    assert "nested too deeply" in reasons[2] and "not valid JSON" in reasons[3]


def test_a_file_of_only_bad_lines_names_the_first_and_counts_the_rest(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('[1, 2]\n\n{"email": \n"text"\n', encoding="utf-8")
    line = one_line_error(reconcile(tmp_path, path))
    assert "bad.jsonl has no JSON object to read: line 1: a JSON list, not an object" in line
    assert "2 more bad line" in line
