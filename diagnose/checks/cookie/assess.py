"""Turning what a visit saw into problems: one small function per finding, each reading one
:class:`~diagnose.checks.cookie.observation.Observation`. They run in the order of FINDINGS, which
is the order of the problems in the result (and in saved evidence and reports)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from diagnose.checks.cookie.model import CookieEvidence
from diagnose.checks.cookie.observation import Observation
from diagnose.core.evidence import Problem, fail, warn
from diagnose.core.partnerstack import PARTNERSTACK, PUBLIC_KEY_RE
from diagnose.web import fetch as net

LIFETIME_TOLERANCE_DAYS = 1.0
_RUNNABLE_TYPES = ("text/javascript", "application/javascript", "module")


def partner_key_in_url(obs: Observation) -> Problem | None:
    if obs.url_key_error:
        return fail("invalid-gspk", f"the partner key in the URL {obs.url_key_error}")
    if not obs.url_key:
        return warn("no-partner-key-in-url",
                    "no URL along the way carries gspk or ps_partner_key, so the script has no "
                    "partner key to store (check the link with `diagnose link`)")
    return None


def snippet_ran(obs: Observation) -> Problem | None:
    failed = [f for f in obs.rec.failed if f.snippet]
    if failed:
        f = failed[0]
        what = f"HTTP {f.status}" if f.status else (f.error or "failed")
        return fail("snippet-script-failed", f"the PartnerStack script {f.url} failed to load ({what})")
    gs, seen = obs.growsumo, obs.snippet
    if gs.initialize_called:
        return None
    if not gs.loaded and not seen.in_dom and not obs.rec.snippet_requests:
        msg = "PartnerStackJS never loaded: no snippet in the rendered page and no growsumo / partnerstack object"
    elif not gs.loaded:
        msg = "the snippet is on the page but window.growsumo / partnerstack never got an _initialize function"
        if seen.script_type and seen.script_type.lower() not in _RUNNABLE_TYPES:
            msg += f" (its script has type={seen.script_type!r}, which the browser does not run)"
    else:
        msg = "growsumo is defined but _initialize was never called"
    return fail("snippet-not-loaded", msg)


def initialized_key(obs: Observation) -> Problem | None:
    """The first _initialize call with a key that is not a public key, or not the expected one."""
    for call in obs.init_calls:
        key = call.public_key
        if key is None or not PUBLIC_KEY_RE.fullmatch(key):
            return fail("initialized-with-invalid-key",
                        f"_initialize was called with {key!r}, which is not a public key (pk_ + 32 letters or digits)")
        if obs.expect_key and key != obs.expect_key:
            return fail("initialized-with-other-key", f"_initialize was called with {key}, expected {obs.expect_key}")
    return None


def partner_cookie_set(obs: Observation) -> Problem | None:
    if obs.partner is not None:
        return None
    detail = ""
    if obs.policy == "no-cookies":
        tried = [n for n in obs.writes_blocked if PARTNERSTACK.is_partner_cookie(n)]
        detail = (f"; the page tried to write {', '.join(dict.fromkeys(tried))} but cookies are blocked "
                  "(a customer with cookies blocked is not tracked)") if tried else "; cookies are blocked under this policy"
    elif not obs.url_key:
        detail = "; the URL carries no partner key"
    return fail("no-partner-cookie",
                "no partner cookie (growSumoPartnerKey, ps_partner_key or a per-program variant) was set" + detail)


def cookie_value(obs: Observation) -> Problem | None:
    partner = obs.partner
    if partner is None or partner.matches_url_key is not False:
        return None
    return fail("cookie-value-mismatch", f"{partner.name}={partner.value!r}, but the URL's partner key is {obs.url_key!r}")


def cookie_lifetime(obs: Observation) -> Problem | None:
    partner = obs.partner
    if partner is None:
        return None
    eff = partner.effective_days
    if eff is not None and eff >= PARTNERSTACK.cookie_days - LIFETIME_TOLERANCE_DAYS:
        return None
    life = "a session cookie (deleted when the browser closes)" if eff is None else f"{eff:g} days"
    why = f" under the safari-itp simulation ({obs.itp[1]})" if obs.simulated and eff != partner.expires_days else ""
    return fail("cookie-lifetime-short",
                f"{partner.name} lives {life}{why}, shorter than the {PARTNERSTACK.cookie_days}-day "
                "attribution window: a customer who signs up later is not tracked")


def growsumo_data(obs: Observation) -> Problem | None:
    gs, url_key = obs.growsumo, obs.url_key
    if not url_key or not gs.initialize_called or gs.data_partner_key == url_key:
        return None
    if gs.replaced_by or gs.data_partner_key_after_init == url_key:
        who = "; ".join(gs.replaced_by[:2]) or "site code"
        return fail("growsumo-data-overwritten",
                    f"growsumo.data.partner_key is {gs.data_partner_key!r} once the page settled, not {url_key!r}: "
                    f"{who} (signups will lose attribution)")
    if obs.partner is not None:
        return warn("growsumo-data-missing-key",
                    f"growsumo.data.partner_key is {gs.data_partner_key!r}, though the URL carries {url_key!r}")
    return None


def readable_at_signup(obs: Observation) -> Problem | None:
    signup = obs.signup
    return fail("cookie-not-readable-at-signup", signup.reason) if signup is not None and not signup.readable else None


def consent_gated(obs: Observation) -> Problem | None:
    if not obs.consent or obs.partner is not None:
        return None
    names = ", ".join(c.name for c in obs.consent)
    return fail("consent-gated",
                f"a consent manager ({names}) is on the page and no partner cookie was set before any "
                "consent choice: tracking waits for consent the customer may never give")


def private_network(obs: Observation) -> Problem | None:
    blocked, final_url = obs.rec.blocked_private, obs.final_url
    landing = urlsplit(final_url or "")
    landing_hostport = f"{landing.hostname}:{landing.port or (443 if landing.scheme == 'https' else 80)}"
    if final_url and any(b in (final_url, landing_hostport) for b in blocked):
        return fail("private-network", net.refusal(final_url))
    if blocked:
        return warn("private-network",
                    f"{len(blocked)} request(s) to non-public addresses were blocked, e.g. {blocked[0]}")
    return None


def page_settled(obs: Observation) -> Problem | None:
    if obs.settled:
        return None
    return warn("page-not-settled", "the page was still busy when the settle time ran out; inspected as it was")


FINDINGS: tuple[Callable[[Observation], Problem | None], ...] = (
    partner_key_in_url, snippet_ran, initialized_key, partner_cookie_set, cookie_value, cookie_lifetime,
    growsumo_data, readable_at_signup, consent_gated, private_network, page_settled,
)


def findings(obs: Observation, checks: Iterable[Callable[[Observation], Problem | None]] = FINDINGS) -> list[Problem]:
    return [p for check in checks if (p := check(obs)) is not None]


def assess(obs: Observation) -> tuple[CookieEvidence, list[Problem]]:
    """The evidence of the visit and the problems found in it."""
    return obs.evidence(), findings(obs)
