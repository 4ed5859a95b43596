"""The ``safari-itp`` policy: a simulation on Chromium, not Safari. WebKit ITP's documented caps on
cookies written by script (7 days; 24 hours when the landing URL is decorated and the visit came
through a cross-site redirector, the pattern ITP classifies as a tracker)."""

from __future__ import annotations

from urllib.parse import urlsplit

from diagnose.checks.cookie.model import Hop
from diagnose.checks.cookie.rfc6265 import site_of
from diagnose.core.partnerstack import SAFARI_DECORATED_DAYS, SAFARI_SCRIPT_COOKIE_DAYS

SAFARI_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.4 Safari/605.1.15")


def itp_cap(chain: list[Hop] | tuple[Hop, ...], final_url: str) -> tuple[float, str]:
    """WebKit ITP's cap on script-written cookies for a visit along ``chain`` (simulation)."""
    final = urlsplit(final_url)
    landing_site = site_of(final.hostname or "")
    decorated = bool(final.query or final.fragment)
    redirectors = [h for h in chain[:-1] if site_of(urlsplit(h.url).hostname or "") != landing_site]
    if decorated and redirectors:
        host = urlsplit(redirectors[-1].url).hostname
        return SAFARI_DECORATED_DAYS, (f"24 hours: the landing URL is decorated (query string) and the visit came "
                                    f"through {host}, a cross-site redirector that ITP classifies as a tracker")
    return SAFARI_SCRIPT_COOKIE_DAYS, "7 days: ITP caps cookies written by script (document.cookie)"


def effective_days(expires_days: float | None, cap_days: float) -> float:
    """A script-written cookie's lifetime under the cap (a session cookie gets the cap)."""
    return cap_days if expires_days is None else min(expires_days, cap_days)
