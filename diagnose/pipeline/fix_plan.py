"""``diagnose fix``, the plan: the API requests that would carry out the guide's remediation (seed 000:
add the customer, record the sale), built from a ticket's diagnosis or from reconcile's missed
customers. Building a plan sends nothing; fix_apply.py sends it.

A plan is a list of steps, each one API request with the key that identifies what it creates
(the customer's customer_key, the transaction's key) so that a re-run can read it back first and
never create it twice. The transaction key is derived from the inputs, so the same sale always gets
the same key (PartnerStack treats a repeated key as the same transaction).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from diagnose.core.csvsafe import neutralise
from diagnose.core.errors import BadInput
from diagnose.core.evidence import CheckResult, shorten
from diagnose.core.partnerstack import API_NAME_MAX, is_test_partner
from diagnose.core.reading import read_text
from diagnose.core.ticket import Ticket

CREATE_CUSTOMER, RECORD_SALE = "create-customer", "record-sale"
MISSED_LIMIT = 64 * 1024 * 1024  # bytes of a --missed CSV


@dataclass(frozen=True)
class Sale:
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class Step:
    action: str  # create-customer | record-sale
    method: str
    path: str  # relative to the API base
    body: dict[str, Any]
    key: str  # what identifies the object the step creates: read back before sending
    partner_key: str | None
    test_partner: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "method": self.method, "path": self.path, "key": self.key,
                "partner_key": self.partner_key, "test_partner": self.test_partner, "body": self.body}


@dataclass(frozen=True)
class Plan:
    source: str  # the evidence file or the missed-customers CSV the plan was built from
    steps: tuple[Step, ...] = ()
    skipped: tuple[str, ...] = ()  # what was not planned, and why (one line each)
    test_keys: bool = False  # the API keys are test keys: what is created is test data
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "test_keys": self.test_keys, "steps": [s.to_dict() for s in self.steps],
                "skipped": list(self.skipped), "notes": list(self.notes)}


def parse_amount(amount: str | None, currency: str | None) -> Sale | None:
    """``--amount 49.90 --currency usd`` -> Sale(4990, 'USD'); None without an amount."""
    if amount is None:
        if currency:
            raise BadInput("--currency needs --amount (the sale's amount, e.g. 49.90)")
        return None
    text = str(amount).strip()
    if "," in text:  # thousands separators only: "49,90" is not 4990 dollars
        if not re.fullmatch(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?", text):
            raise BadInput(f"--amount {shorten(amount)}: write decimals with a dot (49.90); a comma may only "
                           "separate thousands (1,200.00)")
        text = text.replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadInput(f"--amount {shorten(amount)} is not an amount (e.g. 49.90)") from None
    if not value.is_finite() or value < 0 or value > Decimal(10) ** 10:
        raise BadInput(f"--amount {shorten(amount)} must be 0 or more, at most 10,000,000,000")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise BadInput(f"--amount {shorten(amount)} has more than two decimals")
    code = (currency or "USD").strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise BadInput(f"--currency {shorten(currency)} is not a 3-letter currency code (e.g. USD)")
    return Sale(int(cents), code)


def transaction_key(customer_key: str, sale: Sale, day: str | None) -> str:
    """A stable key for the sale: the same customer, amount, currency and day give the same key."""
    digest = hashlib.sha256(f"{customer_key}\x1f{sale.amount_cents}\x1f{sale.currency}\x1f{day or ''}".encode())
    return "diagnose-" + digest.hexdigest()[:32]


def steps_for(customer_key: str, email: str | None, name: str | None, partner_key: str,
              provider_key: str | None, sale: Sale | None, day: str | None) -> list[Step]:
    """Create the customer (attributed to ``partner_key``), then record its sale when there is one."""
    test = is_test_partner(partner_key)
    body: dict[str, Any] = {"customer_key": customer_key, "partner_key": partner_key}
    if email:
        body["email"] = email
    if name:
        body["name"] = name[:API_NAME_MAX]
    if provider_key:
        body["provider_key"] = provider_key
    steps = [Step(CREATE_CUSTOMER, "POST", "customers", body, customer_key, partner_key, test)]
    if sale is not None:
        key = transaction_key(customer_key, sale, day)
        steps.append(Step(RECORD_SALE, "POST", "transactions",
                          {"customer_external_key": customer_key, "amount": sale.amount_cents,
                           "currency": sale.currency, "key": key}, key, partner_key, test))
    return steps


# A ticket's diagnosis gets a plan only when it says the referral was missed and is this partner's.
BLOCKING = {
    "case-1": "the dashboard credits the customer to another partner (case 1): change the attribution by hand",
    "wrong-partner-link": "the link belongs to another partner: the attribution may be right as it is",
    "partner-not-in-program": "the ticket's partner is not a partner of this program",
    "referral-declined": "the referral reached PartnerStack and was declined",
    "already-tracked": "the customer is already tracked for this partner",
}


def plan_from_ticket(source: str, ticket: Ticket, evidence: dict[str, CheckResult], sale: Sale | None,
                     include_test_partner: bool = False) -> Plan:
    """The plan for one diagnosed ticket (saved evidence): create the missed customer, record its sale."""
    from diagnose.rules.common import asking_partner
    from diagnose.rules.engine import Facts, Verdict, diagnose

    findings = {f.id: f for f in diagnose(ticket, evidence)}
    missed = findings.get("missed-referral")
    if missed is None or missed.verdict is not Verdict.CONFIRMED:
        why = missed.reason if missed is not None else "no diagnosis of the records"
        return Plan(source, skipped=(f"nothing to add: the missed referral is not confirmed ({why})",))
    blocked = [text for rule_id, text in BLOCKING.items()
               if rule_id in findings and findings[rule_id].verdict is Verdict.CONFIRMED]
    if blocked:
        return Plan(source, skipped=tuple(f"nothing to add: {b}" for b in blocked))
    facts = Facts(ticket, evidence)
    partner = asking_partner(facts)
    answer = facts.get("reconcile", "customer")
    if partner is None:
        return Plan(source, skipped=("nothing to add: the ticket does not say which partner asks (partner_key)",))
    if answer is None or not answer.customer_key:
        return Plan(source, skipped=("nothing to add: the internal records give no customer_key for the customer",))
    return _planned(source, steps_for(answer.customer_key, answer.email or ticket.customer_email, answer.name,
                                      partner, answer.provider_key, sale, answer.signup_date), include_test_partner)


def plan_from_missed(path: str | Path, sale: Sale | None, partner: str | None = None,
                     include_test_partner: bool = False) -> Plan:
    """The plan for reconcile's missed customers (``reconcile --missed-out``'s CSV)."""
    text = read_text(Path(path), "missed-customers CSV", MISSED_LIMIT)
    rows = csv.DictReader(io.StringIO(text, newline=""))
    if not rows.fieldnames or "customer_key" not in rows.fieldnames:
        raise BadInput(f"{path}: not a missed-customers CSV (no customer_key column; "
                       "write one with `diagnose reconcile --missed-out FILE`)")
    steps: list[Step] = []
    skipped: list[str] = []
    for line, row in enumerate(rows, start=2):
        key = _cell(row.get("customer_key"))
        who = _cell(row.get("partner_key")) or partner
        if not key:
            skipped.append(f"line {line}: no customer_key")
        elif not who:
            skipped.append(f"line {line}: no partner_key (give --partner)")
        else:
            steps += steps_for(key, _cell(row.get("email")), _cell(row.get("name")), who,
                               _cell(row.get("provider_key")), sale, _cell(row.get("created_at")))
    return _planned(str(path), steps, include_test_partner, tuple(skipped))


def _cell(value: Any) -> str | None:
    """A CSV cell as the API should get it: the spreadsheet-safety quote our own CSVs add undone."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if text.startswith("'") and neutralise(text[1:]) == text:
        text = text[1:]
    return text or None


def _planned(source: str, steps: list[Step], include_test_partner: bool, skipped: tuple[str, ...] = ()) -> Plan:
    kept = [s for s in steps if include_test_partner or not s.test_partner]
    if len(kept) < len(steps):
        skipped += (f"{len(steps) - len(kept)} request(s) for the test partner (gstest) left out "
                    "(--include-test-partner to send them)",)
    return Plan(source, tuple(kept), skipped)
