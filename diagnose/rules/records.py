"""Rules read from the records: the dashboard export against the company's own."""

from __future__ import annotations

from diagnose.core.partnerstack import STATUS_PENDING, dashboard_status_class
from diagnose.rules.common import asking_partner, customer_record, declined, tracked_for_partner
from diagnose.rules.engine import Facts, Outcome, Reply, Verdict, rule

C, L, P, R, T = Verdict.CONFIRMED, Verdict.LIKELY, Verdict.POSSIBLE, Verdict.RULED_OUT, Verdict.CANNOT_TELL


def _no_customer(f: Facts) -> Outcome | None:
    if f.fact("customer_email") is None and customer_record(f) is None:
        return Outcome(T, "the ticket names no customer (customer_email)")
    if customer_record(f) is None:
        return Outcome(T, "the records were not searched for this customer")
    return None


@rule(
    "no-signup-found",
    title="No signup for this customer in your records",
    explanation="The customer does not appear in the company's own signup or billing records, so there is no "
    "missed referral to fix yet: either they have not signed up, or under another email.",
    next_steps=(
        "Ask the partner for the exact email the customer signed up with, and the date.",
        "Search the internal records again with that; nothing needs fixing in the integration meanwhile.",
    ),
    requires=("reconcile",),
    priority=10,
    reply=Reply(
        found="We could not find anyone who signed up with us under the email address you gave. Nothing has "
        "gone wrong with the tracking of this referral, then: the customer has either not signed up yet, or "
        "signed up with a different email address.",
        we_do="For now there is nothing for us to correct.",
        partner_can="If the customer used another email address, send it to us with the approximate date they "
        "signed up, and we will look again.",
        credit=False,
        alone=True,
    ),
)
def no_signup_found(f: Facts) -> Outcome:
    missing = _no_customer(f)
    if missing:
        return missing
    if not f.get("reconcile", "customer.found_internal", False):
        if f.get("reconcile", "customer.found_dashboard", False):
            return Outcome(P, "not in the internal records, yet the dashboard has the customer: "
                              "the internal export may be incomplete")
        return Outcome(C, f"{f.get('reconcile', 'customer.query')!r} is not in the internal records")
    return Outcome(R, "the customer is in the internal records")


@rule(
    "company-action-pending",
    title="The referral waits on the company (approval or fulfilment)",
    explanation="The referral reached PartnerStack but stays hidden from the partner until the company "
    "approves it or fulfils the order (e-commerce: usually when it ships).",
    next_steps=(
        "Approve the referral or fulfil the order; it then shows in the partner's dashboard.",
        "Tell the partner it is tracked and waiting on you.",
    ),
    requires=("reconcile",),
    priority=20,
    reply=Reply(
        found="Your referral did reach us and is tracked. It is waiting for us to approve it (or, for an order, "
        "to fulfil it), and until then it does not show in your dashboard.",
        we_do="We are reviewing it now. Once it is approved, or the order is fulfilled, the customer will "
        "appear in your dashboard along with any commission it earns.",
        credit=False,
    ),
)
def company_action_pending(f: Facts) -> Outcome:
    missing = _no_customer(f)
    if missing:
        return missing
    status = f.get("reconcile", "customer.dashboard_status") or ""
    if f.get("reconcile", "customer.bucket") == "pending" or dashboard_status_class(status) == STATUS_PENDING:
        return Outcome(C, f"the dashboard status is {status.lower() or 'pending'!r}")
    return Outcome(R, "nothing in the dashboard waits on approval or fulfilment")


@rule(
    "case-1",
    case=1,
    title="The customer clicked another partner's link",
    explanation="The last referral link clicked before signing up wins. The dashboard credits this customer "
    "to another partner, whose link the customer must have clicked after this partner's.",
    next_steps=(
        "Decide case by case who should be paid: you may decline the commission on your invoice and create a "
        "manual commission for the partner you choose.",
        "To move future commissions, change the customer's attribution (Referrals > customer > Edit "
        "customer); past rewards stay where they are.",
    ),
    requires=("reconcile",),
    priority=30,
    reply=Reply(
        found="After clicking your link, the customer clicked another partner's link before signing up. A "
        "signup is credited to the last referral link clicked before it, so this one was not credited to you.",
        we_do="We decide cases like this one by one. We will look at this referral and let you know what we "
        "decide.",
        credit=False,
    ),
)
def case_1(f: Facts) -> Outcome:
    missing = _no_customer(f)
    if missing:
        return missing
    if not f.get("reconcile", "customer.found_dashboard", False):
        return Outcome(R, "the customer is not in the dashboard under any partner")
    partner = asking_partner(f)
    attributed = f.get("reconcile", "customer.dashboard_partner_key")
    if not attributed:
        return Outcome(T, "the dashboard has the customer but names no partner for it")
    if f.get("reconcile", "customer.bucket") == "other_partner" or (
        partner and attributed and attributed != partner
    ):
        return Outcome(C, f"the dashboard credits the customer to {attributed!r}")
    if partner is None:
        return Outcome(T, f"credited to {attributed!r}; the ticket does not say which partner asks")
    return Outcome(R, "the dashboard credits the customer to this partner")


@rule(
    "already-tracked",
    kind="status",
    settles=True,
    title="The customer is already tracked for this partner",
    explanation="The dashboard has this customer, attributed to this partner, with nothing pending. The "
    "partner may be filtering their Customers tab, or the program anonymises customer emails so they "
    "don't recognise it.",
    next_steps=(
        "Tell the partner the customer is tracked, with the date and status you see.",
        "If emails are anonymised in your program, give the partner another way to recognise the customer.",
    ),
    requires=("reconcile",),
    priority=25,
    reply=Reply(
        found="Good news: the customer is already in your PartnerStack account, credited to you.",
        likely="Good news: the customer is already in PartnerStack and, as far as we can tell, credited to you.",
        partner_can="If you cannot spot them, check that no filter is set on your customer list. Some programs "
        "show only part of each customer's email address, so looking them up by signup date can be easier.",
        credit=False,
        opens=True,
    ),
)
def already_tracked(f: Facts) -> Outcome:
    missing = _no_customer(f)
    if missing:
        return missing
    if tracked_for_partner(f):
        partner = asking_partner(f)
        attributed = f.get("reconcile", "customer.dashboard_partner_key")
        if partner is None or attributed is None:
            return Outcome(L, f"matched in the dashboard (credited to {attributed!r}); which partner asks, or "
                              "whom the dashboard credits, is not known")
        since = f"in the dashboard since {f.get('reconcile', 'customer.dashboard_created_at')}, " \
                f"status {f.get('reconcile', 'customer.dashboard_status')!r}"
        if not f.get("reconcile", "customer.found_internal", False):
            return Outcome(L, since + "; not in the internal records, whose export may be incomplete")
        return Outcome(C, since)
    if declined(f):
        return Outcome(R, f"the dashboard has the customer, but its status "
                          f"{f.get('reconcile', 'customer.dashboard_status')!r} says the referral was declined")
    return Outcome(R, "the customer is not tracked for this partner")


@rule(
    "referral-declined",
    title="The referral was declined in the dashboard",
    explanation="PartnerStack has the customer, but the referral carries a declined (or rejected, cancelled) "
    "status, so it earns the partner nothing; to the partner it looks as if the customer was never tracked.",
    next_steps=(
        "Check who declined the referral and why (the customer's history in the dashboard).",
        "If it was declined by mistake, approve it or re-create the commission for the partner; otherwise tell "
        "the partner why it was declined.",
    ),
    requires=("reconcile",),
    priority=22,
    reply=Reply(
        found="The customer is in our PartnerStack program, but the referral was declined on our side, so it "
        "does not count as a referral for you.",
        we_do="We are checking why it was declined. If that was a mistake, we will approve it so that the "
        "commission reaches you; if not, we will let you know the reason.",
        credit=False,
    ),
)
def referral_declined(f: Facts) -> Outcome:
    missing = _no_customer(f)
    if missing:
        return missing
    if not f.get("reconcile", "customer.found_dashboard", False):
        return Outcome(R, "the customer is not in the dashboard")
    if declined(f):
        return Outcome(C, f"the dashboard status {f.get('reconcile', 'customer.dashboard_status')!r} is a decline "
                          "(declined, rejected or cancelled)")
    return Outcome(R, "the dashboard status is not a decline")


@rule(
    "webhook-keys-missing",
    title="Payments won't track: the customer lacks customer_key or provider_key",
    explanation="With a payment-webhook integration (Stripe, Chargebee, Chargify, Recurly), a transaction "
    "is credited only to a customer that carries both its customer_key and the payment provider's "
    "provider_key. Customers added by hand without them never collect commissions on later payments.",
    next_steps=(
        "Add the provider_key (and customer_key) to the customer: edit it under Referrals, send a "
        "customer_update through the API, or re-import it with a provider_key column.",
        "Then record the payments that were missed.",
    ),
    requires=("reconcile",),
    priority=22,
    reply=Reply(
        found="A detail that connects the customer to our payment system was missing from their PartnerStack "
        "record, so their payments were not being passed on to you as commissions.",
        we_do="We are adding the missing detail on our side, and we will record the payments that were missed "
        "so that their commissions reach you.",
    ),
)
def webhook_keys_missing(f: Facts) -> Outcome:
    missing = _no_customer(f)
    if missing:
        return missing
    integration = f.fact("integration")
    if integration in ("js-snippet", "api"):
        return Outcome(R, f"the integration is {integration}, not a payment webhook")
    if not f.get("reconcile", "customer.found_dashboard", False):
        return Outcome(T, "the customer is not in the dashboard yet")
    lacking = [k for k in ("provider_key", "customer_key") if not f.get("reconcile", f"customer.{k}")]
    if not lacking:
        return Outcome(R, "the dashboard customer has customer_key and provider_key")
    if integration is None:
        return Outcome(P, f"the dashboard customer has no {' or '.join(lacking)}; the ticket doesn't say "
                          "whether payments come through a webhook")
    return Outcome(C, f"webhook integration, and the dashboard customer has no {' or '.join(lacking)}")



@rule(
    "missed-referral",
    title="A signup that never reached PartnerStack",
    explanation="The customer is in the company's own records but not in the PartnerStack dashboard: the "
    "referral was missed. The other findings say why; whatever the cause, a confirmed referral can be "
    "added by hand.",
    next_steps=(
        "Find the cause in the other findings (or with the questions, where the report lists any).",
        "Once the partner's referral is confirmed, add the customer, attributed to the partner, and record "
        "the sale; include customer_key and provider_key with a payment-webhook integration.",
    ),
    requires=("reconcile",),
    priority=101,
    kind="status",
    reply=Reply(
        found="The customer did sign up with us, but the signup never reached PartnerStack, which is why they "
        "are not in your account.",
        credit=True,
        opens=True,
    ),
)
def missed_referral(f: Facts) -> Outcome:
    missing = _no_customer(f)
    if missing:
        return missing
    if not f.get("reconcile", "customer.found_internal", False):
        return Outcome(R, "the customer is not in the internal records")
    if f.get("reconcile", "customer.found_dashboard", False):
        return Outcome(R, "the customer is in the dashboard")
    signed = f.get("reconcile", "customer.signup_date")
    return Outcome(C, "in the internal records" + (f" (signed up {signed})" if signed else "")
                      + ", not in the dashboard")
