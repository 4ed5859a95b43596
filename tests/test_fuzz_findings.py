"""What the fuzz suite (tests/fuzzing.py, benchmarks/fuzz.py) found in the code it covers, each kept
as a plain regression test: it failed before its fix."""

from __future__ import annotations

import io
import json

from diagnose.checks.reconcile import reconcile_files
from diagnose.checks.reconcile.read import read_table

# -- reconcile: JSON Lines and the --json stream --------------------------------------------------------


def test_jsonl_with_huge_integers_and_escaped_surrogates_is_read(tmp_path):
    """A 5,000-digit integer is a rejected line (json raises a plain ValueError, without .msg); an
    escaped lone surrogate in a value or a key becomes U+FFFD (no column can hold it)."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"email": "a@x.com", "name": "\\ud800"}\n{"email": ' + "9" * 5000 + "}\n"
                    '{"email": "b@x.com", "\\udfff": 1}\n', encoding="utf-8")
    table = read_table(path, "dashboard")
    assert table.total == 3 and table.rows["email"].to_list() == ["a@x.com", "b@x.com"]
    assert table.rows["name"].to_list() == ["\ufffd", None]
    assert "\ufffd" in table.headers
    assert table.rejected["line"].to_list() == [2] and "Exceeds the limit" in table.rejected["reason"][0]


def test_the_reconcile_json_stream_never_fails_to_encode(tmp_path):
    (tmp_path / "d.csv").write_text("email,name\na@x.com,Ann\n", encoding="utf-8")
    (tmp_path / "i.csv").write_text("email,name\nb@x.com,Bob\n", encoding="utf-8")
    out = io.StringIO()
    reconcile_files(tmp_path / "d.csv", tmp_path / "i.csv", customer="\udcff", rows=False, json_out=out)
    assert json.loads(out.getvalue().encode("utf-8"))["customer"]["query"] == "\ufffd"
