"""The reconcile check's problems, read off its evidence: with ``--customer`` about that one customer
(the file-wide findings only where they touch the customer's own rows), else about the whole files."""

from __future__ import annotations

from diagnose.core.evidence import Problem, fail, warn
from diagnose.core.partnerstack import STATUS_DECLINED
from diagnose.checks.reconcile.answer import CustomerRows
from diagnose.checks.reconcile.model import CustomerAnswer, ReconcileEvidence

_KEY_HINT = ("If one of these columns is not the customer's key, say so: --map internal.customer_key= "
             "(no column) or --match-on email")


def problems(ev: ReconcileEvidence, partner: str | None, window_days: int,
             mine: CustomerRows | None = None) -> list[Problem]:
    """What the evidence shows that is worth a look (see the package docstring for the codes).
    ``mine``: with a customer, the file-wide findings on that customer's rows."""
    if ev.customer is not None:
        return _about_the_customer(ev.customer, partner, window_days, mine or CustomerRows())
    c = ev.counts
    out: list[Problem] = []
    if c.missing_from_dashboard:
        out.append(fail("missing-from-dashboard",
                        f"{c.missing_from_dashboard} internal customer(s) are not in the dashboard "
                        "(missed referrals? write them out with --missed-out)"))
    if c.other_partner:
        out.append(fail("other-partner",
                        f"{c.other_partner} customer(s) are attributed to a partner other than {partner!r}"))
    if c.pending:
        out.append(warn("pending", f"{c.pending} customer(s) wait on approval or fulfilment in the dashboard"))
    if c.declined:
        out.append(warn("declined", f"{c.declined} customer(s) in both files have a declined status in the "
                                    "dashboard (declined, rejected or cancelled: no commission for the partner)"))
    if c.outside_window:
        out.append(warn("outside-window", f"{c.outside_window} customer(s) signed up more than {window_days} "
                                          "days after the click (outside the attribution window)"))
    if c.key_conflicts:
        cols = {r.side: r.column for r in ev.column_roles if r.field == "customer_key"}
        out.append(warn("key-conflict", f"{c.key_conflicts} pair(s) matched by the same e-mail although their "
                                        f"customer_key differs (internal column {cols.get('internal')!r}, "
                                        f"dashboard column {cols.get('dashboard')!r}). {_KEY_HINT}"))
    if c.duplicate_keys:
        out.append(warn("duplicate-keys", f"{c.duplicate_keys} key(s) appear on more than one row of the same "
                                          "file (paired one to one in file order; see duplicates)"))
    if c.date_unreadable:
        first = ev.date_unreadable[0] if ev.date_unreadable else None
        example = f", e.g. {first.value!r} ({first.side} column {first.column!r}, line {first.line})" if first else ""
        out.append(warn("date-unreadable", f"{c.date_unreadable} date(s) could not be read{example}: the rows are "
                                           "kept with the date unknown (see date_unreadable and date_rules)"))
    if c.rejected:
        out.append(warn("rejected-rows", f"{c.rejected} row(s) could not be read "
                                         f"({c.rejected_dashboard} dashboard, {c.rejected_internal} internal; see rejected)"))
    return out


def _about_the_customer(a: CustomerAnswer, partner: str | None, window_days: int,
                        mine: CustomerRows) -> list[Problem]:
    who = f"customer {a.query!r}"
    out: list[Problem] = []
    if a.bucket is None:
        out.append(fail("customer-not-found", f"{who} is in neither the internal records nor the dashboard"))
    elif a.bucket == "missing_from_dashboard":
        out.append(fail("missing-from-dashboard",
                        f"{who} signed up ({a.signup_date or 'date unknown'}) but is not in the dashboard: "
                        "PartnerStack never got this customer (add the customer with --missed-out)"))
    elif a.bucket == "other_partner":
        out.append(fail("other-partner",
                        f"the dashboard attributes {who} to partner {a.dashboard_partner_key!r}, not {partner!r}"))
    elif a.bucket == "pending":
        out.append(warn("pending", f"{who} is in the dashboard with status {a.dashboard_status!r}: "
                                   "it waits on the company (approval or fulfilment)"))
    elif a.bucket == "dashboard_only":
        out.append(warn("dashboard-only", f"{who} is in the dashboard but not in the internal records"))
    if a.dashboard_status_class == STATUS_DECLINED:
        out.append(warn("declined", f"{who} is in the dashboard with status {a.dashboard_status!r}: the "
                                    "referral was declined, so it earns the partner nothing"))
    if a.outside_window:
        out.append(warn("outside-window", f"{who} signed up {a.days_click_to_signup} days after the click, "
                                          f"outside the {window_days}-day attribution window"))
    if a.key_conflict:
        out.append(warn("key-conflict", f"{who}: {a.note}. {_KEY_HINT}"))
    if mine.duplicates:
        d = mine.duplicates[0]
        out.append(warn("duplicate-keys", f"{who}: {d.kind} {d.value!r} appears on {d.rows} rows of the {d.side} "
                                          "file (paired one to one in file order; see duplicates)"))
    if mine.unreadable:
        u = mine.unreadable[0]
        out.append(warn("date-unreadable", f"{who}: {len(mine.unreadable)} date(s) on the customer's rows could not "
                                           f"be read, e.g. {u.value!r} ({u.side} column {u.column!r}, line {u.line}): "
                                           "kept with the date unknown (see date_rules)"))
    if mine.rejected:
        r = mine.rejected[0]
        out.append(warn("rejected-rows", f"{len(mine.rejected)} row(s) that could not be read name {who}, e.g. "
                                         f"{r.side} line {r.line} ({r.reason}): the customer's record there may be "
                                         "one of them (see rejected)"))
    return out
