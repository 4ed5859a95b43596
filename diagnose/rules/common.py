"""Shared readings of the evidence that several rules need (pure functions of Facts)."""

from __future__ import annotations

from diagnose.core.partnerstack import STATUS_DECLINED, dashboard_status_class, is_webkit
from diagnose.rules.engine import Facts


STEPS_ADD_CUSTOMER = (
    "Confirm that the partner really referred this customer (ask the customer, or ask the partner for proof).",
    "Then add the customer in PartnerStack (Referrals > Add Customer), attributed to this partner, and record "
    "their purchases so that the partner's offer pays out; with a payment-webhook integration include the "
    "customer_key and the provider_key so that later payments track on their own.",
    "Alternatively pay a one-off manual commission from the partner's page, or import the missed customers "
    "in bulk.",
)

# What the partner is told the company does about a fault in its own integration (the same words for all
# of them, so that two faults found together say it once).
REPLY_FIXING = ("This was a fault on our side; neither you nor the customer did anything wrong. We are fixing "
                "our tracking now, so that referrals through your link are recorded again.")


def webkit(f: Facts) -> bool | None:
    """Did the customer use Safari / an iOS browser? None when the ticket doesn't say."""
    return is_webkit(*(f.fact(k) for k in ("click_browser", "click_device", "signup_browser", "signup_device")))


def snippet_ran(f: Facts) -> bool | None:
    """Did PartnerStackJS load on the landing page? Runtime evidence first, then static HTML."""
    if f.available("cookie"):
        loaded = f.get("cookie", "growsumo.loaded")
        if loaded is not None:
            return bool(loaded)
        if f.problem("cookie", "snippet-not-loaded"):
            return False
    if f.available("snippet"):
        f.get("snippet", "snippet_found")
        # Missing from the HTML may still be injected at runtime (a tag manager), and present in the HTML
        # may still not run: either way only the browser can tell (see static_snippet_missing).
        return None
    return None


# How a link can fail to reach a working landing page (the link check's codes), in words.
_BROKEN_LINK = {
    "redirect-loop": "a redirect loop",
    "too-many-redirects": "too many redirects",
    "http-error": "an error page",
    "invalid-url": "an address no browser can open",
}


def broken_link(f: Facts) -> tuple[str, str | None] | None:
    """How the link check found the link failing to reach a working landing page: (in words, the
    check's own message), or None."""
    for code, words in _BROKEN_LINK.items():
        if f.problem("link", code):
            return words, f.message("link", code)
    return None


def broken_landing(f: Facts) -> str | None:
    """How the link fails to reach a working landing page (words for a reason), or None. The page it
    ends on - an error page, or none - is not the landing page: what that page lacks (a snippet, the
    partner parameters, a cookie) says nothing of the landing page's integration."""
    if found := broken_link(f):
        return found[0]
    if f.problem("snippet", "http-error"):  # (the snippet check read the page the link ended on)
        return "an error page"
    return None


def static_snippet_missing(f: Facts) -> bool:
    return f.problem("snippet", "no-snippet") or f.problem("snippet", "snippet-commented-out")


def asking_partner(f: Facts) -> str | None:
    """The partner who asks: the ticket's partner_key, else the key the API found for its partner_email."""
    partner = f.fact("partner_key")
    if partner is None and f.fact("partner_email") is not None and f.get("partner", "found"):
        partner = f.get("partner", "partner_key")
    return partner


def customer_record(f: Facts):
    """The reconcile check's answer for the ticket's customer, or None."""
    return f.get("reconcile", "customer")


def tracked_for_partner(f: Facts) -> bool:
    """The customer is in the dashboard, attributed to the ticket's partner, nothing pending."""
    c = customer_record(f)
    if c is None:
        return False
    bucket = f.get("reconcile", "customer.bucket")
    # dashboard_only: in the dashboard for this partner, missing from an incomplete internal export
    return bucket in ("matched", "dashboard_only") and _same_partner(f) and not declined(f)


def declined(f: Facts) -> bool:
    """The dashboard's status for the customer says the referral was declined."""
    said = f.get("reconcile", "customer.dashboard_status_class")  # evidence saved before it existed: the text
    return (said or dashboard_status_class(f.get("reconcile", "customer.dashboard_status"))) == STATUS_DECLINED


def _same_partner(f: Facts) -> bool:
    partner = asking_partner(f)
    attributed = f.get("reconcile", "customer.dashboard_partner_key")
    return partner is None or attributed is None or attributed == partner


def days_click_to_signup(f: Facts) -> int | None:
    click, signup = f.fact("click_date"), f.fact("signup_date") or f.fact("purchase_date")
    if click and signup:
        return f.ticket.days_click_to_signup
    return f.get("reconcile", "customer.days_click_to_signup")


def key_lost_before_page(f: Facts) -> bool:
    """The partner key never reached the landing page (dropped by a redirect, or never added)."""
    return f.problem("link", "params-dropped") or f.problem("link", "no-partner-key") or \
        f.problem("cookie", "no-partner-key-in-url")
