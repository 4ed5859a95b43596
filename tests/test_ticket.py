"""`diagnose ticket` / `explain`: the ticket file, saved evidence, reports, redaction, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.cli import cli
from diagnose.demo.run import DATA, site_routes
from diagnose.demo.site import LocalSite

GOLDEN = Path(__file__).parent / "data" / "golden"


def run(*args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], **kw)


@pytest.fixture(scope="module")
def demo_site():
    with LocalSite(site_routes()) as site:
        yield site


@pytest.mark.parametrize(
    "content, needle",
    [
        ("colour: blue\n", "unknown ticket key 'colour'"),
        ("click_date: 2026-13-01\n", "'click_date'"),
        ("click_date: yesterday\n", "'click_date'"),
        ("typed_url: maybe\n", "'typed_url'"),
        ("customer_email: [a, b]\n", "'customer_email'"),
        ("integration: carrier-pigeon\n", "'integration'"),
        ("expected_public_key: pk_123\n", "'expected_public_key'"),
        ("link: 'javascript:alert(1)'\n", "'link'"),
        ("click_date: 2026-05-02\nsignup_date: 2026-05-01\n", "before the click"),
        ("- a list\n", "mapping"),
        ("a: [unclosed\n", "not valid YAML"),
        ("partner_key: x\n", "needs a link"),
    ],
)
def test_bad_tickets_exit_2_naming_the_key(tmp_path, content, needle):
    path = tmp_path / "t.yaml"
    path.write_text(content, encoding="utf-8")
    result = run("ticket", path)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.output


def test_bad_option_value_names_the_key():
    result = run("ticket", "--link", "https://x.example/", "--click-date", "31/12/2026", "--no-browser")
    assert result.exit_code == 2 and "'click_date'" in result.output


def test_json_ticket_and_relative_export_paths(tmp_path, demo_site):
    (tmp_path / "exports").mkdir()
    for name in ("dashboard.csv", "internal.csv"):
        (tmp_path / "exports" / name).write_text((DATA / name).read_text(), encoding="utf-8")
    ticket = {"partner_key": "a1b2c3d4e5f6", "customer_email": "ben.other@example.com",
              "dashboard": "exports/dashboard.csv", "internal": "exports/internal.csv"}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(ticket), encoding="utf-8")
    result = run("ticket", path, "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert set(data) >= {"ticket", "evidence", "diagnosis", "questions"}
    assert data["diagnosis"][0]["id"] == "case-1"
    assert data["diagnosis"][0]["case"] == 1
    assert set(data["diagnosis"][0]) >= {"id", "case", "title", "verdict", "evidence", "next_steps"}
    assert list(data["evidence"]) == ["reconcile"]


@pytest.mark.browser
def test_ticket_end_to_end_then_explain_offline(tmp_path, demo_site, monkeypatch):
    ticket = tmp_path / "t.yaml"
    ticket.write_text(
        f"partner_key: a1b2c3d4e5f6\nlink: {demo_site.url('/go/jane-canonical')}\n"
        f"customer_email: ned.dropped@example.com\ndashboard: {DATA / 'dashboard.csv'}\ninternal: {DATA / 'internal.csv'}\n",
        encoding="utf-8",
    )
    saved = tmp_path / "evidence.json"
    html = tmp_path / "report.html"
    first = run("ticket", ticket, "--allow-private-network", "--save-evidence", saved, "--json",
                "--html", html, "--screenshot-dir", tmp_path)
    assert first.exit_code == 1, first.output
    live = json.loads(first.stdout)
    assert live["diagnosis"][0]["id"] == "params-dropped"
    assert {"link", "gspk", "snippet", "cookie", "reconcile"} <= set(live["evidence"])
    assert html.exists() and "params" in html.read_text(encoding="utf-8")

    # Offline: no network, no browser.
    import diagnose.checks.cookie as cookie
    import diagnose.checks.link as link
    import diagnose.web.fetch as net

    def boom(*a, **k):
        raise AssertionError("explain must not gather")

    monkeypatch.setattr(link, "follow", boom)
    monkeypatch.setattr(cookie, "check_cookie", boom)
    monkeypatch.setattr(net, "fetch", boom)
    again = run("explain", saved, "--json")
    assert again.exit_code == 1, again.output
    offline = json.loads(again.stdout)
    assert offline["diagnosis"] == live["diagnosis"]
    assert offline["evidence"] == live["evidence"]


def test_golden_report():
    """The rules and the JSON report on fixed evidence. After an intended change, regenerate with:
    python -m diagnose explain tests/data/golden/evidence.json --json > tests/data/golden/report.json
    """
    result = run("explain", GOLDEN / "evidence.json", "--json")
    assert result.exit_code == 1
    expected = json.loads((GOLDEN / "report.json").read_text(encoding="utf-8"))
    assert json.loads(result.stdout) == expected


def test_explain_rejects_what_is_not_evidence(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}', encoding="utf-8")
    result = run("explain", bad)
    assert result.exit_code == 2 and "not a diagnose evidence file" in result.output
    bad.write_text("{", encoding="utf-8")
    assert run("explain", bad).exit_code == 2
    data = json.loads((GOLDEN / "evidence.json").read_text(encoding="utf-8"))
    data["evidence"]["link"]["hops"] = "nope"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result = run("explain", bad)
    assert result.exit_code == 2 and "'link'" in result.output


def test_redact_masks_emails_and_cookie_values_everywhere(tmp_path):
    data = json.loads((GOLDEN / "evidence.json").read_text(encoding="utf-8"))
    secret = {"name": "growSumoPartnerKey", "value": "a1b2c3d4e5f6", "domain": "127.0.0.1", "path": "/",
              "expires_days": 90.0, "same_site": "Lax", "secure": False, "http_only": False}
    data["evidence"]["cookie"]["cookies"] = [secret]
    data["evidence"]["cookie"]["partner_cookie"] = dict(secret)
    source = tmp_path / "evidence.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    html = tmp_path / "r.html"
    result = run("explain", source, "--json", "--redact", "--html", html)
    data = json.loads(result.stdout)
    text = result.stdout + html.read_text(encoding="utf-8")
    assert "kim.safari@example.com" not in text
    assert "k***@example.com" in text
    cookie = data["evidence"]["cookie"]
    assert [c["value"] for c in cookie["cookies"]] == ["a1***"]
    assert cookie["partner_cookie"]["value"] == "a1***"
    assert "<code>growSumoPartnerKey</code> = <code>a1***</code>" in html.read_text(encoding="utf-8")
    assert data["redacted"] is True
    plain = run("explain", GOLDEN / "evidence.json", "--redact")
    assert "kim.safari@example.com" not in plain.stdout


def test_default_html_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("explain", GOLDEN / "evidence.json", "--html")
    written = list((tmp_path / "reports").glob("*-kim-safari-example-com.html"))
    assert len(written) == 1, result.output


def test_redact_names_no_other_partner_and_no_other_customers(tmp_path):
    data = json.loads((GOLDEN / "evidence.json").read_text(encoding="utf-8"))
    rec = data["evidence"]["reconcile"]
    rec["customer"].update(found_dashboard=True, bucket="other_partner", dashboard_partner_key="ffe1d2c3b4a5")
    rec["dashboard_file"] = "/secret/place/dashboard.csv"
    rec["problems"] = [{"code": "other-partner", "message": "credited to 'ffe1d2c3b4a5'", "severity": "fail"}]
    source = tmp_path / "evidence.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    plain = run("explain", source, "--json")
    assert "ffe1d2c3b4a5" in plain.stdout and json.loads(plain.stdout)["diagnosis"][0]["id"] == "case-1"
    html = tmp_path / "r.html"
    result = run("explain", source, "--json", "--redact", "--html", html)
    text = result.stdout + html.read_text(encoding="utf-8")
    assert "ffe1d2c3b4a5" not in text and "another partner" in text
    assert "/secret/place" not in text
    out = json.loads(result.stdout)
    assert out["evidence"]["reconcile"]["dashboard_file"] == "dashboard.csv"
    assert all(out["evidence"]["reconcile"][k] == [] for k in ("matched", "missing_from_dashboard", "dashboard_only"))
    assert out["diagnosis"][0]["id"] == "case-1"  # redaction changes what is shown, not the diagnosis


def test_redact_covers_saved_evidence_and_the_default_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    saved = tmp_path / "ev.json"
    result = run("ticket", "--customer-email", "ava.healthy@example.com", "--dashboard", DATA / "dashboard.csv",
                 "--internal", DATA / "internal.csv", "--save-evidence", saved, "--redact", "--html")
    assert result.exit_code == 1, result.output  # the customer is missing from the dashboard: a problem
    assert "ava.healthy@example.com" not in saved.read_text(encoding="utf-8")
    written = list((tmp_path / "reports").glob("*.html"))
    assert len(written) == 1 and "ava" not in written[0].name and "ticket-" in written[0].name


def test_exports_only_ticket_states_the_missed_referral():
    result = run("ticket", "--customer-email", "ava.healthy@example.com", "--dashboard", DATA / "dashboard.csv",
                 "--internal", DATA / "internal.csv", "--json")
    data = json.loads(result.stdout)
    missed = next(f for f in data["diagnosis"] if f["id"] == "missed-referral")
    assert missed["verdict"] == "confirmed"
    assert result.exit_code == 1


def test_a_refused_private_link_is_cannot_tell_not_broken(demo_site):
    result = run("ticket", "--link", demo_site.url("/go/jane"), "--partner-key", "a1b2c3d4e5f6", "--json")
    data = json.loads(result.stdout)
    verdicts = {f["id"]: f["verdict"] for f in data["diagnosis"]}
    assert verdicts["link-broken"] == "cannot-tell"
    assert verdicts["case-4"] == "cannot-tell"
    assert verdicts["integration-healthy"] == "cannot-tell"
    assert result.exit_code == 3


# -- found by a new-user test with inputs of their own ----------------------------------------------


@pytest.mark.parametrize("pasted", ["pat%2Epercent%40example.com", "mailto:pat.percent@example.com",
                                    "Pat Percent <pat.percent@example.com>", " pat.percent@example.com "])
def test_an_email_as_people_paste_it_is_the_address(pasted):
    from diagnose.core.ticket import coerce

    assert coerce("customer_email", pasted) == "pat.percent@example.com"


def test_a_customer_email_without_an_address_is_bad_input():
    from diagnose.core.errors import BadInput
    from diagnose.core.ticket import coerce

    with pytest.raises(BadInput, match="not an e-mail address"):
        coerce("customer_email", "Pat Percent")


def test_a_lone_surrogate_in_a_ticket_value_cannot_reach_the_checks():
    from diagnose.core.ticket import coerce

    assert coerce("customer_email", "\ud800@example.com") == "\ufffd@example.com"
