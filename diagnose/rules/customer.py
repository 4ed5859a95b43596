"""Rules on the customer's side (cases 2, 3, 5, 6, 10): mostly what the ticket says happened.

None of them can be seen from the company's side alone; when the ticket is silent they stay
``possible`` and the report lists the question that would settle them.
"""

from __future__ import annotations

import re

from diagnose.core.partnerstack import PARTNERSTACK, SAFARI_SCRIPT_COOKIE_DAYS
from diagnose.rules.common import STEPS_ADD_CUSTOMER, days_click_to_signup, declined, tracked_for_partner, webkit
from diagnose.rules.engine import Facts, Outcome, Reply, Verdict, rule

C, L, P, R, T = Verdict.CONFIRMED, Verdict.LIKELY, Verdict.POSSIBLE, Verdict.RULED_OUT, Verdict.CANNOT_TELL


def _tracked(f: Facts) -> Outcome | None:
    if tracked_for_partner(f):
        return Outcome(R, "the customer is tracked for this partner")
    if declined(f) and f.get("reconcile", "customer.found_dashboard", False):
        return Outcome(R, "the referral reached PartnerStack (and was declined there)")
    return None


@rule(
    "case-5",
    case=5,
    title="The referral cookie had expired",
    explanation="The partner cookie lasts 90 days from the click (a later click on another partner's link "
    "replaces it). Signing up after it expired leaves no partner to credit. Safari and iOS browsers cap "
    "script-written cookies at 7 days (24 hours in some cases), far below the 90.",
    next_steps=STEPS_ADD_CUSTOMER,
    priority=36,
    user_side=True,
    question="On what date did the customer first click the partner's link?",
    reply=Reply(
        found=f"The customer signed up after your referral had run out in their browser. A click on your link "
        f"is remembered for {PARTNERSTACK.cookie_days} days (Safari, and any browser on an iPhone or iPad, may "
        f"forget it after {SAFARI_SCRIPT_COOKIE_DAYS:g} days or sooner), and more time than that passed between "
        "the click and the signup.",
        partner_can="Customers who sign up soon after clicking are the most reliably tracked. If someone comes "
        "back to us much later, sending them your link again starts the count afresh.",
        ask="When did the customer first click your link?",
        credit=True,
    ),
)
def case_5(f: Facts) -> Outcome:
    tracked = _tracked(f)
    if tracked:
        return tracked
    if f.problem("reconcile", "outside-window"):
        days = days_click_to_signup(f)
        return Outcome(C, f"the records put {days} days between click and signup" if days else
                          "the records put the signup outside the attribution window")
    days = days_click_to_signup(f)
    if days is None:
        return Outcome(P, "the ticket has no click date to compare with the signup date")
    window = PARTNERSTACK.cookie_days
    if days > window:
        return Outcome(C, f"{days} days between click and signup, beyond the {window}-day cookie")
    lifetime = f.get("cookie", "partner_cookie.expires_days")
    if lifetime is not None and lifetime < days:
        return Outcome(C, f"the site's partner cookie lives {lifetime:.0f} days; the signup came {days} days after the click")
    safari = webkit(f)
    if safari:
        itp = f.get("cookie-safari-itp", "partner_cookie.effective_days")
        limit = min(SAFARI_SCRIPT_COOKIE_DAYS, itp) if itp is not None else SAFARI_SCRIPT_COOKIE_DAYS
        if days > limit:
            cap = f" (simulated lifetime {itp:.1f} days)" if itp is not None else ""
            return Outcome(L, f"Safari/iOS caps the cookie at {SAFARI_SCRIPT_COOKIE_DAYS:g} days{cap}; the signup came {days} days after the click")
    if safari is None and days > SAFARI_SCRIPT_COOKIE_DAYS:
        return Outcome(P, f"{days} days between click and signup: beyond Safari's {SAFARI_SCRIPT_COOKIE_DAYS:g}-day cap, and the "
                          "ticket does not say which browser was used")
    return Outcome(R, f"{days} days between click and signup, within the cookie's lifetime")


@rule(
    "case-6",
    case=6,
    title="Different browser or device for click and signup",
    explanation="The partner cookie lives in the browser that clicked the link. Signing up in another "
    "browser, or on another device, starts without it.",
    next_steps=STEPS_ADD_CUSTOMER,
    priority=34,
    user_side=True,
    question="Did the customer sign up in the same browser, on the same device, as they clicked the link?",
    reply=Reply(
        found="The customer clicked your link in one browser or on one device, and signed up in another. Your "
        "referral is remembered only by the browser in which the link was opened, so the signup reached us "
        "without it.",
        partner_can="When you can, ask the people you refer to sign up in the same browser, on the same device, "
        "that they opened your link with.",
        ask="Did the customer sign up in the same browser, and on the same device, where they clicked your link?",
        credit=True,
    ),
)
def case_6(f: Facts) -> Outcome:
    tracked = _tracked(f)
    if tracked:
        return tracked
    pairs = [("click_browser", "signup_browser"), ("click_device", "signup_device")]
    known = 0
    for a, b in pairs:
        x, y = f.fact(a), f.fact(b)
        if x and y:
            known += 1
            if not _same(x, y):
                return Outcome(C, f"clicked on {x}, signed up on {y}")
    if known == len(pairs):
        return Outcome(R, "same browser and device for click and signup")
    if known:  # the same browser name on two devices is still two browsers
        return Outcome(P, "same browser (or device) for click and signup; the ticket doesn't say about the other")
    return Outcome(P, "the ticket doesn't give both the click and the signup browser/device")


def _same(a: str, b: str) -> bool:
    """The same browser or device, as people write them ("iPhone" and "iPhone 14", "Chrome" and
    "Google Chrome" are the same; "Safari" and "Chrome" are not)."""
    x, y = _words(a), _words(b)
    return bool(x) and bool(y) and (x <= y or y <= x)


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", text.lower()) if w and w not in ("google", "browser", "the", "on")}


@rule(
    "case-3",
    case=3,
    title="The customer's browser blocked the cookie",
    explanation="Tracking needs the partner cookie. A browser set to block cookies, or a visitor who "
    "declines the site's cookie banner (common in the EU under GDPR), never stores it.",
    next_steps=(
        "Nothing on the site can force cookies on; partners with many EU visitors can ask them to accept "
        "cookies when following the link.",
        "If the site's consent banner holds back the partner cookie, consider classing it as necessary for "
        "the referral programme (check with your privacy counsel).",
    ) + STEPS_ADD_CUSTOMER,
    priority=92,
    user_side=True,
    question="Does the customer's browser block cookies, or did they decline the site's cookie banner?",
    reply=Reply(
        found="The customer's browser did not keep cookies from our website: it blocks them, or the customer "
        "turned them down in our cookie banner. Referral tracking depends on a cookie, so their visit through "
        "your link could not be remembered.",
        partner_can="Many visitors, in the EU especially, turn cookies down. If much of your audience is there, "
        "it helps to mention that accepting cookies on our website is what lets us credit the referral to you.",
        ask="Does the customer's browser block cookies, or did they decline the cookie banner on our website?",
        credit=True,
    ),
)
def case_3(f: Facts) -> Outcome:
    tracked = _tracked(f)
    if tracked:
        return tracked
    blocks = f.fact("blocks_cookies")
    if blocks:
        if f.available("cookie-no-cookies") and f.get("cookie-no-cookies", "partner_cookie") is None:
            return Outcome(C, "the ticket says the customer blocks cookies, and with cookies blocked no partner "
                              "cookie is stored")
        return Outcome(C, "the ticket says the customer blocks cookies")
    if f.problem("cookie", "consent-gated"):
        return Outcome(L, "a consent manager on the landing page holds the partner cookie until the visitor accepts")
    if blocks is False:
        return Outcome(R, "the customer does not block cookies")
    return Outcome(P, "the ticket does not say whether the customer blocks cookies")


@rule(
    "case-2",
    case=2,
    title="The customer cleared cookies before signing up",
    explanation="Clearing the browser's cache and cookies between the click and the signup deletes the "
    "partner cookie, and the signup arrives without a partner.",
    next_steps=STEPS_ADD_CUSTOMER,
    priority=95,
    user_side=True,
    question="Did the customer clear their browser's cookies or history between clicking and signing up?",
    reply=Reply(
        found="The customer cleared their browser's cookies between clicking your link and signing up. That "
        "also wiped the note of your referral, so the signup reached us without it.",
        partner_can="If you are in touch with someone before they sign up, suggest they do it soon after "
        "clicking your link, in the same browser, without clearing their cookies in between.",
        ask="Did the customer clear their browser's cookies or history between clicking your link and signing up?",
        credit=True,
    ),
)
def case_2(f: Facts) -> Outcome:
    return _tracked(f) or _stated(
        f, "cleared_cookies",
        yes="the ticket says the customer cleared their cookies",
        no="the customer did not clear cookies",
        unknown="the ticket does not say whether the customer cleared cookies",
    )


@rule(
    "case-10",
    case=10,
    title="The customer typed the address instead of clicking",
    explanation="Only a click on the referral link adds the partner key to the landing URL. Typing the "
    "site's address (or searching for it) lands without one, so there is no partner to store.",
    next_steps=STEPS_ADD_CUSTOMER,
    priority=32,
    user_side=True,
    question="Did the customer click the partner's link, or type the site's address (or search for it)?",
    reply=Reply(
        found="The customer came to our website by typing our address (or by searching for us), not through "
        "your referral link. Only a visit through the link itself tells us who referred someone, so the signup "
        "reached us without your details.",
        partner_can="Encourage the people you refer to go to our website through your link itself, and to sign "
        "up in that same browser window.",
        ask="Did the customer click your link, or did they type our address (or search for us) instead?",
        credit=True,
    ),
)
def case_10(f: Facts) -> Outcome:
    return _tracked(f) or _stated(
        f, "typed_url",
        yes="the ticket says the customer typed the address instead of clicking the link",
        no="the customer clicked the link",
        unknown="the ticket does not say whether the customer clicked or typed the address",
    )


def _stated(f: Facts, key: str, *, yes: str, no: str, unknown: str) -> Outcome:
    """A yes/no fact of the ticket that explains the miss by itself when true."""
    value = f.fact(key)
    if value:
        return Outcome(C, yes)
    if value is False:
        return Outcome(R, no)
    return Outcome(P, unknown)
