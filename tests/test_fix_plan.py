"""diagnose fix: the plan (nothing sent) - from a ticket's diagnosis and from reconcile's missed customers."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.checks.reconcile import reconcile_files
from diagnose.core.errors import BadInput
from diagnose.core.ticket import Ticket
from diagnose.pipeline.fix_plan import (
    CREATE_CUSTOMER, RECORD_SALE, Sale, parse_amount, plan_from_missed, plan_from_ticket, transaction_key,
)

DATA = Path(__file__).resolve().parent.parent / "diagnose" / "demo" / "data"
PARTNER = "a1b2c3d4e5f6"


def _ticket_plan(email: str, sale: Sale | None = None, **ticket):
    t = Ticket(partner_key=PARTNER, customer_email=email, **ticket)
    evidence = {"reconcile": reconcile_files(DATA / "dashboard.csv", DATA / "internal.csv", partner=PARTNER,
                                             customer=email, rows=False)}
    return plan_from_ticket("evidence.json", t, evidence, sale)


@pytest.mark.parametrize("amount, currency, cents, code", [
    ("49.90", "usd", 4990, "USD"), ("0", None, 0, "USD"), ("1,200", "EUR", 120000, "EUR"), (" 7 ", "gbp", 700, "GBP"),
    ("1,234,567.89", "usd", 123456789, "USD"),
])
def test_amounts_are_sent_in_cents(amount, currency, cents, code):
    assert parse_amount(amount, currency) == Sale(cents, code)


@pytest.mark.parametrize("amount, currency, words", [
    ("abc", None, "not an amount"), ("-1", None, "0 or more"), ("1.234", None, "two decimals"),
    ("nan", None, "0 or more"), ("49,90", None, "with a dot"), ("1,5", None, "with a dot"), ("1,2345", None, "dot"), ("1e30", None, "at most"), ("5", "dollars", "3-letter"), (None, "USD", "needs --amount"),
])
def test_bad_amounts_are_one_line_errors(amount, currency, words):
    with pytest.raises(BadInput, match=words):
        parse_amount(amount, currency)


def test_the_transaction_key_is_stable_and_depends_on_every_input():
    sale = Sale(4990, "USD")
    key = transaction_key("cus_1", sale, "2026-10-01")
    assert key == transaction_key("cus_1", sale, "2026-10-01") and 4 <= len(key) <= 255
    others = {transaction_key("cus_2", sale, "2026-10-01"), transaction_key("cus_1", Sale(4991, "USD"), "2026-10-01"),
              transaction_key("cus_1", Sale(4990, "EUR"), "2026-10-01"), transaction_key("cus_1", sale, "2026-10-02")}
    assert key not in others and len(others) == 4


def test_a_missed_referral_plans_the_customer_and_its_sale():
    plan = _ticket_plan("cora.cleared@example.com", Sale(4990, "USD"), cleared_cookies=True)
    assert [s.action for s in plan.steps] == [CREATE_CUSTOMER, RECORD_SALE]
    create, sale = plan.steps
    assert create.body == {"customer_key": "cus_cora", "partner_key": PARTNER, "email": "cora.cleared@example.com",
                           "name": "Cora Cleared"}
    assert sale.body["customer_external_key"] == "cus_cora" and sale.body["amount"] == 4990
    assert sale.body["key"] == sale.key and "customer_key" not in sale.body  # the company's key is external


def test_no_sale_without_an_amount():
    plan = _ticket_plan("cora.cleared@example.com")
    assert [s.action for s in plan.steps] == [CREATE_CUSTOMER]


@pytest.mark.parametrize("email, why", [
    ("ben.other@example.com", "in the dashboard"),  # case 1: credited to another partner
    ("tess.tracked@example.com", "not confirmed"),  # already tracked: not missed
    ("quinn.nobody@example.com", "not confirmed"),  # no signup
])
def test_nothing_is_planned_unless_the_referral_was_missed_and_is_this_partners(email, why):
    plan = _ticket_plan(email)
    assert plan.steps == () and why in plan.skipped[0]


def test_missed_customers_csv(tmp_path):
    csv = tmp_path / "missed.csv"
    csv.write_text("customer_key,email,name,partner_key,provider_key,created_at\n"
                   "cus_1,a@x.com,Ann,jane,cus_S1,2026-10-01\n"
                   "'=cus_2,b@x.com,,,,\n"  # a spreadsheet-safe cell from our own CSV: the quote goes
                   ",c@x.com,,jane,,\n"
                   "cus_4,d@x.com,,gstest,,\n", encoding="utf-8")
    plan = plan_from_missed(csv, None, partner="bob")
    assert [(s.key, s.partner_key) for s in plan.steps] == [("cus_1", "jane"), ("=cus_2", "bob")]
    assert plan.steps[0].body["provider_key"] == "cus_S1"
    assert any("line 4: no customer_key" in s for s in plan.skipped)
    assert any("test partner" in s for s in plan.skipped)  # never the test partner unless asked
    with_test = plan_from_missed(csv, None, partner="bob", include_test_partner=True)
    assert [s.key for s in with_test.steps][-1] == "cus_4" and with_test.steps[-1].test_partner


def test_a_csv_that_is_not_a_missed_customers_file(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("email\na@x.com\n", encoding="utf-8")
    with pytest.raises(BadInput, match="no customer_key column"):
        plan_from_missed(other, None)
