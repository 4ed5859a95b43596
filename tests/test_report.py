"""The report model and its renderers: what a reader sees (terminal width, folded possibilities,
next steps said once, dates, a link that never landed, redaction of names and provider ids)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from diagnose.cli import cli
from diagnose.report.model import TicketReport
from diagnose.report import html as html_report
from diagnose.report.terminal import fit_widths
from diagnose.rules.engine import Finding, Verdict
from diagnose.core.ticket import Ticket

GOLDEN = Path(__file__).parent / "data" / "golden" / "evidence.json"


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def evidence_file(tmp_path, change=None) -> Path:
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    if change:
        change(data)
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_terminal_output_fits_the_terminal():
    for columns in (80, 100):
        result = run("explain", GOLDEN, env={"COLUMNS": str(columns)})
        assert result.exit_code == 1, result.output
        too_wide = [line for line in result.stdout.splitlines() if len(line) > columns]
        assert not too_wide, too_wide[:3]
    wide = run("explain", GOLDEN, env={"COLUMNS": "200"})
    assert max(len(line) for line in wide.stdout.splitlines()) > 100  # a wide terminal is used


def test_fit_widths_caps_only_the_wide_columns():
    assert fit_widths([5, 10], 80) == [None, None]
    caps = fit_widths([11, 20, 60, 70], 80)
    assert caps[0] is None and caps[1] is None
    assert sum(c or w for c, w in zip(caps, [11, 20, 60, 70])) + 2 * 3 <= 80


def test_a_table_too_wide_for_the_terminal_becomes_records():
    from diagnose.report.terminal import table

    headers = [f"column_{i}" for i in range(12)]
    rows = [[f"value-{i}-{j}@example.com" for i in range(12)] for j in range(2)]
    text = table(rows, headers, width=80)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "column_11" in text and "value-11-1@example.com" in text  # nothing cut, no word split
    narrow = table([["a", "b"]], ["x", "y"], width=80)
    assert narrow.splitlines()[0].split() == ["x", "y"]  # a table that fits stays a table


def test_customer_side_noise_is_folded_once_a_cause_is_confirmed(tmp_path):
    result = run("explain", GOLDEN, env={"COLUMNS": "200"})
    text = result.stdout
    table = text.split("Diagnosis (ranked)")[1].split("\n\n")[0]
    assert "case-10" not in table and "case-2" not in table  # only the reconcile bucket kept them open
    assert "Also possible on the customer's side" in text and "case-10" in text
    as_json = json.loads(run("explain", GOLDEN, "--json").stdout)
    assert {"case-10", "case-2"} <= {f["id"] for f in as_json["diagnosis"] if f["verdict"] == "possible"}
    page = tmp_path / "r.html"
    run("explain", GOLDEN, "--html", page)
    body = page.read_text(encoding="utf-8")
    findings_table = body.split("<h2>All findings</h2>")[1].split("</table>")[0]
    assert "case-10" not in findings_table and "Also possible on the customer" in body


def test_nothing_folded_without_a_confirmed_cause():
    t = Ticket(customer_email="a@example.com")
    maybe = Finding("case-2", 2, "Cleared cookies", Verdict.POSSIBLE, "silent ticket", "x")
    report = TicketReport(t, {}, (maybe,), ())
    assert report.also_possible == [] and report.shown == [maybe]


def test_identical_next_steps_are_said_once():
    steps = ("Confirm the referral.", "Add the customer by hand.")
    a = Finding("case-5", 5, "Expired", Verdict.CONFIRMED, "r", "e", (), steps)
    b = Finding("case-6", 6, "Other browser", Verdict.CONFIRMED, "r", "e", (), steps)
    c = Finding("case-3", 3, "Blocked", Verdict.LIKELY, "r", "e", (), ("Ask about the banner.",) + steps[:1])
    plan = TicketReport(Ticket(), {}, (a, b, c), ()).next_steps()
    assert plan[0] == (a, steps, None)
    assert plan[1] == (b, (), "case-5")
    assert plan[2] == (c, ("Ask about the banner.",), "case-5")
    text = html_report.render(TicketReport(Ticket(), {}, (a, b), ()))
    assert text.count("Add the customer by hand.") == 1


def test_click_to_signup_comes_from_the_ticket_when_it_gives_both_dates(tmp_path):
    def dates(data):
        data["ticket"].update(click_date="2026-09-01", signup_date="2026-10-05")

    page = tmp_path / "r.html"
    result = run("explain", evidence_file(tmp_path, dates), "--html", page)
    assert result.exit_code == 1, result.output
    body = page.read_text(encoding="utf-8")
    assert "34 days" in body and "the ticket&#39;s dates" in body
    assert "– days" not in body


def test_a_link_that_never_landed_shows_no_partner_key_at_a_landing_page(tmp_path):
    def loop(data):
        link = data["evidence"]["link"]
        link.update(completed=False, status="fail", partner_key=None)
        link["problems"] = [{"code": "redirect-loop", "severity": "fail",
                             "message": "http://a.example/x redirects back to http://a.example/y"}]

    page = tmp_path / "r.html"
    result = run("explain", evidence_file(tmp_path, loop), "--json", "--html", page)
    body = page.read_text(encoding="utf-8")
    assert "Partner key at the landing page" not in body and "never reached a landing page" in body
    broken = next(f for f in json.loads(result.stdout)["diagnosis"] if f["id"] == "link-broken")
    assert broken["verdict"] == "confirmed"
    assert "a redirect loop" in broken["reason"] and "redirects back to" in broken["reason"]


def test_redact_hides_the_customers_name_and_provider_id(tmp_path):
    def named(data):
        data["ticket"]["customer_name"] = "Kim Safari"
        data["evidence"]["reconcile"]["customer"]["provider_key"] = "cus_Stripe9QxZ"

    source = evidence_file(tmp_path, named)
    assert "cus_Stripe9QxZ" in run("explain", source, "--json").stdout
    page = tmp_path / "r.html"
    result = run("explain", source, "--json", "--redact", "--html", page)
    text = result.stdout + page.read_text(encoding="utf-8")
    for secret in ("Kim Safari", "cus_Stripe9QxZ", "kim.safari"):
        assert secret not in text, secret
    assert "K*** S***" in text


def test_demo_index_does_not_colour_a_status_as_a_cause():
    rows = [{"ticket": "t1", "id": "integration-healthy", "title": "Healthy", "verdict": "confirmed",
             "expected": "integration-healthy", "ok": True, "href": "t1.html", "kind": "status"},
            {"ticket": "t2", "id": "case-4", "title": "Broken", "verdict": "confirmed",
             "expected": "case-4", "ok": True, "href": "t2.html", "kind": "cause"}]
    page = html_report.render_index(rows, "demo")
    assert page.count("verdict v-confirmed\"") == 1 and page.count("verdict v-status\"") == 1


def test_redact_never_touches_the_tools_own_words(tmp_path):
    """A customer called Ann Link or Tess Tracked: the name is hidden, ids, codes and checks are not."""
    def named(data):
        data["ticket"]["customer_name"] = "Tess Link"
        data["evidence"]["reconcile"]["customer"]["name"] = "Tess Link"

    result = run("explain", evidence_file(tmp_path, named), "--json", "--redact")
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert "Tess Link" not in result.stdout and "T*** L***" in result.stdout
    assert out["evidence"]["link"]["check"] == "link"
    assert {"link-broken", "wrong-partner-link"} <= {f["id"] for f in out["diagnosis"]}


def test_tables_with_headers_fit_the_width_exactly():
    from diagnose.report.terminal import table

    for width in (60, 80):
        rows = [["error", "connection-error", "x" * 300], ["warn", "a-long-problem-code-here", "y " * 120]]
        text = table(rows, ["severity", "problem", "message"], wrap=True, width=width)
        assert max(len(line) for line in text.splitlines()) <= width, text
