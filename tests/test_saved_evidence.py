"""Saved evidence loads strictly (`diagnose explain FILE`, pipeline.evidence_io.load_evidence): an
unknown or misspelt field at any depth, a wrong type, a missing required field, a check that does not
match its entry, is one line on stderr naming the field by its path, and exit 2 - never a field
silently dropped, never an internal error (exit 3)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.cli import cli
from diagnose.core.errors import BadInput
from diagnose.pipeline.evidence_io import load_evidence, save_evidence

GOLDEN = Path(__file__).parent / "data" / "golden" / "evidence.json"


def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def explain(path: Path, *args: str):
    return CliRunner().invoke(cli, ["explain", str(path), *args])


def test_the_golden_evidence_loads_and_round_trips(tmp_path):
    ticket, evidence = load_evidence(GOLDEN)
    assert list(evidence) == ["link", "gspk", "snippet", "cookie", "cookie-safari-itp", "reconcile"]
    assert evidence["cookie-safari-itp"].check == "cookie"
    assert evidence["reconcile"].evidence.customer.bucket == "missing_from_dashboard"
    again = tmp_path / "again.json"
    save_evidence(again, ticket, evidence)
    assert load_evidence(again) == (ticket, evidence)
    saved = json.loads(again.read_text(encoding="utf-8"))
    # every field the file holds is kept (fields it leaves out come back with their defaults)
    for name, entry in golden()["evidence"].items():
        assert within(entry, saved["evidence"][name]), name


def within(part, whole) -> bool:
    """``part`` is ``whole`` with some object fields left out (at any depth)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and within(v, whole[k]) for k, v in part.items())
    if isinstance(part, list):
        return isinstance(whole, list) and len(part) == len(whole) and all(map(within, part, whole))
    return part == whole


def _set(data: dict, path: str, value) -> None:
    *parents, last = path.split("/")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value


DELETE = object()

BAD = [
    # unknown or misspelt fields, at every depth
    ("evidence/reconcile/customer/bukcet", "x", "reconcile.customer: unknown field 'bukcet'"),
    ("evidence/link/colour", "blue", "entry 'link': link: unknown field 'colour'"),
    ("evidence/link/hops/0/extra", 1, "link.hops[0]: unknown field 'extra'"),
    ("evidence/cookie/growsumo/lodaed", True, "cookie.growsumo: unknown field 'lodaed'"),
    ("evidence/cookie-safari-itp/growsumo/lodaed", True, "cookie-safari-itp.growsumo: unknown field 'lodaed'"),
    ("evidence/reconcile/counts/mached", 2, "reconcile.counts: unknown field 'mached'"),
    ("evidence/snippet/problems/0/hint", "x", "snippet.problems[0]: unknown field 'hint'"),
    ("colour", "blue", "unknown field 'colour'"),
    ("evidence/cookie-firefox", {"check": "cookie", "url": "https://x.example/"}, "unknown evidence 'cookie-firefox'"),
    ("ticket/colour", "blue", "unknown ticket key 'colour'"),
    # wrong types
    ("evidence/reconcile/counts/matched", "3", "reconcile.counts.matched: expected int, got '3'"),
    ("evidence/reconcile/counts/matched", True, "reconcile.counts.matched: expected int, got True"),
    ("evidence/link/hops", "nope", "link.hops: expected a list, got text"),
    ("evidence/link/params/gspk", 3, "link.params.gspk: expected str, got 3"),
    ("evidence/reconcile/customer", [], "reconcile.customer: expected an object, got a list"),
    ("evidence/cookie/growsumo/loaded", "yes", "cookie.growsumo.loaded: expected bool, got 'yes'"),
    ("evidence/link", [], "link: a check result must be a JSON object, got a list"),
    ("evidence/link/problems", {}, "link.problems: expected a list, got an object"),
    ("evidence/snippet/problems/0/severity", "pass", "snippet.problems[0]: a problem cannot have severity 'pass'"),
    ("evidence/snippet/problems/0/severity", "bad", "snippet.problems[0].severity: expected one of"),
    ("evidence/snippet/status", "pass", "snippet.status: 'pass' disagrees with its problems (their worst is 'fail')"),
    ("evidence/snippet/status", 7, "snippet.status: expected one of pass, warn, fail, error, got 7"),
    ("evidence", [], "evidence: expected an object"),
    ("ticket", "kim", "ticket: expected an object"),
    ("ticket/click_date", "yesterday", "'click_date'"),
    # missing required fields
    ("evidence/link/input_url", DELETE, "link: missing field 'input_url'"),
    ("evidence/link/hops/1/url", DELETE, "link.hops[1]: missing field 'url'"),
    ("evidence/reconcile/customer/bucket", DELETE, "reconcile.customer: missing field 'bucket'"),
    ("evidence/snippet/problems/0/message", DELETE, "snippet.problems[0]: missing field 'message'"),
    ("evidence/link/check", DELETE, "link: missing field 'check'"),
    ("ticket", DELETE, "missing field 'ticket'"),
    ("evidence", DELETE, "missing field 'evidence'"),
    # the check: a name, a known one, and the entry's own
    ("evidence/link/check", [], "link.check: expected a check name, got []"),
    ("evidence/link/check", "nope", "link.check: unknown check 'nope'"),
    ("evidence/link/check", "snippet", "link.check: evidence saved as 'link' cannot come from the 'snippet' check"),
    ("evidence/cookie-safari-itp/check", "link", ("cookie-safari-itp.check: evidence saved as 'cookie-safari-itp' "
                                                  "cannot come from the 'link' check")),
]


@pytest.mark.parametrize("where, value, needle", BAD, ids=[f"{w}={v!r}"[:60] for w, v, _ in BAD])
def test_explain_rejects_bad_evidence_in_one_line_naming_the_field(tmp_path, where, value, needle):
    data = golden()
    _set(data, where, value)
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = explain(path, "--json")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: evidence file {path}: "), lines[0]
    assert needle in lines[0], lines[0]
    with pytest.raises(BadInput, match="^evidence file "):
        load_evidence(path)


def test_a_misspelt_field_suggests_the_right_one(tmp_path):
    data = golden()
    data["evidence"]["reconcile"]["customer"]["bukcet"] = data["evidence"]["reconcile"]["customer"].pop("bucket")
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(BadInput) as caught:
        load_evidence(path)
    assert str(caught.value) == (f"evidence file {path}: entry 'reconcile': reconcile.customer: "
                                 "unknown field 'bukcet' (did you mean 'bucket'?)")


def test_a_long_bad_value_stays_one_short_line(tmp_path):
    data = golden()
    data["evidence"]["link"]["input_url"] = {"a": "x" * 5000, "b": ["\n"] * 100}
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = explain(path)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and len(result.output) < 300, result.output
    assert "link.input_url: expected str" in result.output


def test_the_golden_evidence_explains_offline():
    result = explain(GOLDEN, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["evidence"].keys() == golden()["evidence"].keys()


def test_a_redacted_report_loads_back_strictly(tmp_path):
    """--redact rebuilds the report from its redacted JSON form: through the same strict loader."""
    result = explain(GOLDEN, "--json", "--redact")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["redacted"] is True
    redacted = tmp_path / "redacted.json"
    redacted.write_text(json.dumps({"format": "diagnose-evidence/1", "ticket": report["ticket"],
                                    "evidence": copy.deepcopy(report["evidence"])}), encoding="utf-8")
    _, evidence = load_evidence(redacted)
    assert evidence["reconcile"].evidence.dashboard_file == "dashboard.csv"
