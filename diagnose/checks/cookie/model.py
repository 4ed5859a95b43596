"""The cookie check's evidence: what one visit saw, as frozen dataclasses (saved, loaded back, and
read by the rules). ``CookieEvidence`` is registered as the evidence of the ``cookie`` check."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from diagnose.core.evidence import CheckResult, Status, evidence, sensitive, worst

POLICIES = ("chromium", "no-cookies", "safari-itp")
SIMULATION_NOTE = ("safari-itp is a simulation on Chromium, not Safari: WebKit's documented ITP caps "
                   "are applied to the cookies the page's scripts wrote")
MAX_LIST = 50  # longest list kept in the evidence


@dataclass(frozen=True)
class Hop:
    url: str
    status: int | None
    via: str  # "start", "http-redirect", "refresh-header", "script-or-meta"


@dataclass(frozen=True)
class Cookie:
    name: str
    value: str = sensitive("secret")
    domain: str
    path: str
    expires_days: float | None  # days from now; None for a session cookie
    http_only: bool
    secure: bool
    same_site: str
    written_by_script: bool = False


@dataclass(frozen=True)
class PartnerCookie:
    name: str
    value: str = sensitive("secret")
    domain: str
    path: str
    expires_days: float | None
    same_site: str
    secure: bool
    http_only: bool
    matches_url_key: bool | None = None  # None when the URL carries no partner key
    effective_days: float | None = None  # lifetime under the policy (ITP caps applied)
    simulated: bool = False  # True when effective_days comes from the safari-itp simulation


@dataclass(frozen=True)
class InitCall:
    object: str
    public_key: str | None
    called_from: str | None


@dataclass(frozen=True)
class Growsumo:
    loaded: bool = False  # window.growsumo / partnerstack defined with _initialize
    global_name: str | None = None
    initialize_called: bool = False
    public_key: str | None = None  # the key _initialize was actually called with (first call)
    data_partner_key: str | None = sensitive("partner", default=None)  # growsumo.data.partner_key once the page settled
    data_partner_key_after_init: str | None = sensitive("partner", default=None)
    data_intact: bool | None = None  # None when the URL carries no partner key to compare
    replaced_by: tuple[str, ...] = ()  # site code that replaced growsumo / growsumo.data


@dataclass(frozen=True)
class SnippetSeen:
    in_dom: bool = False
    how: str | None = None  # "static" (in the server's HTML) or "injected" (added at runtime)
    kind: str | None = None  # "inline" (an _initialize call) or "script-src"
    script_src: str | None = None
    script_type: str | None = None
    in_head: bool | None = None
    injected_by: str | None = None  # the script that inserted the PartnerStack script


@dataclass(frozen=True)
class FailedRequest:
    url: str
    status: int | None
    error: str | None
    snippet: bool


@dataclass(frozen=True)
class ConsentManager:
    name: str
    seen_by: str  # "script <host>" or "global <name>"


@dataclass(frozen=True)
class Signup:
    url: str
    readable: bool
    reason: str


@evidence("cookie")
@dataclass(frozen=True)
class CookieEvidence:
    url: str
    policy: str = "chromium"
    simulated: bool = False
    note: str | None = None
    final_url: str | None = None
    page_title: str | None = None
    chain: tuple[Hop, ...] = ()
    url_partner_key: str | None = sensitive("partner", default=None)  # decoded from gspk / ps_partner_key in the chain
    url_partner_key_error: str | None = None
    partner_cookie: PartnerCookie | None = None
    cookies: tuple[Cookie, ...] = ()
    cookie_writes_blocked: tuple[str, ...] = ()  # names the page tried to write under no-cookies
    itp_cap_days: float | None = None
    itp_cap_reason: str | None = None
    growsumo: Growsumo = dataclasses.field(default_factory=Growsumo)
    init_calls: tuple[InitCall, ...] = ()  # every _initialize call: key and calling script
    snippet: SnippetSeen = dataclasses.field(default_factory=SnippetSeen)
    consent_managers: tuple[ConsentManager, ...] = ()
    partner_cookie_before_consent: bool | None = None
    signup: Signup | None = None
    failed_requests: tuple[FailedRequest, ...] = ()
    js_errors: tuple[str, ...] = ()
    blocked_private: tuple[str, ...] = ()
    settled: bool = False
    elapsed_ms: int = 0
    screenshot: str | None = sensitive("path", default=None)
    har: str | None = sensitive("path", default=None)
    browser: str | None = None


@dataclass(frozen=True)
class CookieRun:
    """Several cookie results (``--policy all``): JSON ``{"status": ..., "results": [...]}``."""

    results: tuple[CheckResult[CookieEvidence], ...]

    @property
    def status(self) -> Status:
        return worst(r.status for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"status": str(self.status), "results": [r.to_dict() for r in self.results]}
