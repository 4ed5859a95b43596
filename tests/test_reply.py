"""The reply to the partner (issue 13): every cause and status has partner-facing words, the reply is
built from the ranked diagnosis (causes found, what the company does, what `fix --apply` did, what
the partner can do), asks the open questions when nothing explains the miss, and leaks nothing:
for every rule, evidence where it holds is planted with recognisable secrets in every field it can
take them, and none reaches the reply."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_rules import CASES, build_result

from diagnose.cli import cli
from diagnose.core.errors import DiagnoseError
from diagnose.core.evidence import EVIDENCE_TYPES, CheckResult
from diagnose.core.ticket import Ticket, from_mapping
from diagnose.pipeline.evidence_io import save_evidence
from diagnose.report import reply as replies
from diagnose.report.model import build_report
from diagnose.rules.engine import (
    GUIDE_QUESTIONS,
    POSITIVE,
    RULES,
    Facts,
    Verdict,
    evaluate,
)

MARK = "zq7"  # every planted secret carries it; no sentence of ours does
GOLDEN = Path(__file__).parent / "data" / "golden" / "evidence.json"


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def positive_cases(rule_id: str) -> list[dict]:
    return [c.values[1] for c in CASES if c.values[0] == rule_id and c.values[1]["expect"] in ("confirmed", "likely")]


def report_of(ticket: dict, evidence: dict):
    t = from_mapping(ticket)
    return build_report(t, {name: build_result(name, spec) for name, spec in evidence.items()},
                        embed_screenshots=False)


# -- every rule brings its reply ----------------------------------------------------------------


def test_every_cause_and_status_has_partner_words():
    for rule in RULES.values():
        if rule.kind in ("cause", "status"):
            assert rule.reply is not None and rule.reply.found.strip(), f"{rule.id}: no reply text"
        if rule.question:  # an open question of this rule can be put to the partner
            assert rule.reply is not None and rule.reply.ask, f"{rule.id}: its question has no partner wording"
    assert {key for key, _ in GUIDE_QUESTIONS} <= set(replies.GUIDE_ASKS)


def test_partner_words_name_no_company_side_machinery():
    """The partner's terms: no snippet, gspk, cookie or key names, no internal vocabulary."""
    internal = ("gspk", "ps_partner_key", "growsumo", "snippet", "public_key", "customer_key", "provider_key",
                "_initialize", "reconcile", "export", "case ", "pk_", "sk_", "webhook", "integration")
    for rule in RULES.values():
        r = rule.reply
        for text in filter(None, (r.found, r.likely, r.we_do, r.partner_can, r.ask)):
            assert not [w for w in internal if w in text.lower()], (rule.id, text)
            assert MARK not in text.lower()


# -- safe by construction: planted secrets never reach the reply ------------------------------


def _str_field(hint) -> bool:
    return hint is str or (typing.get_origin(hint) in (typing.Union, getattr(__import__("types"), "UnionType", None))
                           and str in typing.get_args(hint) and all(a in (str, type(None)) for a in typing.get_args(hint)))


def _empty_slots(tp, node, out):
    """Every str field of ``node`` (the JSON form of a ``tp``) that holds nothing: (container, name)."""
    if isinstance(node, list):
        for item in node:
            _empty_slots(tp, item, out)
        return
    if not isinstance(node, dict) or not dataclasses.is_dataclass(tp):
        return
    hints = typing.get_type_hints(tp)
    for f in dataclasses.fields(tp):
        hint, value = hints[f.name], node.get(f.name)
        if _str_field(hint) and not value:
            out.append((node, f.name))
        else:
            inner = next((a for a in (hint, *typing.get_args(hint)) if dataclasses.is_dataclass(a)), None)
            for arg in typing.get_args(hint):  # tuple[Row, ...]
                inner = inner or next((a for a in typing.get_args(arg) if dataclasses.is_dataclass(a)), None)
            if inner is not None:
                _empty_slots(inner, value, out)


def _strings(node, out):
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and value:
                out.append((node, key))
            else:
                _strings(value, out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, str) and value:
                out.append((node, i))
            else:
                _strings(value, out)


def plant(rule_id: str, case: dict):
    """The case's ticket and evidence with a secret in every field that takes one and leaves the rule
    positive: each value it holds rewritten everywhere at once (so that equal values stay equal), then
    every empty text field filled. Returns (ticket, evidence, how many secrets)."""
    ticket = {k: v for k, v in Ticket().to_dict().items()} | (case.get("ticket") or {})
    ticket = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in ticket.items()}
    evidence = {n: build_result(n, s).to_dict() for n, s in (case.get("evidence") or {}).items()}
    state = {"ticket": ticket, "evidence": evidence}

    def holds() -> bool:
        try:
            t = from_mapping(state["ticket"])
            ev = {n: CheckResult.from_dict(json.loads(json.dumps(d)), n) for n, d in state["evidence"].items()}
        except (ValueError, TypeError, DiagnoseError):
            return False
        return evaluate(RULES[rule_id], Facts(t, ev)).verdict in POSITIVE

    assert holds(), f"{rule_id}: {case['name']} is not positive before planting"
    planted = 0
    slots: list = []
    _strings(state, slots)
    values = sorted({c[k] for c, k in slots})
    for n, value in enumerate(values):
        where = [(c, k) for c, k in slots if c[k] == value]
        for secret in (f"{MARK}{n}{value}", f"{value}{MARK}{n}", f"{MARK}{n}"):
            for c, k in where:
                c[k] = secret
            if holds():
                planted += 1
                break
            for c, k in where:
                c[k] = value
    empty: list = []
    _empty_slots(Ticket, state["ticket"], empty)
    for result in state["evidence"].values():
        _empty_slots(EVIDENCE_TYPES[result["check"]], result, empty)
    for n, (container, name) in enumerate(empty):
        before = container.get(name)
        for secret in (f"{MARK}e{n}@example.com" if "email" in name else f"{MARK}e{n}x", f"{MARK}e{n}"):
            container[name] = secret
            if holds():
                planted += 1
                break
            container[name] = before
    t = from_mapping(state["ticket"])
    ev = {n: CheckResult.from_dict(d, n) for n, d in state["evidence"].items()}
    return t, ev, planted


RULE_CASES = [pytest.param(rule_id, case, id=f"{rule_id}: {case['name']}")
              for rule_id in sorted(RULES) for case in positive_cases(rule_id)]


def test_every_rule_has_a_case_to_plant():
    assert {p.values[0] for p in RULE_CASES} == set(RULES)


@pytest.mark.parametrize("rule_id, case", RULE_CASES)
def test_no_planted_secret_reaches_the_reply(rule_id, case):
    ticket, evidence, planted = plant(rule_id, case)
    assert planted >= 3, f"only {planted} secrets planted"
    report = build_report(ticket, evidence, embed_screenshots=False)
    assert MARK in json.dumps(report.to_dict()).lower()  # the report itself holds them
    reply = replies.build_reply(report)
    rule = RULES[rule_id]
    verdict = next(f.verdict for f in report.diagnosis if f.id == rule_id)
    assert verdict in POSITIVE and rule_id in reply.rules
    for text in (replies.render_text(reply), replies.render_markdown(reply)):
        assert MARK not in text.lower(), text
    said = replies.render_text(reply)
    assert (rule.reply.likely if verdict is Verdict.LIKELY and rule.reply.likely else rule.reply.found) in said


# -- what the reply says -------------------------------------------------------------------------


def test_nothing_confirmed_asks_the_open_questions_instead_of_guessing():
    report = report_of({"partner_key": "alice"}, {})
    reply = replies.build_reply(report)
    assert reply.asks and not [r for r in reply.rules if RULES[r].kind == "cause"]
    for key, _ in GUIDE_QUESTIONS:
        assert replies.GUIDE_ASKS[key] in reply.questions
    for rule in RULES.values():
        if rule.user_side and rule.question and rule.id != "case-6":  # case 6: the guide's browser question
            assert rule.reply.ask in reply.questions, rule.id
    text = replies.render_text(reply)
    assert replies.LOOKED_NOTHING in text and "- " + replies.GUIDE_ASKS["link"] in text
    md = replies.render_markdown(reply)
    assert "1. " + replies.GUIDE_ASKS["customer_email"] in md


def test_a_question_the_ticket_answers_is_not_asked():
    report = report_of({"partner_key": "alice", "customer_email": "kim@example.com", "click_browser": "Chrome",
                        "signup_browser": "Chrome", "click_device": "laptop", "signup_device": "laptop",
                        "link": "https://example.com/?gspk=YWxpY2U"}, {})
    reply = replies.build_reply(report)
    assert replies.GUIDE_ASKS["customer_email"] not in reply.questions
    assert replies.GUIDE_ASKS["click_browser"] not in reply.questions
    assert RULES["case-2"].reply.ask in reply.questions
    assert replies.THANKS.format(customer="k***@example.com") in replies.render_text(reply)


def test_a_confirmed_cause_answers_without_questions():
    report = report_of({"partner_key": "alice", "customer_email": "kim@example.com", "cleared_cookies": True}, {})
    reply = replies.build_reply(report)
    assert not reply.asks and reply.rules[0] == "case-2"
    text = replies.render_text(reply)
    assert RULES["case-2"].reply.found in text and RULES["case-2"].reply.partner_can in text
    assert replies.CREDIT_FIND_FIRST in text  # no records searched: look the signup up first


def test_no_signup_found_says_only_that():
    report = report_of({"partner_key": "alice", "customer_email": "kim@example.com", "cleared_cookies": True},
                       {"reconcile": {"customer": {"query": "kim@example.com", "found_internal": False,
                                                   "found_dashboard": False}}})
    assert {f.id for f in report.positive} >= {"no-signup-found", "case-2"}
    reply = replies.build_reply(report)
    assert reply.rules == ("no-signup-found",) and not reply.asks
    assert RULES["case-2"].reply.found not in replies.render_text(reply)


def test_a_fault_found_without_a_customer_asks_who_to_credit():
    report = report_of({"partner_key": "alice"}, {"snippet": {"problems": ["snippet-commented-out"]}})
    reply = replies.build_reply(report)
    assert reply.rules == ("case-4",) and replies.CREDIT_NEED_CUSTOMER in reply.doing
    assert replies.THANKS_ANONYMOUS in replies.render_text(reply)


MISSED = {"partner": "alice", "problems": ["missing-from-dashboard"],
          "customer": {"query": "kim@example.com", "found_internal": True, "found_dashboard": False,
                       "bucket": "missing_from_dashboard", "customer_key": "cus_kim"}}


def test_a_missed_signup_opens_the_findings_and_is_credited():
    report = report_of({"partner_key": "alice", "customer_email": "kim@example.com", "cleared_cookies": True},
                       {"reconcile": MISSED})
    reply = replies.build_reply(report)
    assert reply.rules[:2] == ("missed-referral", "case-2")  # the summary first, then the cause
    assert replies.CREDIT_WILL in reply.doing


def test_an_integration_fault_says_we_are_fixing_our_tracking_once():
    report = report_of({"partner_key": "alice", "customer_email": "kim@example.com"},
                       {"snippet": {"problems": ["no-snippet"]},
                        "cookie": {"problems": ["snippet-not-loaded"], "growsumo": {"loaded": False}}})
    reply = replies.build_reply(report)
    fixing = [d for d in reply.doing if "We are fixing our tracking" in d]
    assert "case-4" in reply.rules and len(fixing) == 1


@pytest.mark.parametrize("rule_id", ["already-tracked", "company-action-pending", "referral-declined", "case-1",
                                     "no-signup-found", "wrong-partner-link"])
def test_a_referral_that_is_not_ours_to_add_promises_no_credit(rule_id):
    case = positive_cases(rule_id)[0]
    reply = replies.build_reply(report_of(case.get("ticket") or {}, case.get("evidence") or {}))
    assert rule_id in reply.rules
    assert not {replies.CREDIT_WILL, replies.CREDIT_FIND_FIRST, replies.CREDIT_ONCE_CONFIRMED} & set(reply.doing)
    if RULES[rule_id].reply.we_do:
        assert RULES[rule_id].reply.we_do in reply.doing


def test_case_1_says_another_partners_link_and_nothing_more():
    case = positive_cases("case-1")[0]
    text = replies.render_text(replies.build_reply(report_of(case["ticket"], case["evidence"])))
    assert "another partner's link" in text and "bob" not in text and "alice" not in text


def test_a_likely_cause_is_hedged():
    case = next(c for c in positive_cases("case-4") if c["expect"] == "likely")
    reply = replies.build_reply(report_of(case.get("ticket") or {}, case["evidence"]))
    assert RULES["case-4"].reply.found + " " + replies.HEDGE in reply.found


# -- diagnose fix's audit log ----------------------------------------------------------------------


def audit(tmp_path: Path, *entries: dict) -> Path:
    path = tmp_path / "fix-audit.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in entries) + "\n{cut short", encoding="utf-8")
    return path


def created(key="cus_kim", partner="alice", outcome="created"):
    return {"action": "create-customer", "key": key, "outcome": outcome,
            "body": {"customer_key": key, "partner_key": partner, "email": "kim@example.com"}}


def sale(key="cus_kim", outcome="created"):
    return {"action": "record-sale", "key": "diagnose-1", "outcome": outcome,
            "body": {"customer_external_key": key, "amount": 4990, "currency": "USD", "key": "diagnose-1"}}


@pytest.mark.parametrize("entries, said", [
    ((created(), sale()), "CREDIT_DONE_SALE"),
    ((created(outcome="done-before"), sale(outcome="exists")), "CREDIT_DONE_SALE"),
    ((created(),), "CREDIT_DONE"),
    ((created(), sale(outcome="failed")), "CREDIT_DONE"),
    ((created(outcome="failed"), sale(outcome="not-sent")), "CREDIT_WILL"),
    ((created(partner="bob"), sale()), "CREDIT_WILL"),  # added for another partner: not "credited to you"
    ((created(key="cus_other"), sale(key="cus_other")), "CREDIT_WILL"),  # another customer
])
def test_the_fix_log_says_what_was_done_for_this_customer_and_partner(tmp_path, entries, said):
    report = report_of({"partner_key": "alice", "customer_email": "kim@example.com", "cleared_cookies": True},
                       {"reconcile": MISSED})
    reply = replies.build_reply(report, audit(tmp_path, *entries))
    assert getattr(replies, said) in reply.doing
    others = {"CREDIT_DONE_SALE", "CREDIT_DONE", "CREDIT_WILL"} - {said}
    assert not {getattr(replies, o) for o in others} & set(reply.doing)


# -- the commands -----------------------------------------------------------------------------------


def saved(tmp_path: Path, ticket: dict, evidence: dict) -> Path:
    path = tmp_path / "evidence.json"
    save_evidence(path, from_mapping(ticket), {n: build_result(n, s) for n, s in evidence.items()})
    return path


def test_reply_command_prints_text_or_markdown_and_writes_files(tmp_path):
    source = saved(tmp_path, {"partner_key": "alice", "customer_email": "kim@example.com", "cleared_cookies": True},
                   {"reconcile": MISSED})
    text = run("reply", source)
    assert text.exit_code == 0 and text.output.startswith(replies.GREETING) and "k***@example.com" in text.output
    md = run("reply", source, "--markdown")
    assert md.exit_code == 0 and "k\\*\\*\\*@example.com" in md.output
    out = tmp_path / "reply.md"
    written = run("reply", source, "--out", out, "--fix-log", audit(tmp_path, created(), sale()))
    assert written.exit_code == 0 and written.stdout == "" and "k\\*\\*\\*@" in out.read_text(encoding="utf-8")
    assert replies.CREDIT_DONE_SALE in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (["nope.json"], "cannot read evidence file"),
    (["{source}", "--fix-log", "nope.jsonl"], "--fix-log nope.jsonl: cannot read"),
    (["{source}", "--fix-log", "{tmp}"], "--fix-log"),
    (["{source}", "--out", "{source}"], "--out"),
    (["{source}", "--out", "{tmp}/"], "--out"),
])
def test_reply_command_bad_input_is_one_line(tmp_path, args, message):
    source = saved(tmp_path, {"partner_key": "alice"}, {})
    result = run("reply", *[a.format(source=source, tmp=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_the_golden_ticket_reply_leaks_nothing_redact_hides():
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    result = run("reply", GOLDEN)
    assert result.exit_code == 0, result.output
    ticket = golden["ticket"]
    values = [ticket[k] for k in ("partner_key", "customer_email", "customer_name", "customer_key", "link",
                                  "expected_public_key", "signup_url", "dashboard", "internal") if ticket.get(k)]
    values += [v for v in json.dumps(golden["evidence"]).split('"') if len(v) > 5 and ("_" in v or "@" in v
                                                                                        or "/" in v)]
    assert len(values) > 10
    assert [v for v in values if v in result.output] == []


DEMO_DATA = Path(__file__).parent.parent / "diagnose" / "demo" / "data"


def test_ticket_reply_writes_the_partner_reply_offline(tmp_path, monkeypatch):
    target = tmp_path / "out" / "answer.txt"
    facts = ["--partner-key", "a1b2c3d4e5f6", "--customer-email", "cora.cleared@example.com", "--cleared-cookies",
             "--dashboard", DEMO_DATA / "dashboard.csv", "--internal", DEMO_DATA / "internal.csv"]
    result = run("ticket", *facts, "--reply", target)
    assert result.exit_code == 1, result.output  # a cause was found
    text = target.read_text(encoding="utf-8")
    assert RULES["missed-referral"].reply.found in text and RULES["case-2"].reply.found in text
    assert replies.CREDIT_WILL in text
    for secret in ("a1b2c3d4e5f6", "cora.cleared", "cus_cora", "Cora", "dashboard.csv", "internal.csv"):
        assert secret not in text
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    result = run("ticket", *facts, "--reply", "--json")
    made = list(Path("reports").glob("*-reply.txt"))
    assert len(made) == 1 and made[0].name.endswith("cora-cleared-example-com-reply.txt")
    assert json.loads(result.stdout)["ticket"]["customer_email"] == "cora.cleared@example.com"
    bad = run("ticket", *facts, "--reply", tmp_path)
    assert bad.exit_code == 1 and len(list(tmp_path.glob("*-reply.txt"))) == 1  # a folder: the default name in it
    bad = run("ticket", *facts, "--reply", tmp_path / "out")
    assert bad.exit_code == 1
    clash = run("ticket", *facts, "--reply", DEMO_DATA / "internal.csv")
    assert clash.exit_code == 2 and len(clash.output.strip().splitlines()) == 1


def test_write_reply_is_what_batch_calls(tmp_path):
    report = report_of({"partner_key": "alice", "customer_email": "kim@example.com", "cleared_cookies": True},
                       {"reconcile": MISSED})
    md = replies.write_reply(report, tmp_path / "r.md", fix_log=audit(tmp_path, created()))
    txt = replies.write_reply(report, tmp_path / "r.txt")
    assert "k\\*\\*\\*@" in md.read_text(encoding="utf-8") and replies.CREDIT_DONE in md.read_text(encoding="utf-8")
    assert "k***@" in txt.read_text(encoding="utf-8") and replies.CREDIT_WILL in txt.read_text(encoding="utf-8")


def test_the_demo_writes_a_reply_beside_each_report(tmp_path, browser_session):
    from diagnose.demo.run import run_demo

    names = ["healthy-integration", "wrong-partner-link", "missed-referral-fixed-through-the-api"]
    summary = run_demo(tmp_path, only=names)
    assert summary.all_ok
    said = {n: (tmp_path / f"{n}-reply.txt").read_text(encoding="utf-8") for n in names}
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{n}-reply.txt"' in index for n in names)
    assert said["healthy-integration"].count("\n- ") >= 3  # nothing explains the miss: questions
    assert replies.CREDIT_DONE_SALE in said["missed-referral-fixed-through-the-api"]  # read from fix's audit log
    assert RULES["wrong-partner-link"].reply.found in said["wrong-partner-link"]
    for text in said.values():
        for secret in ("a1b2c3d4e5f6", "0b0b0b0b0b0b", "ffe1d2c3b4a5", "pk_", "cus_", "@example.com>", ".csv",
                       "127.0.0.1", "localhost", "http", "gspk"):
            assert secret not in text
