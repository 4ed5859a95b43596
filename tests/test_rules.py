"""Data-driven rule tests: one YAML file per rule in tests/rules/, each a list of cases
(ticket facts + evidence in, expected verdict out), parametrised automatically.

Evidence in the YAML is partial: every field left out takes its type's empty value, and
``problems`` is a list of codes (``code`` = fail, ``code:warn``, ``code:error``).
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest
import yaml

from diagnose.checks import load_all
from diagnose.core.evidence import EVIDENCE_TYPES, CheckResult, evidence_check
from diagnose.rules.engine import RULES, Facts, Verdict, evaluate
from diagnose.core.ticket import from_mapping

HERE = Path(__file__).parent / "rules"
load_all()


def _inner(tp):
    """The dataclass inside ``X | None``, or ``tp`` itself."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return args[0] if len(args) == 1 and dataclasses.is_dataclass(args[0]) else tp


def fill(tp, value):
    """``value`` (partial, from YAML) completed with empty values for every required field, at any
    depth (items of a list of records too). A key the type does not have is kept, so that the strict
    loader rejects a misspelt fixture instead of it being dropped here."""
    tp = _inner(tp)
    if typing.get_origin(tp) in (tuple, list) and isinstance(value, list):
        item = (typing.get_args(tp) or (None,))[0]
        return [fill(item, v) if isinstance(v, dict) else v for v in value]
    if not dataclasses.is_dataclass(tp) or not isinstance(value, dict):
        return value
    hints = typing.get_type_hints(tp)
    out = dict(value)
    for f in dataclasses.fields(tp):
        if f.name in value:
            out[f.name] = fill(hints[f.name], value[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            out[f.name] = empty(hints[f.name])
    return out


def empty(tp):
    origin = typing.get_origin(tp)
    if type(None) in typing.get_args(tp):
        return None
    if dataclasses.is_dataclass(tp):
        return fill(tp, {})
    return {str: "", int: 0, float: 0.0, bool: False}.get(tp, [] if origin in (tuple, list) else {})


def build_result(name: str, spec: dict) -> CheckResult:
    spec = dict(spec or {})
    check = spec.pop("check", evidence_check(name))
    codes = spec.pop("problems", [])
    problems = []
    for entry in codes:
        code, _, severity = entry.partition(":")
        problems.append({"code": code, "message": f"{code} (test)", "severity": severity or "fail"})
    body = fill(EVIDENCE_TYPES[check], spec) if check in EVIDENCE_TYPES else spec
    return CheckResult.from_dict({"check": check, "problems": problems, **body}, name)


def load_cases():
    for path in sorted(HERE.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            yield pytest.param(data["rule"], case, id=f"{data['rule']}: {case['name']}")


CASES = list(load_cases())


@pytest.mark.parametrize("rule_id, case", CASES)
def test_rule_case(rule_id, case):
    ticket = from_mapping(case.get("ticket") or {})
    evidence = {name: build_result(name, spec) for name, spec in (case.get("evidence") or {}).items()}
    finding = evaluate(RULES[rule_id], Facts(ticket, evidence))
    assert finding.verdict == Verdict(case["expect"]), finding.reason
    if "reason" in case:
        assert case["reason"] in finding.reason
    if finding.verdict not in (Verdict.CANNOT_TELL,):
        assert finding.evidence or not evidence and not case.get("ticket"), "a verdict must cite what it read"


def test_every_rule_has_a_yaml_file_with_each_kind_of_answer():
    files = {p.stem for p in HERE.glob("*.yaml")}
    assert files == set(RULES), f"missing: {set(RULES) - files}, extra: {files - set(RULES)}"
    for rule_id in RULES:
        verdicts = {c.values[1]["expect"] for c in CASES if c.values[0] == rule_id}
        assert "cannot-tell" in verdicts or RULES[rule_id].user_side, f"{rule_id}: no cannot-tell case"
        assert "ruled-out" in verdicts, f"{rule_id}: no ruled-out case"
        assert verdicts & {"confirmed", "likely"}, f"{rule_id}: no positive case"


def test_missing_or_errored_evidence_is_never_healthy():
    ticket = from_mapping({"partner_key": "abc"})
    errored = {"link": build_result("link", {"problems": ["timeout:error"]}),
               "cookie": build_result("cookie", {"problems": ["browser-unavailable:error"]})}
    for evidence in ({}, errored):
        finding = evaluate(RULES["integration-healthy"], Facts(ticket, evidence))
        assert finding.verdict is Verdict.CANNOT_TELL


def test_a_misspelt_field_in_a_case_is_rejected_not_dropped():
    """fill() completes a partial spec but keeps what the type lacks, for the strict loader to refuse."""
    with pytest.raises(ValueError, match=r"^reconcile\.customer: unknown field 'bukcet'"):
        build_result("reconcile", {"customer": {"bukcet": "matched"}})
    with pytest.raises(ValueError, match=r"^cookie-safari-itp: unknown field 'partner_cookei'"):
        build_result("cookie-safari-itp", {"partner_cookei": None})
    with pytest.raises(ValueError, match=r"^link\.hops\[0\]: unknown field 'stauts'"):
        build_result("link", {"hops": [{"url": "u", "stauts": 200}]})
    with pytest.raises(ValueError, match=r"^snippet\.check: evidence saved as 'snippet' cannot come from the 'link'"):
        build_result("snippet", {"check": "link"})


def test_partial_specs_are_completed_at_any_depth():
    result = build_result("link", {"hops": [{"url": "u", "status_code": 302}], "params": {"gspk": "x"}})
    assert result.evidence.hops[0].url == "u" and result.evidence.hops[0].kind == ""
    assert result.evidence.params == {"gspk": "x"}
    assert build_result("cookie-no-cookies", {"policy": "no-cookies"}).check == "cookie"
