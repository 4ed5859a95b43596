"""The API read side and `diagnose fix` against the local stand-in API (a real HTTP server on
127.0.0.1): the demo's tickets answered from the API get the diagnosis the export gives; the partner
check; a fix plan applied, and a second --apply that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.checks.partner import check_partner
from diagnose.cli import cli
from diagnose.core.ticket import API_DASHBOARD, Ticket, from_mapping
from diagnose.demo.api_seed import BOB, JANE, OTTO, seed
from diagnose.demo.api_standin import ApiStandIn
from diagnose.pipeline.fix_apply import CREATED, DONE_BEFORE, EXISTS, apply_plan
from diagnose.pipeline.fix_plan import Sale, plan_from_ticket
from diagnose.pipeline.gather import GatherOptions
from diagnose.pipeline.run import run_ticket
from diagnose.rules.engine import diagnose
from diagnose.web.partnerstack_api import Credentials, PartnerStackClient

DATA = Path(__file__).resolve().parent.parent / "diagnose" / "demo" / "data"
PUBLIC, SECRET = "pk_live_flowtest", "sk_live_FLOW-SECRET-never-shown"


@pytest.fixture
def api():
    with ApiStandIn(PUBLIC, SECRET) as standin:
        seed(standin)
        standin.add_partnership("archie", email="archie@partners.example", archived=True)
        yield standin


@pytest.fixture
def client(api):
    with PartnerStackClient(Credentials(PUBLIC, SECRET), base_url=api.url) as c:
        yield c


def _diagnosis(ticket: Ticket, client=None) -> dict[str, str]:
    evidence = run_ticket(ticket, GatherOptions(use_browser=False, api=client))
    return evidence, {f.id: str(f.verdict) for f in diagnose(ticket, evidence)}


RECORDS = [  # e-mail, the finding the records give (demo scenarios without a link)
    ("ben.other@example.com", "case-1"), ("rae.pending@example.com", "company-action-pending"),
    ("sam.webhook@example.com", "webhook-keys-missing"), ("tess.tracked@example.com", "already-tracked"),
    ("quinn.nobody@example.com", "no-signup-found"), ("cora.cleared@example.com", "missed-referral"),
]


@pytest.mark.parametrize("email, finding", RECORDS)
def test_the_api_gives_the_diagnosis_the_export_gives(client, email, finding):
    facts = dict(partner_key=JANE, customer_email=email, internal=str(DATA / "internal.csv"), integration="webhook"
                 if "sam" in email else None, signup_date=None)
    from_export = Ticket(dashboard=str(DATA / "dashboard.csv"), **facts)
    from_api = Ticket(dashboard=API_DASHBOARD, **facts)
    ev_export, export = _diagnosis(from_export)
    ev_api, api_ = _diagnosis(from_api, client)
    assert export[finding] == "confirmed" and api_[finding] == "confirmed"
    same = {k: v for k, v in api_.items() if not k.startswith("partner-")}  # the partner check is the API's own
    assert same == {k: v for k, v in export.items() if not k.startswith("partner-")}
    a, e = ev_api["reconcile"].evidence.customer, ev_export["reconcile"].evidence.customer
    assert (a.bucket, a.dashboard_partner_key, a.dashboard_status_class, a.provider_key) == \
        (e.bucket, e.dashboard_partner_key, e.dashboard_status_class, e.provider_key)
    assert ev_api["reconcile"].evidence.dashboard_file.startswith("PartnerStack API")


def test_a_customer_key_is_looked_up_directly(api, client):
    ticket = Ticket(partner_key=JANE, customer_key="cus_ben", internal=str(DATA / "internal.csv"), dashboard=API_DASHBOARD)
    evidence, verdicts = _diagnosis(ticket, client)
    assert verdicts["case-1"] == "confirmed"
    assert api.requests_to("customers/cus_ben") and not api.requests_to("customers", "GET")[1:]


def test_the_api_failing_is_cannot_tell_not_healthy(api):
    api.fail_next(500, count=50)
    ticket = Ticket(partner_key=JANE, customer_email="tess.tracked@example.com", internal=str(DATA / "internal.csv"),
                    dashboard=API_DASHBOARD)
    impatient = PartnerStackClient(Credentials(PUBLIC, SECRET), base_url=api.url, backoff=0.0, sleep=lambda s: None)
    evidence, verdicts = _diagnosis(ticket, impatient)
    assert evidence["reconcile"].status == "error" and "api-error" in evidence["reconcile"].codes()
    assert verdicts["already-tracked"] == "cannot-tell" and verdicts["no-signup-found"] == "cannot-tell"


@pytest.mark.parametrize("key, email, link_key, found, codes", [
    (JANE, None, None, True, []),
    ("nobody123", None, None, False, ["partner-not-found"]),
    (None, "OTTO@partners.example", None, True, []),  # by e-mail, any case
    (None, "who@nowhere.example", None, False, ["partner-not-found"]),
    ("archie", None, None, True, ["partner-archived"]),
    (JANE, None, "zzzz99", True, ["link-partner-unknown"]),
    (JANE, None, BOB, True, []),
])
def test_the_partner_check(client, key, email, link_key, found, codes):
    result = check_partner(client, key, email, link_key)
    assert result.evidence.found is found and result.codes() == codes
    if email and found:
        assert result.evidence.partner_key == OTTO and result.evidence.looked_up_by == "partner_email"


def test_a_ticket_giving_the_partners_email_is_diagnosed_for_that_partner(client):
    ticket = Ticket(partner_email="jane@partners.example", customer_email="ben.other@example.com",
                    internal=str(DATA / "internal.csv"), dashboard=API_DASHBOARD)
    evidence, verdicts = _diagnosis(ticket, client)
    assert evidence["partner"].evidence.partner_key == JANE
    assert verdicts["case-1"] == "confirmed"  # credited to Otto, asked by Jane


def test_fix_applies_once_and_a_rerun_changes_nothing(api, client, tmp_path):
    ticket = Ticket(partner_key=JANE, customer_email="cora.cleared@example.com", cleared_cookies=True,
                    internal=str(DATA / "internal.csv"), dashboard=API_DASHBOARD)
    evidence, _ = _diagnosis(ticket, client)
    plan = plan_from_ticket("e.json", ticket, evidence, Sale(4990, "USD"))
    audit = tmp_path / "audit.jsonl"
    first = apply_plan(plan, client, audit)
    assert [r.outcome for r in first] == [CREATED, CREATED]
    assert api.customers and any(c["customer_key"] == "cus_cora" and c["partner_key"] == JANE for c in api.customers)
    assert [r.outcome for r in apply_plan(plan, client, audit)] == [DONE_BEFORE, DONE_BEFORE]  # resumed from the log
    assert [r.outcome for r in apply_plan(plan, client, tmp_path / "new.jsonl")] == [EXISTS, EXISTS]  # read back
    assert sum(c["customer_key"] == "cus_cora" for c in api.customers) == 1 and len(api.transactions) == 1
    log = audit.read_text()
    assert SECRET not in log and len(log.splitlines()) == 4


def test_a_partial_failure_resumes_without_duplicates(api, client, tmp_path):
    ticket = Ticket(partner_key=JANE, customer_email="cora.cleared@example.com", cleared_cookies=True,
                    internal=str(DATA / "internal.csv"), dashboard=API_DASHBOARD)
    evidence, _ = _diagnosis(ticket, client)
    plan = plan_from_ticket("e.json", ticket, evidence, Sale(100, "EUR"))
    audit = tmp_path / "audit.jsonl"
    api.fail_next(422, count=1)  # the customer's creation is refused once
    assert [r.outcome for r in apply_plan(plan, client, audit)] == ["failed", "not-sent"]
    assert [r.outcome for r in apply_plan(plan, client, audit)] == [CREATED, CREATED]
    assert sum(c["customer_key"] == "cus_cora" for c in api.customers) == 1 and len(api.transactions) == 1


def test_the_cli_loop_never_shows_the_secret(api, tmp_path, monkeypatch):
    monkeypatch.setenv("PARTNERSTACK_PUBLIC_KEY", PUBLIC)
    monkeypatch.setenv("PARTNERSTACK_SECRET_KEY", SECRET)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    base = ["--api-base", api.url]
    ticket = tmp_path / "t.yaml"
    ticket.write_text(f"partner_key: {JANE}\ncustomer_email: cora.cleared@example.com\ncleared_cookies: true\n"
                      f"internal: {DATA / 'internal.csv'}\ndashboard: partnerstack\n", encoding="utf-8")
    outputs = []
    r = runner.invoke(cli, ["ticket", str(ticket), "--no-browser", "--save-evidence", "e.json", *base])
    outputs.append(r.output)
    assert r.exit_code == 1, r.output
    dry = runner.invoke(cli, ["fix", "e.json", "--amount", "49.90", *base])
    outputs.append(dry.output)
    assert dry.exit_code == 0 and "Dry run: 2 request(s)" in dry.output and not api.requests_to("customers", "POST")
    dry_json = runner.invoke(cli, ["fix", "e.json", "--amount", "49.90", "--json", *base])
    assert json.loads(dry_json.output)["steps"][1]["body"]["amount"] == 4990
    refused = runner.invoke(cli, ["fix", "e.json", "--apply", *base])  # not at a terminal, no --yes
    assert refused.exit_code == 2 and "--yes" in refused.output
    applied = runner.invoke(cli, ["fix", "e.json", "--amount", "49.90", "--apply", "--yes", *base])
    again = runner.invoke(cli, ["fix", "e.json", "--amount", "49.90", "--apply", "--yes", *base])
    outputs += [applied.output, again.output, (tmp_path / "reports" / "fix-audit.jsonl").read_text()]
    assert applied.exit_code == 0 and "2 created" in applied.output
    assert again.exit_code == 0 and "2 done-before" in again.output
    partner = runner.invoke(cli, ["partner", "nobody123", *base])
    outputs.append(partner.output)
    assert partner.exit_code == 1 and "partner-not-found" in partner.output
    assert all(SECRET not in out for out in outputs)


def test_without_keys_the_api_commands_say_what_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("PARTNERSTACK_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("PARTNERSTACK_SECRET_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    r = CliRunner().invoke(cli, ["partner", JANE])
    assert r.exit_code == 2 and "PARTNERSTACK_SECRET_KEY" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["ticket", "--customer-email", "a@x.com", "--internal", str(DATA / "internal.csv"),
                                 "--dashboard", "partnerstack", "--no-browser"])
    assert r.exit_code == 2 and "PARTNERSTACK" in r.output


def test_reconcile_from_the_api_equals_reconcile_from_the_export(api, monkeypatch):
    monkeypatch.setenv("PARTNERSTACK_PUBLIC_KEY", PUBLIC)
    monkeypatch.setenv("PARTNERSTACK_SECRET_KEY", SECRET)
    common = ["--internal", str(DATA / "internal.csv"), "--partner", JANE, "--since", "2026-09-01",
              "--until", "2026-10-31", "--json"]
    from_api = CliRunner().invoke(cli, ["reconcile", "--dashboard", "partnerstack", "--api-base", api.url,
                                        "--api-concurrency", "3", *common])
    from_export = CliRunner().invoke(cli, ["reconcile", "--dashboard", str(DATA / "dashboard.csv"), *common])
    a, e = json.loads(from_api.stdout), json.loads(from_export.stdout)
    assert from_api.exit_code == from_export.exit_code == 1
    assert a["counts"] == e["counts"] and a["counts"]["pending"] == 1 and a["counts"]["other_partner"] == 1
    assert [r["customer_key"] for r in a["missing_from_dashboard"]] == [r["customer_key"] for r in e["missing_from_dashboard"]]
    assert a["dashboard_file"] == "PartnerStack API (127.0.0.1)" and SECRET not in from_api.output


# -- found by a new-user test against a server of their own ----------------------------------------


def _cora_plan(client, sale=Sale(2000, "USD")):
    ticket = Ticket(partner_key=JANE, customer_email="cora.cleared@example.com", cleared_cookies=True,
                    internal=str(DATA / "internal.csv"), dashboard=API_DASHBOARD)
    evidence, _ = _diagnosis(ticket, client)
    return plan_from_ticket("e.json", ticket, evidence, sale)


def test_a_customer_already_credited_to_another_partner_is_left_alone(api, client, tmp_path):
    plan = _cora_plan(client)
    api.add_customer("cus_cora", "cora.cleared@example.com", OTTO)  # meanwhile, under Otto
    results = apply_plan(plan, client, tmp_path / "a.jsonl")
    assert [r.outcome for r in results] == ["failed", "not-sent"] and OTTO in results[0].message
    assert not api.transactions


def test_no_sale_is_recorded_on_a_customer_that_was_there_before(api, client, tmp_path):
    plan = _cora_plan(client)
    api.add_customer("cus_cora", "cora.cleared@example.com", JANE)  # added by hand meanwhile, same partner
    assert [r.outcome for r in apply_plan(plan, client, tmp_path / "a.jsonl")] == [EXISTS, "not-sent"]
    assert not api.transactions


def test_an_audit_log_of_another_program_proves_nothing(api, client, tmp_path):
    plan = _cora_plan(client)
    audit = tmp_path / "a.jsonl"
    with ApiStandIn("pk_live_otherprogram", SECRET) as other:
        seed(other)
        with PartnerStackClient(Credentials("pk_live_otherprogram", SECRET), base_url=other.url) as elsewhere:
            assert [r.outcome for r in apply_plan(plan, elsewhere, audit)] == [CREATED, CREATED]
    assert [r.outcome for r in apply_plan(plan, client, audit)] == [CREATED, CREATED]  # not "done-before"


def test_refused_keys_stop_the_run(api, tmp_path):
    with PartnerStackClient(Credentials(PUBLIC, "sk_live_wrong"), base_url=api.url) as wrong:
        plan = _cora_plan(PartnerStackClient(Credentials(PUBLIC, SECRET), base_url=api.url))
        results = apply_plan(plan, wrong, tmp_path / "a.jsonl")
    assert [r.outcome for r in results] == ["failed", "not-sent"] and "stopped" in results[1].message


def test_the_internal_records_key_and_date_find_a_customer_the_ticket_cannot(api, client, tmp_path):
    """A customer whose API item has no e-mail, and one created long before the ticket's window: the
    internal record's customer_key finds both (they are not missed referrals)."""
    internal = tmp_path / "internal.csv"
    internal.write_text("customer_key,email,created_at\ncus_nomail,nomail@example.com,2026-10-01\n"
                        "cus_april,april@example.com,2026-04-01\n", encoding="utf-8")
    api.add_customer("cus_nomail", None, JANE)
    api.add_customer("cus_april", "april@example.com", JANE, created_at=1775044800000)  # 2026-04-01
    for email in ("nomail@example.com", "april@example.com"):
        ticket = from_mapping({"partner_key": JANE, "customer_email": email, "internal": str(internal),
                               "dashboard": "PartnerStack"})  # any case
        evidence, verdicts = _diagnosis(ticket, client)
        assert evidence["reconcile"].evidence.customer.found_dashboard, email
        assert verdicts["missed-referral"] == "ruled-out" and verdicts["already-tracked"] == "confirmed"


def test_reconcile_json_still_prints_when_the_api_fails(api, monkeypatch):
    monkeypatch.setenv("PARTNERSTACK_PUBLIC_KEY", PUBLIC)
    monkeypatch.setenv("PARTNERSTACK_SECRET_KEY", "sk_live_wrong")
    r = CliRunner().invoke(cli, ["reconcile", "--dashboard", "partnerstack", "--internal", str(DATA / "internal.csv"),
                                 "--api-base", api.url, "--json"])
    assert r.exit_code == 3 and json.loads(r.stdout)["status"] == "error"
    assert "sk_live_wrong" not in r.output
