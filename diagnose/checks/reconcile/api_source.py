"""The dashboard side read from the PartnerStack API instead of an export (``dashboard: partnerstack``).

The API's customers are written, page by page as they arrive, into a CSV shaped like the dashboard's
own export (the columns the reconcile check already recognises), which the check then reads like any
export: same matching, same buckets, same evidence. Nothing is held in memory but one page.

The API has no customer status: it is derived from each customer's rewards (``status_from_rewards``
in the domain module), read per customer for a ticket and for the whole window in bulk.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from diagnose.core.csvsafe import neutralise
from diagnose.core.errors import CannotComplete
from diagnose.core.evidence import CheckResult, error
from diagnose.core.partnerstack import epoch_ms, status_from_rewards

HEADER = ("Customer Key", "Email", "Name", "Partner Key", "Created At", "Status", "Provider Key", "Test",
          "PartnerStack Key")

# A ticket's customer is looked for among the customers created in a window around its dates: the
# customer is created at signup, so around the signup date; from the click on when only that is known
# (the cookie lasts 90 days); else the last half year.
AROUND_SIGNUP = dt.timedelta(days=30)
AFTER_CLICK = dt.timedelta(days=120)
WITHOUT_DATES = dt.timedelta(days=183)
API_WINDOW_DAYS = 90  # reconcile --dashboard partnerstack without --since: the last 90 days


def ticket_window(click: dt.date | None, signup: dt.date | None, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The created-date window [since, until] searched for a ticket's customer."""
    today = today or dt.date.today()
    if signup:
        return signup - AROUND_SIGNUP, min(signup + AROUND_SIGNUP, today + dt.timedelta(days=1))
    if click:
        return click - dt.timedelta(days=1), min(click + AFTER_CLICK, today + dt.timedelta(days=1))
    return today - WITHOUT_DATES, today + dt.timedelta(days=1)


def _day(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return ""
    return str(value or "")


def _text(value: Any, limit: int = 1000) -> str:
    return neutralise(str(value)[:limit]) if value is not None else ""


def row_of(customer: dict[str, Any], status: str) -> list[str]:
    """One export row for an API customer (CSV-safe: no cell starts a formula)."""
    return [_text(customer.get("customer_key")), _text(customer.get("email")), _text(customer.get("name")),
            _text(customer.get("partner_key")), _day(customer.get("created_at")), status,
            _text(customer.get("provider_key")), "yes" if customer.get("test") else "no", _text(customer.get("key"))]


def reward_statuses(api: Any, since: dt.date, until: dt.date) -> dict[str, list[str]]:
    """Every reward status per PartnerStack customer key, for rewards created in the window and after."""
    by_customer: dict[str, list[str]] = {}
    for reward in api.paginate("rewards", {"min_created": epoch_ms(since)}):
        customer = reward.get("customer_key") or (reward.get("customer") or {}).get("key")
        if customer:
            by_customer.setdefault(str(customer), []).append(str(reward.get("status") or ""))
    return by_customer


def customer_status(api: Any, customer: dict[str, Any]) -> str:
    """The dashboard status of one customer, from its rewards."""
    key = customer.get("key") or customer.get("customer_key")
    return status_from_rewards(str(r.get("status") or "") for r in api.paginate("rewards", {"customer_key": key}))


def write_export(path: str | Path, customers: Iterable[dict[str, Any]], status: Callable[[dict[str, Any]], str]) -> int:
    """Write ``customers`` as a dashboard export at ``path``; the number of rows written."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for customer in customers:
            writer.writerow(row_of(customer, status(customer)))
            count += 1
    return count


def window_customers(api: Any, since: dt.date, until: dt.date, concurrency: int) -> Iterator[dict[str, Any]]:
    """Every customer created in [since, until] (whole days, UTC), streamed from concurrent slices."""
    yield from api.customers_window(epoch_ms(since), epoch_ms(until + dt.timedelta(days=1)), concurrency=concurrency)


def ticket_candidates(api: Any, keys: list[str], email: str | None, since: dt.date, until: dt.date,
                      concurrency: int) -> list[dict[str, Any]]:
    """The API's customers that may be the ticket's: by its customer_keys first (one request each),
    else those in the window whose customer_key is one of them or whose e-mail is the ticket's by the
    reconcile check's loosest e-mail rules."""
    from diagnose.checks.reconcile.emails import normalise_email

    found = [c for c in (api.customer(key) for key in keys) if c is not None]
    if found or not (email or keys):
        return found
    wanted = normalise_email(email) if email else None
    return [c for c in window_customers(api, since, until, concurrency)
            if c.get("customer_key") in keys
            or (wanted and isinstance(c.get("email"), str) and normalise_email(c["email"]) == wanted)]


def internal_record(ticket: Any, query: str) -> Any:
    """The ticket's customer as the internal records have it (its customer_key and signup date tell
    the API lookup where to look), or None."""
    from diagnose.checks.reconcile.check import reconcile_files

    with api_export((), lambda c: "") as nothing:
        answer = reconcile_files(nothing, ticket.internal, customer=query, rows=False).evidence.customer
    return answer if answer is not None and answer.found_internal else None


def _day_of(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


API_LABEL = "PartnerStack API"


@contextlib.contextmanager
def api_export(customers: Iterable[dict[str, Any]], status: Callable[[dict[str, Any]], str]) -> Iterator[Path]:
    """A temporary dashboard export of ``customers`` (removed on exit)."""
    with tempfile.TemporaryDirectory(prefix="diagnose-api-") as tmp:
        path = Path(tmp) / "partnerstack-customers.csv"
        write_export(path, customers, status)
        yield path


def label(api: Any) -> str:
    """How the API is named as the dashboard side: 'PartnerStack API (api.partnerstack.com)'."""
    host = urlsplit(getattr(api, "base_url", "") or "").hostname
    about = [host] if host else []
    if getattr(getattr(api, "credentials", None), "test", False):
        about.append("TEST keys")
    return f"{API_LABEL} ({', '.join(about)})" if about else API_LABEL


@contextlib.contextmanager
def window_export(api: Any, since: dt.date, until: dt.date, concurrency: int) -> Iterator[Path]:
    """A temporary export of every customer created in [since, until], each with the status its
    rewards give (the rewards read once for the whole window, not per customer)."""
    statuses = reward_statuses(api, since, until)
    customers = window_customers(api, since, until, concurrency)
    with api_export(customers, lambda c: status_from_rewards(statuses.get(str(c.get("key")), ()))) as path:
        yield path


def reconcile_ticket(api: Any, ticket: Any, concurrency: int) -> CheckResult[Any]:
    """The reconcile check for a ticket whose dashboard is the API: its candidates from the API (by
    customer_key, else by e-mail in a window around its dates), each with its rewards' status,
    reconciled against the internal records like an export."""
    from diagnose.checks.reconcile.check import reconcile_files
    from diagnose.checks.reconcile.model import ReconcileCounts, ReconcileEvidence

    query = ticket.customer_email or ticket.customer_key or ticket.customer_name
    ours = internal_record(ticket, query)  # its key and signup date, when the ticket lacks them
    keys = list(dict.fromkeys(k for k in (ticket.customer_key, ours and ours.customer_key) if k))
    signup = ticket.signup_date or ticket.purchase_date or (ours and _day_of(ours.signup_date))
    since, until = ticket_window(ticket.click_date, signup)
    try:
        found = ticket_candidates(api, keys, ticket.customer_email, since, until, concurrency)
        with api_export(found, lambda c: customer_status(api, c)) as path:
            result = reconcile_files(path, ticket.internal, partner=ticket.partner_key, customer=query, rows=False,
                                     dashboard_label=label(api))
    except CannotComplete as exc:  # the API failed: the check could not run (the rules cannot tell)
        unread = ReconcileEvidence(
            dashboard_file=label(api), internal_file=str(ticket.internal), partner=ticket.partner_key,
            since=since.isoformat(), until=until.isoformat(), window_days=0, loose_rules=(),
            dashboard_columns={}, internal_columns={}, dashboard_encoding="", internal_encoding="",
            complete=False, counts=ReconcileCounts())
        return CheckResult("reconcile", unread, (error("api-error", f"the PartnerStack API could not answer: {exc}"),))
    return result
