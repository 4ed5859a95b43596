"""Rules about the company's side: the link, the landing page, the snippet and its cookie."""

from __future__ import annotations

from diagnose.core.partnerstack import is_test_partner, key_status
from diagnose.rules.common import (REPLY_FIXING, asking_partner, broken_landing, broken_link,
                                   key_lost_before_page, snippet_ran, static_snippet_missing, webkit)
from diagnose.rules.engine import Facts, Outcome, Reply, Verdict, rule

C, L, P, R, T = Verdict.CONFIRMED, Verdict.LIKELY, Verdict.POSSIBLE, Verdict.RULED_OUT, Verdict.CANNOT_TELL


@rule(
    "wrong-partner-link",
    title="The link belongs to another partner",
    explanation="The partner key carried by the link decodes to a different partner than the one on the "
    "ticket, so any signup through it is credited to that other partner (or to the test partner).",
    next_steps=(
        "Search the decoded partner key under All Partners to see whose link this is.",
        "Send the partner their own link (Partner dashboard > Links); if the customer clicked this one, the "
        "attribution is correct as it stands.",
    ),
    requires=("link",),
    priority=40,
    reply=Reply(
        found="The link the customer used is not one of your referral links: it does not carry your partner "
        "details (it belongs to another partner account, or was changed on its way to the customer), so the "
        "signup could not be credited to you.",
        partner_can="Please share your links exactly as they appear under Links in your PartnerStack dashboard, "
        "without editing them. If you know how the customer came across the link they used, tell us and we "
        "will take another look.",
        credit=False,
    ),
)
def wrong_partner_link(f: Facts) -> Outcome:
    partner = asking_partner(f)
    key = f.get("link", "partner_key")
    if partner is None:
        return Outcome(T, "the ticket does not say which partner is asking (partner_key)")
    if key is None:
        return Outcome(T, "the link carries no readable partner key")
    if is_test_partner(key):
        return Outcome(C, "the link is the program's test-partner link (gstest), not the partner's own")
    if key != partner:
        known = f.get("partner", "link_partner_found")  # with --api: is the link's key a partner at all?
        whose = {True: ", another partner of the program", False: ", which is no partner of this program "
                 "(an edited or mistyped link)"}.get(known, "")
        return Outcome(C, f"the link's key decodes to {key!r}{whose}; the ticket's partner is {partner!r}")
    return Outcome(R, f"the link's key decodes to {key!r}, the ticket's partner")


@rule(
    "link-broken",
    title="The link never reaches a working landing page",
    explanation="Following the link ends in an error page, a redirect loop, too many redirects or an address "
    "no browser should visit, so no customer can land and be tracked.",
    next_steps=(
        "Open the link yourself and fix the destination configured for it in PartnerStack (or the redirect "
        "rules of the site it lands on).",
        "Check again that the link lands on a working page whose address carries gspk / ps_partner_key.",
    ),
    requires=("link",),
    priority=45,
    reply=Reply(
        found="Your referral link does not open our website at the moment: it ends on an error, or in redirects "
        "that never end, instead of on our page, so nobody arriving through it could be tracked.",
        we_do=REPLY_FIXING + " We will let you know as soon as the link works again.",
        credit=True,
    ),
)
def link_broken(f: Facts) -> Outcome:
    if found := broken_link(f):
        words, said = found
        return Outcome(C, f"following the link ends in {words}" + (f": {said}" if said else ""))
    if not f.get("link", "completed", False):
        return Outcome(T, "the link did not reach a landing page")
    return Outcome(R, "the link lands on a page that answers normally")


@rule(
    "params-dropped",
    title="The partner parameters don't survive the redirects",
    explanation="The landing page must receive gspk / ps_partner_key (and gsxid / ps_xid) in its URL for "
    "PartnerStackJS to remember the partner. A redirect on the way that drops the query string - a "
    "canonical-URL, language or https redirect, for instance - loses the referral before it can be stored.",
    next_steps=(
        "Make the named redirect keep the query string (or point the link's destination at the final URL).",
        "Follow the link again and check that the landing page's address carries gspk and gsxid.",
        "Missed customers in the meantime can be added by hand or imported.",
    ),
    requires=("link",),
    priority=50,
    reply=Reply(
        found="On its way to our website, your link passes through a redirect of ours that strips off your "
        "referral details, so our tracking never saw them.",
        we_do=REPLY_FIXING,
        credit=True,
    ),
)
def params_dropped(f: Facts) -> Outcome:
    if f.problem("link", "params-dropped"):
        hop = f.get("link", "dropped_at_hop")
        return Outcome(C, f"hop {hop} redirected without {', '.join(f.get('link', 'dropped_params', ()))}")
    if broken := broken_landing(f):  # (a redirect that dropped them on the way is still named above)
        return Outcome(T, f"the link ends in {broken}, not on a landing page: whether the partner "
                          "parameters reach it can be told once the link lands")
    if f.problem("link", "no-partner-key"):
        return Outcome(C, "the link lands without any gspk or ps_partner_key")
    if not f.get("link", "completed", False):
        return Outcome(T, "the link did not reach a landing page")
    return Outcome(R, "the landing URL carries the partner key")


_KEY_WORDS = {"missing": "missing", "placeholder": "a placeholder", "malformed": "malformed",
              "mismatch": "another program's"}


def _not_the_landing(f: Facts) -> Outcome | None:
    """cannot-tell when the link never reaches its landing page (what the page it ends on lacks is not
    the landing page's integration: the link is broken first)."""
    if broken := broken_landing(f):
        return Outcome(T, f"the link ends in {broken}, not on its landing page, whose snippet could not be "
                          "looked at")
    return None


@rule(
    "case-9",
    case=9,
    title="Safari customer, and no snippet on the landing page",
    explanation="Safari (and every browser on iPhone and iPad) only keeps a referral cookie that the snippet "
    "writes on the page the link lands on. When the link's destination has no snippet, nothing is stored "
    "and the signup arrives without a partner.",
    next_steps=(
        "Put the snippet on every page partners can link to, or have partners use the default landing page "
        "(which has it).",
        "For this customer: confirm the referral, then add the customer and record the sale by hand, "
        "attributed to the partner.",
    ),
    requires=("snippet|cookie",),
    priority=55,
    reply=Reply(
        found="The customer used Safari, or a browser on an iPhone or iPad. Those browsers keep a referral only "
        "when our tracking code runs on the page your link opens, and that page is missing it.",
        we_do=REPLY_FIXING,
        partner_can="Until that is done, links to our main landing page are the safer choice for visitors on "
        "Safari, iPhone and iPad.",
        credit=True,
    ),
)
def case_9(f: Facts) -> Outcome:
    safari = webkit(f)
    if safari is False:
        return Outcome(R, "the customer did not use Safari or an iOS browser")
    if off := _not_the_landing(f):
        return off
    ran = snippet_ran(f)
    missing = ran is False or (ran is None and static_snippet_missing(f))
    if not missing:
        if ran:
            return Outcome(R, "PartnerStackJS runs on the landing page")
        return Outcome(P if safari else T, "the snippet is in the page's HTML; whether it runs needs the browser check")
    if safari is None:
        return Outcome(P, "the landing page has no snippet; the ticket does not say which browser was used")
    return Outcome(C if ran is False else L, "Safari customer, and the landing page has no snippet")


@rule(
    "case-4",
    case=4,
    title="The JS snippet integration is broken",
    explanation="PartnerStackJS is missing from the landing page, commented out, fails to load, or loads "
    "without storing the partner: the site's code changed and the integration broke with it.",
    next_steps=(
        "Put the snippet back in the <head> of every landing page (and check that its script loads).",
        "Test it with PartnerStack's snippet tester (Integrations tab), or follow a partner link in a private "
        "window and look for the growSumoPartnerKey cookie.",
        "Talk to your CSM or PartnerStack support if a recent code change is the suspect; then add the "
        "missed customers by hand or by import.",
    ),
    requires=("snippet|cookie",),
    priority=60,
    reply=Reply(
        found="Our tracking code was not working on the page your link opens, so the customer's visit through "
        "your link was never recorded.",
        we_do=REPLY_FIXING,
        credit=True,
    ),
)
def case_4(f: Facts) -> Outcome:
    if off := _not_the_landing(f):
        return off
    if f.available("cookie"):
        if f.problem("cookie", "snippet-script-failed"):
            return Outcome(C, "the PartnerStack script request failed on the landing page")
        ran = snippet_ran(f)
        if ran is False:
            where = " (not in the HTML either)" if static_snippet_missing(f) else ""
            return Outcome(C, f"PartnerStackJS never loaded on the landing page{where}")
        if f.problem("cookie", "no-partner-cookie") and not (
            f.problem("cookie", "consent-gated") or f.problem("cookie", "growsumo-data-overwritten")
        ):
            if key_lost_before_page(f):
                return Outcome(R, "PartnerStackJS loaded; no partner key reached the landing page for it to store")
            if f.get("link", "params") or f.get("cookie", "url_partner_key"):
                return Outcome(L, "the script loaded but no partner cookie was written")
        if f.get("cookie", "partner_cookie") is None:
            return Outcome(R, "PartnerStackJS loaded; no partner cookie, for a reason outside the snippet "
                              "(consent, no partner key in the URL, or code replacing its data)")
        return Outcome(R, "PartnerStackJS loaded and stored the partner")
    if f.problem("snippet", "snippet-commented-out"):
        return Outcome(C, "the snippet is commented out of the landing page")
    if f.problem("snippet", "no-snippet"):
        return Outcome(L, "no snippet in the landing page's HTML (a runtime injection was not checked)")
    f.get("snippet", "snippet_found")
    return Outcome(P, "the snippet is in the HTML; whether it runs needs the browser check")


@rule(
    "case-8",
    case=8,
    title="The snippet has no valid public_key",
    explanation="growsumo._initialize must be called with the program's public key (pk_ and 32 letters or "
    "digits). An empty string, a placeholder, an unrendered template or another program's key means the "
    "activity is not tied to your program or its partners.",
    next_steps=(
        "Put your program's public key (Settings > Integrations) into the snippet, rendered, not as a "
        "template variable.",
        "Check the deployed page, not the source: templates that don't render show up only there.",
        "Then add the customers missed in the meantime.",
    ),
    requires=("snippet|cookie",),
    priority=65,
    reply=Reply(
        found="The tracking code on the page your link opens was missing a setting it needs, so the visits it "
        "saw could not be connected to our program, or to you.",
        we_do=REPLY_FIXING,
        credit=True,
    ),
)
def case_8(f: Facts) -> Outcome:
    def got(key, status: str) -> str:  # what _initialize received, in words: never a bare None
        if key is None:
            return "no public key"
        if not str(key).strip():
            return "an empty public key"
        words = {"placeholder": "a placeholder or unrendered template", "malformed": "a malformed key",
                 "mismatch": "another program's key"}
        return f"{words.get(status, 'the key')} {key!r}"

    def program() -> str:
        expected = f.fact("expected_public_key")
        return f"your program's {expected!r}" if expected else "your program's key"

    if f.available("cookie") and f.get("cookie", "growsumo.loaded") and f.get("cookie", "growsumo.initialize_called"):
        if f.problem("cookie", "initialized-with-other-key"):
            key = f.get("cookie", "growsumo.public_key")
            return Outcome(C, f"_initialize was called with {got(key, 'mismatch')}, not {program()}")
        key = f.get("cookie", "growsumo.public_key")
        status, _ = key_status(repr(key) if key is not None else "", f.fact("expected_public_key"))
        if status in ("missing", "placeholder", "malformed", "mismatch"):
            return Outcome(C, f"at runtime _initialize got {got(key, status)} ({status})")
        if status == "ok":
            return Outcome(R, f"at runtime _initialize got a valid key {key!r}")
    status = f.get("snippet", "public_key_status")
    if status in ("missing", "placeholder", "malformed", "mismatch"):
        key = f.get("snippet", "public_key")
        instead = f", not {program()}" if status == "mismatch" else ""
        return Outcome(C, f"the snippet's public key is {_KEY_WORDS[status]}: the page's HTML gives _initialize "
                          f"{got(key, status)}{instead}")
    if status == "ok":
        return Outcome(R, "the snippet passes a well-formed public key")
    return Outcome(T, "no snippet key could be read" if status is None else "the key is a JS expression")


@rule(
    "case-7",
    case=7,
    title="Site code overwrites growsumo.data",
    explanation="PartnerStackJS keeps the partner key in growsumo.data. Site code that replaces that object "
    "(instead of setting its name, email and customer_key fields) throws the partner key away, and the "
    "signup goes out unattributed.",
    next_steps=(
        "Set fields on growsumo.data (growsumo.data.email = ...) instead of replacing the object, then call "
        "growsumo.createSignup().",
        "Ask your CSM or PartnerStack support for an action plan, and add the customers missed meanwhile.",
    ),
    requires=("snippet|cookie",),
    priority=70,
    reply=Reply(
        found="Another script on our website overwrote the referral details our tracking code had just stored, "
        "so the signup was sent on without them.",
        we_do=REPLY_FIXING,
        credit=True,
    ),
)
def case_7(f: Facts) -> Outcome:
    if off := _not_the_landing(f):
        return off
    if f.available("cookie") and f.get("cookie", "growsumo.loaded"):
        if f.problem("cookie", "growsumo-data-overwritten"):
            return Outcome(C, "after the page settled, growsumo.data no longer held the partner key")
    if key_lost_before_page(f):
        return Outcome(R, "no partner key reached the landing page, so growsumo.data had none to keep")
    if f.problem("snippet", "growsumo-data-overwritten"):
        return Outcome(L, "the page's code assigns growsumo / growsumo.data: "
                          + "; ".join(f.get("snippet", "data_overwrites", ())[:2]))
    if f.available("cookie") and f.get("cookie", "growsumo.data_intact"):
        return Outcome(R, "growsumo.data still held the partner key after the page settled")
    if snippet_ran(f) is False:
        return Outcome(R, "no snippet ran, so there is no growsumo.data to overwrite")
    if f.available("cookie"):
        # data_intact is None: the URL carried no partner key, so the runtime check had nothing to compare.
        if f.available("snippet"):
            return Outcome(P, "no code replacing growsumo.data in the HTML; at runtime the URL carried no "
                              "partner key to compare")
        return Outcome(T, "the URL carried no partner key, so growsumo.data could not be compared")
    return Outcome(P, "no code replacing growsumo.data was found in the HTML")


@rule(
    "cookie-not-readable-at-signup",
    title="The signup page can't read the partner cookie",
    explanation="The partner cookie is written for the landing page's host. When the signup form lives on "
    "another host (www.example.com versus app.example.com) or path, a host-only cookie is not sent there "
    "and createSignup has no partner to report.",
    next_steps=(
        "Load the snippet on the signup host too, and make the cookie apply to the parent domain "
        "(.example.com), or send partner_key from the landing host to the signup page yourself.",
        "Check again from a private window: land through the link, then open the signup page and look for "
        "the growSumoPartnerKey cookie there.",
    ),
    requires=("cookie",),
    priority=75,
    reply=Reply(
        found="Your link opens one part of our website, but customers sign up on another part, where the "
        "referral stored on arrival cannot be read. The signup therefore reached us without your details.",
        we_do=REPLY_FIXING,
        credit=True,
    ),
)
def cookie_not_readable(f: Facts) -> Outcome:
    if f.fact("signup_url") is None and f.get("cookie", "signup") is None:
        return Outcome(T, "the ticket has no signup_url to check against")
    # Without a partner cookie the check reports "not readable" too: that is another cause, not this one.
    if f.get("cookie", "partner_cookie") is None:
        return Outcome(T, "no partner cookie was written, so there is nothing to send")
    if f.problem("cookie", "cookie-not-readable-at-signup"):
        return Outcome(C, f"the partner cookie is not sent to {f.get('cookie', 'signup.url') or f.fact('signup_url')}")
    if not f.get("cookie", "signup.readable", False):
        return Outcome(T, "the cookie check did not test the signup page")
    return Outcome(R, "the partner cookie would be sent to the signup page")


@rule(
    "integration-healthy",
    title="The integration works for this link",
    explanation="The link lands with the partner key, PartnerStackJS runs with a valid key and stores the "
    "partner in a 90-day cookie, and nothing overwrites it: a customer following this link today in a "
    "Chromium browser would be tracked (Safari keeps the cookie 7 days at most). A missed referral then "
    "comes from the customer's side or from the records.",
    next_steps=(
        "Look for the cause on the customer's side (the other findings, and the questions, where the report "
        "lists any).",
        "If the partner's referral is confirmed, add the customer and record the sale by hand.",
    ),
    requires=("link", "cookie"),
    priority=100,
    kind="status",
    reply=Reply(
        found="We followed the link ourselves, and our tracking works: the link opens our website, and the "
        "referral details it carries are stored as they should be.",
    ),
)
def integration_healthy(f: Facts) -> Outcome:
    failing = []
    for name in ("link", "snippet", "cookie"):
        status = f.status(name)
        if status == "fail":
            codes = [c for c in ("no-snippet",) if name == "snippet" and f.problem("snippet", c)]
            if codes and f.get("cookie", "growsumo.loaded"):
                continue  # injected at runtime: the static miss doesn't matter
            failing.append(name)
    if f.available("cookie") and f.get("cookie", "partner_cookie") is None:
        failing = [name for name in failing if name != "cookie"] + ["cookie (no partner cookie)"]
    if failing:
        return Outcome(R, f"failing: {', '.join(dict.fromkeys(failing))}")
    if any(f.status(n) == "warn" for n in ("link", "snippet", "cookie")):
        return Outcome(L, "every check passed, with warnings")
    return Outcome(C, "link, snippet and cookie checks all passed")
