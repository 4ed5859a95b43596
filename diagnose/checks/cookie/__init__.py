"""Check: a customer's first visit in a real browser - is the partner cookie set, and does
PartnerStackJS load and initialise with the right key? (guide: "inspect the destination URL to
ensure a cookie has been placed" and "use the JS snippet testing tool").

The URL (a referral link or a landing URL carrying gspk / ps_partner_key) is opened in a fresh,
incognito-like Chromium context under one of three policies:

* ``chromium``   - a default Chromium;
* ``no-cookies`` - cookie storage blocked (document.cookie reads "" and drops writes; Set-Cookie
  headers are stripped): what a customer with cookies blocked gets (guide case 3);
* ``safari-itp`` - a **simulation on Chromium, not Safari**: WebKit ITP's documented caps are
  applied to cookies written by script (7 days; 24 hours when the landing URL is decorated and
  the visit came through a cross-site redirector, the pattern ITP classifies as a tracker).

An init script (cookie_page.js) wraps ``_initialize`` before any page script runs, so the public
key actually used is captured whether the snippet is in the HTML or injected at runtime. The page
is settled on the events that matter (the PartnerStack script loaded and ``_initialize`` called,
cookies written, no request in flight) with a short bounded quiet window, within a hard deadline
enforced by a watchdog that stops the browser if a page hangs it.

The check by stage: ``model`` (the evidence), ``rfc6265`` (is a cookie sent to a URL; the site of a
host), ``itp`` (the Safari simulation), ``consent`` (consent managers), ``recorder`` (what the
context's pages do; the routes), ``page`` (the scripts in the page, settling, reading it),
``browse`` (one visit in the browser; the entry points), ``observation`` and ``assess`` (what was seen, and the
problems found in it).
"""

from __future__ import annotations

from diagnose.checks.cookie.browse import check_cookie, check_cookie_many, check_cookie_policies, visit
from diagnose.checks.cookie.consent import CMP_GLOBALS, CONSENT_MANAGERS, consent_managers
from diagnose.checks.cookie.itp import SAFARI_UA, itp_cap
from diagnose.checks.cookie.model import (
    POLICIES, SIMULATION_NOTE, ConsentManager, Cookie, CookieEvidence, CookieRun, FailedRequest, Growsumo, Hop,
    InitCall, PartnerCookie, Signup, SnippetSeen,
)
from diagnose.checks.cookie.page import DEFAULT_SETTLE_MS
from diagnose.checks.cookie.rfc6265 import path_match, readable_at, site_of

__all__ = [
    "CMP_GLOBALS",
    "CONSENT_MANAGERS",
    "DEFAULT_SETTLE_MS",
    "POLICIES",
    "SAFARI_UA",
    "SIMULATION_NOTE",
    "ConsentManager",
    "Cookie",
    "CookieEvidence",
    "CookieRun",
    "FailedRequest",
    "Growsumo",
    "Hop",
    "InitCall",
    "PartnerCookie",
    "Signup",
    "SnippetSeen",
    "check_cookie",
    "check_cookie_many",
    "check_cookie_policies",
    "consent_managers",
    "itp_cap",
    "path_match",
    "readable_at",
    "site_of",
    "visit",
]
