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
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from diagnose.web import fetch as net
from diagnose.web import policy as web_policy
from diagnose.web.browser import BrowserSession, BrowserUnavailable
from diagnose.core.errors import BadInput
from diagnose.web.guard_proxy import GuardProxy
from diagnose.core.evidence import CheckResult, Problem, Status, error, evidence, fail, sensitive, warn
from diagnose.core.partnerstack import (
    KNOWN_SCRIPT_HOSTS, PARTNERSTACK, PUBLIC_KEY_RE, SAFARI_DECORATED_DAYS, SAFARI_SCRIPT_COOKIE_DAYS, decode_partner_key,
    is_snippet_src, partner_params,
)

POLICIES = ("chromium", "no-cookies", "safari-itp")
DEFAULT_SETTLE_MS = 300  # quiet window while evidence is incomplete
FAST_SETTLE_MS = 40  # quiet window once the snippet ran and the cookie is written
MAX_SETTLE_S = 6.0  # longest wait after the load event
MIN_SETTLE_S = 1.0  # settling a page that loaded late may run this far past --timeout
COLLECT_S = 3.0  # reading the settled page
SCREENSHOT_S = 5.0
INTERSTITIAL_S = 1.0  # quiet window on a page with no PartnerStack evidence (a late JS redirect?)
LIFETIME_TOLERANCE_DAYS = 1.0
SAFARI_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.4 Safari/605.1.15")
SIMULATION_NOTE = ("safari-itp is a simulation on Chromium, not Safari: WebKit's documented ITP caps "
                   "are applied to the cookies the page's scripts wrote")

# Consent managers: (name, script host suffixes, globals).
CONSENT_MANAGERS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("OneTrust", ("cookielaw.org", "onetrust.com", "cookiepro.com", "optanon.blob.core.windows.net"),
     ("OneTrust", "Optanon", "OptanonActiveGroups")),
    ("Cookiebot", ("cookiebot.com", "cookiebot.eu"), ("Cookiebot",)),
    ("Didomi", ("privacy-center.org", "didomi.io"), ("Didomi", "didomiOnReady")),
    ("Usercentrics", ("usercentrics.eu", "usercentrics.com"), ("UC_UI", "usercentrics")),
    ("Osano", ("osano.com",), ("Osano",)),
    ("Termly", ("termly.io",), ("Termly",)),
    ("CookieYes", ("cookieyes.com", "cdn-cookieyes.com"), ("cookieyes", "getCkyConsent")),
    ("Quantcast Choice", ("quantcast.mgr.consensu.org", "cmp.quantcast.com"), ("__qc", "qcCmpApi")),
    ("TrustArc", ("trustarc.com", "truste.com"), ("truste", "PrivacyManagerAPI")),
    ("iubenda", ("iubenda.com",), ("_iub",)),
    ("Complianz", ("complianz.io",), ("complianz", "cmplz_set_cookie")),
    ("Axeptio", ("axept.io",), ("axeptioSDK", "_axcb")),
    ("CookieFirst", ("cookiefirst.com",), ("CookieFirst",)),
    ("Civic Cookie Control", ("civiccomputing.com",), ("CookieControl",)),
    ("Klaro", ("kiprotect.com",), ("klaro",)),
    ("Borlabs Cookie", (), ("BorlabsCookie",)),
    ("Sourcepoint", ("sourcepoint.com", "sp-prod.net"), ("_sp_",)),
    ("IAB TCF CMP", (), ("__tcfapi",)),
)
CMP_GLOBALS = tuple(dict.fromkeys(g for _, _, gs in CONSENT_MANAGERS for g in gs))

_JS_DIR = Path(__file__).parent
_MAX_LIST = 50


# -- evidence ---------------------------------------------------------------------------------


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
    data_partner_key: str | None = None  # growsumo.data.partner_key once the page settled
    data_partner_key_after_init: str | None = None
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
    url_partner_key: str | None = None  # decoded from gspk / ps_partner_key in the chain
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


# -- pure helpers ------------------------------------------------------------------------------


def path_match(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 5.1.4 path-match."""
    request_path = request_path or "/"
    cookie_path = cookie_path or "/"
    if request_path == cookie_path:
        return True
    if request_path.startswith(cookie_path):
        return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
    return False


def _secure_context(scheme: str, host: str) -> bool:
    return scheme == "https" or host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")


def readable_at(cookie: Cookie | PartnerCookie, url: str) -> tuple[bool, str]:
    """Would a page at ``url`` receive ``cookie`` and could its scripts read it (RFC 6265)?"""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    domain = cookie.domain.lower()
    bare = domain.lstrip(".")
    if not domain.startswith("."):
        if host != bare:
            return False, (f"{cookie.name} is a host-only cookie of {bare}, so {host} never receives it "
                           f"(it would need Domain={site_of(bare)})")
    elif not (host == bare or host.endswith("." + bare)):
        return False, f"{cookie.name} belongs to the domain {domain}, which does not include {host}"
    path = parts.path or "/"
    if not path_match(path, cookie.path):
        return False, f"{cookie.name} has Path={cookie.path}, which does not cover {path}"
    if cookie.secure and not _secure_context(parts.scheme.lower(), host):
        return False, f"{cookie.name} is Secure and the signup page is not served over https"
    if cookie.http_only:
        return False, (f"{cookie.name} is HttpOnly: sent to the server, but the signup page's "
                       "PartnerStackJS cannot read it from document.cookie")
    return True, f"{cookie.name} ({'domain ' + domain if domain.startswith('.') else 'host ' + bare}, " \
                 f"path {cookie.path}) is sent to {host} and readable by its scripts"


_TWO_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go"}


def site_of(host: str) -> str:
    """An approximation of the registrable domain (eTLD+1) of ``host``."""
    host = (host or "").lower().rstrip(".")
    if not host or net.is_ip(host) or "." not in host:
        return host
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _TWO_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


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


def consent_managers(script_hosts: list[str], globals_: list[str]) -> list[ConsentManager]:
    found: dict[str, ConsentManager] = {}
    for name, hosts, globs in CONSENT_MANAGERS:
        for host in script_hosts:
            h = host.lower()
            if any(h == s or h.endswith("." + s) for s in hosts):
                found.setdefault(name, ConsentManager(name, f"script {host}"))
        for g in globs:
            if g in globals_:
                found.setdefault(name, ConsentManager(name, f"global {g}"))
    if len(found) > 1:
        found.pop("IAB TCF CMP", None)  # a named CMP already explains __tcfapi
    return list(found.values())


def _cookie_key(value: str) -> set[str]:
    """The partner keys a partner cookie's value may stand for (decoded, or base64-encoded)."""
    out = {value, unquote(value)}
    decoded, _ = decode_partner_key(value)
    if decoded:
        out.add(decoded)
    return out


def _days(expires: float | None, now: float) -> float | None:
    if expires is None or expires < 0:
        return None
    return round((expires - now) / 86400, 2)


def _first_line(text: str, limit: int = 300) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line[:limit]


def _url_partner_key(chain: list[Hop], final_url: str | None) -> tuple[str | None, str | None]:
    urls = ([final_url] if final_url else []) + [h.url for h in reversed(chain)]
    for url in urls:
        params = partner_params(url)
        for name in PARTNERSTACK.partner_key_params:
            if name in params:
                key, reason = decode_partner_key(params[name])
                return key, (f"{name}={params[name][:80]!r} is {reason}" if reason else None)
    return None, None


# -- the browser part ----------------------------------------------------------------------------


class _Recorder:
    """Collects what the context's pages do (Playwright event handlers, on the session's loop)."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        self.last_activity = time.monotonic()
        self.inflight: dict[Any, float] = {}
        self.nav_responses: list[Any] = []
        self.document: Any = None  # the main frame's latest navigation request
        self.document_answered = self.document_done = False
        self.failed: list[FailedRequest] = []
        self.snippet_requests: dict[str, str] = {}  # url -> "pending" | "ok" | "failed"
        self.snippet_loaded_at: float | None = None
        self.js_errors: list[str] = []
        self.blocked_private: list[str] = []
        self.script_hosts: list[str] = []
        self.host_verdicts: dict[str, Any] = {}  # host -> future of "" (public) or a reason
        self.page: Any = None
        self.http_cookie_names: set[str] = set()
        self.playwright: Any = None
        self.fetch_options: dict[str, Any] = {}  # for fetches outside the browser (the guard proxy)

    def touch(self, *_: Any) -> None:
        self.last_activity = time.monotonic()

    def on_request(self, request: Any) -> None:
        self.touch()
        self.inflight[request] = time.monotonic()
        if self.page is not None and request.is_navigation_request() and request.frame == self.page.main_frame:
            self.document, self.document_answered, self.document_done = request, False, False
        if request.resource_type == "script":
            host = urlsplit(request.url).hostname
            if host and host not in self.script_hosts and len(self.script_hosts) < 300:
                self.script_hosts.append(host)
            if is_snippet_src(request.url):
                self.snippet_requests[request.url] = "pending"

    def on_response(self, response: Any) -> None:
        self.touch()
        request = response.request
        if request.is_navigation_request() and self.page is not None and response.frame == self.page.main_frame:
            self.nav_responses.append(response)
        self.document_answered |= request is self.document
        if request.resource_type == "script" and response.status >= 400:
            snippet = is_snippet_src(request.url)
            self._fail(FailedRequest(request.url, response.status, None, snippet))
            if snippet:
                self.snippet_requests[request.url] = "failed"

    def on_finished(self, request: Any) -> None:
        self.touch()
        self.inflight.pop(request, None)
        self.document_done |= request is self.document
        if self.snippet_requests.get(request.url) == "pending":
            self.snippet_requests[request.url] = "ok"
            self.snippet_loaded_at = time.monotonic()

    def on_failed(self, request: Any) -> None:
        self.touch()
        self.inflight.pop(request, None)
        self.document_done |= request is self.document
        if request.resource_type in ("script", "document"):
            snippet = is_snippet_src(request.url)
            reason = request.failure or "failed"
            if request.url in self.blocked_private:
                reason = f"blocked: {net.NOT_PUBLIC}"
            self._fail(FailedRequest(request.url, None, reason, snippet))
            if snippet:
                self.snippet_requests[request.url] = "failed"

    def stalled(self, timeout: float) -> Problem | None:
        """``timeout`` when the main frame's latest document has not fully arrived (a slow server)."""
        if self.document is None or self.document_done:
            return None
        host = urlsplit(self.document.url).hostname or self.document.url
        if self.document_answered:
            return error("timeout", f"{host} was still sending the page after {timeout:g} s")
        return error("timeout", f"no answer from {host} within {timeout:g} s")  # as `diagnose link` says

    def guarded(self, proxy: GuardProxy | None, timeout: float) -> Problem | None:
        """Why the main frame's latest document never came from its site: the guard refused it
        (private-network) or the proxy could not reach it (it answered in the site's place).
        The proxy names a request by its URL, or host:port for a CONNECT."""
        for what in list(proxy.blocked) if proxy is not None else ():
            if what not in self.blocked_private and len(self.blocked_private) < _MAX_LIST:
                self.blocked_private.append(what)
        if self.document is None or not self.document_done:
            return None
        parts = urlsplit(self.document.url)
        names = (self.document.url, f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}")
        refused = next((b for b in self.blocked_private if b in names), None)
        if refused:
            return fail("private-network", net.refusal(refused))
        unreachable = dict(proxy.unreachable) if proxy is not None else {}
        reason = next((unreachable[n] for n in names if n in unreachable), None)
        if reason == "timeout":
            return error("timeout", f"no answer from {parts.hostname} within {timeout:g} s")
        return error("connection-error", f"cannot connect to {parts.hostname}: {reason}") if reason else None

    def _fail(self, item: FailedRequest) -> None:
        if len(self.failed) < _MAX_LIST and item not in self.failed:
            self.failed.append(item)

    def on_page_error(self, err: Any) -> None:
        if len(self.js_errors) < 20:
            name = getattr(err, "name", "") or "Error"
            msg = _first_line(getattr(err, "message", "") or str(err), 240)
            self.js_errors.append(msg if msg.startswith(name) else f"{name}: {msg}")

    async def _verdict(self, host: str, port: int | None) -> str:
        """"" when ``host`` may be visited, else why not (resolved once per host, off the loop)."""
        future = self.host_verdicts.get(host)
        if future is None:
            def check() -> str:
                if host == "localhost" or host.endswith(".localhost"):
                    return f"{host} is a loopback name (browsers resolve *.localhost to this machine)"
                try:
                    web_policy.check_host(host, port, False)
                except net.PrivateAddress as exc:
                    return str(exc)
                except net.ResolveError as exc:
                    return f"{exc}: refused, since the browser may resolve it elsewhere"
                return ""

            future = asyncio.get_running_loop().run_in_executor(None, check)
            self.host_verdicts[host] = future
        return await future

    async def route(self, route: Any, request: Any, block_cookies: bool, timeout_ms: float) -> None:
        from playwright.async_api import Error as PlaywrightError

        url = request.url
        parts = urlsplit(url)
        try:
            if not self.allow_private and parts.scheme in ("http", "https", "ws", "wss"):
                if await self._verdict((parts.hostname or "").lower(), parts.port):
                    if len(self.blocked_private) < _MAX_LIST:
                        self.blocked_private.append(url)
                    await route.abort("blockedbyclient")
                    return
            if block_cookies and parts.scheme in ("http", "https"):
                await self._fetch_without_cookies(route, request, timeout_ms)
                return
            await route.continue_()
        except PlaywrightError:
            pass  # the page or context went away meanwhile


    async def route_web_socket(self, ws: Any) -> None:
        """The private-network rule for WebSockets (not seen by context.route)."""
        parts = urlsplit(ws.url)
        try:
            if await self._verdict((parts.hostname or "").lower(), parts.port):
                if len(self.blocked_private) < _MAX_LIST:
                    self.blocked_private.append(ws.url)
                await ws.close(code=1008, reason=net.NOT_PUBLIC)
                return
            ws.connect_to_server()
        except Exception:  # noqa: BLE001 - the page went away meanwhile
            pass

    async def _fetch_without_cookies(self, route: Any, request: Any, timeout_ms: float) -> None:
        """Fetch outside the browser in a throw-away jar and answer without Set-Cookie headers."""
        from playwright.async_api import Error as PlaywrightError

        fetcher = await self.playwright.request.new_context(**self.fetch_options)
        try:
            try:
                response = await fetcher.fetch(request, max_redirects=0, timeout=timeout_ms)
                body = await response.body()
            except PlaywrightError:
                await route.abort("failed")
                return
            headers = {h["name"]: h["value"] for h in response.headers_array
                       if h["name"].lower() not in ("set-cookie", "content-length", "content-encoding",
                                                    "transfer-encoding")}
            await route.fulfill(status=response.status, headers=headers, body=body)
        finally:
            await fetcher.dispose()


def _script(name: str) -> str:
    return (_JS_DIR / name).read_text(encoding="utf-8")


def _unavailable(url: str, policy: str, message: str) -> CheckResult[CookieEvidence]:
    ev = CookieEvidence(url=url, policy=policy, simulated=policy == "safari-itp",
                        note=SIMULATION_NOTE if policy == "safari-itp" else None)
    return CheckResult("cookie", ev, (error("browser-unavailable", message),))


def _policies(policies: list[str] | tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for p in policies:
        for q in (POLICIES if p == "all" else (p,)):
            if q not in POLICIES:
                raise BadInput(f"unknown browser policy {q!r} (known: {', '.join(POLICIES)}, all)")
            if q not in names:
                names.append(q)
    return names


def check_cookie(
    url: str,
    *,
    browser_policy: str = "chromium",
    expect_key: str | None = None,
    signup_url: str | None = None,
    net_policy: net.NetPolicy | None = None,
    session: BrowserSession | None = None,
    screenshot_dir: str | Path | None = None,
    har: str | Path | None = None,
    browser_path: str | None = None,
    settle_ms: int = DEFAULT_SETTLE_MS,
) -> CheckResult[CookieEvidence]:
    """Open ``url`` as a customer's first visit under ``browser_policy`` and inspect the result.

    Never raises for a page's behaviour; returns a ``browser-unavailable`` error result when no
    browser can be started. ``session`` is reused (and left open) when given; otherwise a
    browser is started for this check and closed afterwards.
    """
    _policies([browser_policy])
    return check_cookie_many(
        [url], policies=[browser_policy], expect_key=expect_key, signup_url=signup_url,
        net_policy=net_policy, session=session, screenshot_dir=screenshot_dir, har=har,
        browser_path=browser_path, settle_ms=settle_ms,
    )[0]


def check_cookie_policies(url: str, policies: list[str], **options: Any) -> list[CheckResult[CookieEvidence]]:
    """:func:`check_cookie` under each policy (``all`` = every one): one browser, one context each
    (run concurrently). With several policies, ``har`` names one HAR per policy
    (``x.har`` -> ``x-chromium.har``, ...)."""
    options.pop("browser_policy", None)
    return check_cookie_many([url], policies=policies, **options)


def check_cookie_many(
    urls: list[str],
    *,
    policies: list[str] | tuple[str, ...] = ("chromium",),
    concurrency: int = 4,
    session: BrowserSession | None = None,
    browser_path: str | None = None,
    har: str | Path | None = None,
    **options: Any,
) -> list[CheckResult[CookieEvidence]]:
    """Every URL under every policy (url-major order), several contexts of one browser at once."""
    names = _policies(policies)
    jobs = [(u, p) for u in urls for p in names]
    own = session is None
    if own:
        session = BrowserSession(browser_path)
    try:
        try:
            session.start()
        except BrowserUnavailable as exc:
            return [_unavailable(u, p, str(exc)) for u, p in jobs]
        coros = []
        for i, (u, p) in enumerate(jobs):
            har_i = har
            if har and len(jobs) > 1:
                h = Path(har)
                tag = p if len(urls) == 1 else f"{i + 1}-{p}"
                har_i = h.with_name(f"{h.stem}-{tag}{h.suffix or '.har'}")
            coros.append(visit(session, u, policy_name=p, har=har_i, **options))
        return session.run_many(coros, concurrency)
    finally:
        if own:
            session.close()


async def visit(session: BrowserSession, url: str, *, policy_name: str = "chromium", expect_key: str | None = None,
                signup_url: str | None = None, net_policy: net.NetPolicy | None = None,
                screenshot_dir: str | Path | None = None, har: str | Path | None = None,
                settle_ms: int = DEFAULT_SETTLE_MS) -> CheckResult[CookieEvidence]:
    """One check on the session's loop, within a hard deadline (the coroutine behind check_cookie)."""
    policy = net_policy or net.NetPolicy()
    simulated = policy_name == "safari-itp"
    base = dict(url=url, policy=policy_name, simulated=simulated,
                note=SIMULATION_NOTE if simulated else None, browser=session.executable)
    # --timeout bounds navigation and settling together (a page that loaded late still gets
    # MIN_SETTLE_S); reading the page, the screenshot and closing add a fixed overhead.
    hard_deadline = policy.timeout + MIN_SETTLE_S + COLLECT_S + SCREENSHOT_S + 5
    started = time.monotonic()
    try:
        return await asyncio.wait_for(
            _visit(session, url, base, policy_name, expect_key, signup_url, policy, screenshot_dir, har,
                   settle_ms),
            hard_deadline,
        )
    except asyncio.TimeoutError:
        return CheckResult("cookie", CookieEvidence(**base, elapsed_ms=int((time.monotonic() - started) * 1000)), (
            error("timeout", f"the page did not finish within the hard deadline of {hard_deadline:g} s "
                  "(its context was closed)"),))
    except BrowserUnavailable as exc:
        return _unavailable(url, policy_name, str(exc))


def _cut_short(base: dict[str, Any], rec: _Recorder, page: Any, started: float,
               problem: Problem) -> CheckResult[CookieEvidence]:
    """The result of a visit that could not read the page: how far it got, and why."""
    final_url = page.url if page.url.startswith(("http:", "https:")) else None  # not an error page
    return CheckResult("cookie", CookieEvidence(
        **base, final_url=final_url, chain=tuple(_chain(rec)), js_errors=tuple(rec.js_errors),
        blocked_private=tuple(rec.blocked_private), elapsed_ms=int((time.monotonic() - started) * 1000)),
        (problem,))


async def _close_context(session: BrowserSession, context: Any) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(context.close()), 10)  # also writes the HAR
    except asyncio.TimeoutError:
        await session.restart_browser()  # a renderer hung the browser: start afresh next time
    except Exception:  # noqa: BLE001 - already closed
        pass


async def _visit(session: BrowserSession, url: str, base: dict[str, Any], policy_name: str,
                 expect_key: str | None, signup_url: str | None, policy: net.NetPolicy,
                 screenshot_dir: str | Path | None, har: str | Path | None,
                 settle_ms: int) -> CheckResult[CookieEvidence]:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    started = time.monotonic()
    simulated = policy_name == "safari-itp"
    problems: list[Problem] = []
    parts = urlsplit(url)
    if not policy.allow_private:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, web_policy.check_host, parts.hostname or "", parts.port, False)
        except net.PrivateAddress as exc:
            return CheckResult("cookie", CookieEvidence(**base), (fail("private-network", exc.refusal),))
        except net.ResolveError as exc:
            return CheckResult("cookie", CookieEvidence(**base), (error("connection-error", str(exc)),))

    nav_timeout_ms = policy.timeout * 1000
    block_cookies = policy_name == "no-cookies"
    rec = _Recorder(policy.allow_private)
    if block_cookies:
        rec.playwright = await session.playwright()
    config = {"blockCookies": block_cookies, "hosts": list(KNOWN_SCRIPT_HOSTS)}
    context_options: dict[str, Any] = dict(
        viewport={"width": 1280, "height": 800},
        user_agent=SAFARI_UA if simulated else policy.user_agent,
        locale="en-US",
        service_workers="block",
    )
    har_path = None
    if har:
        har_path = Path(har)
        har_path.parent.mkdir(parents=True, exist_ok=True)
        context_options["record_har_path"] = str(har_path)

    state: dict[str, Any] = {}
    signup_cookies: list[dict[str, Any]] | None = None
    static_html: str | None = None
    screenshot: str | None = None
    load_problem: Problem | None = None
    proxy = None
    if not policy.allow_private:
        # Routing sees only the first request of a redirect chain and the browser resolves names
        # itself: the guard proxy checks every connection the context makes (diagnose/guard_proxy.py).
        proxy = GuardProxy(connect_timeout=policy.timeout).start()
        context_options["proxy"] = rec.fetch_options["proxy"] = proxy.playwright_option
    context = await session.new_context(**context_options)
    try:
        context.set_default_timeout(nav_timeout_ms)
        await context.add_init_script(script=_script("cookie_page.js").replace(
            "__DIAGNOSE_CONFIG__", json.dumps(config)))
        if not policy.allow_private or block_cookies:
            await context.route("**/*", lambda r, q: rec.route(r, q, block_cookies, nav_timeout_ms))
        if not policy.allow_private:
            await context.route_web_socket("**/*", rec.route_web_socket)
        context.on("request", rec.on_request)
        context.on("response", rec.on_response)
        context.on("requestfinished", rec.on_finished)
        context.on("requestfailed", rec.on_failed)
        page = await context.new_page()
        rec.page = page
        page.on("pageerror", rec.on_page_error)
        page.on("framenavigated", rec.touch)
        budget_end = time.monotonic() + policy.timeout
        nav_error: PlaywrightError | None = None
        try:
            await page.goto(url, wait_until="load", timeout=nav_timeout_ms)
        except PlaywrightTimeout:
            if stalled := rec.stalled(policy.timeout):
                return _cut_short(base, rec, page, started, stalled)
            load_problem = warn("page-timeout", f"the page had not finished loading after "
                                f"{policy.timeout:g} s; inspected as it was")
        except PlaywrightError as exc:
            nav_error = exc
        if problem := rec.guarded(proxy, policy.timeout):  # the proxy refused the page, or answered for it
            return _cut_short(base, rec, page, started, problem)
        if nav_error is not None and (not rec.nav_responses or page.url in ("about:blank", "")):
            reason = _first_line(str(nav_error).replace("Page.goto: ", ""), 200)
            return _cut_short(base, rec, page, started, error(
                "navigation-failed", f"the browser could not open {url}: {reason}"))
        # (after any other navigation error, a later navigation - a JS redirect - interrupted the first)
        loaded = time.monotonic()
        settled = await _settle(page, rec, settle_ms / 1000,
                                min(loaded + MAX_SETTLE_S, max(budget_end, loaded + MIN_SETTLE_S)))
        if stalled := rec.stalled(policy.timeout):  # a later (script) navigation to a slow server
            return _cut_short(base, rec, page, started, stalled)
        if problem := rec.guarded(proxy, policy.timeout):  # refused or unreachable (also a later navigation)
            return _cut_short(base, rec, page, started, problem)
        collected = await _collect(page)
        final_url = page.url
        if collected is None:
            return _cut_short(base, rec, page, started, error(
                "page-unresponsive", "the page's scripts stopped answering (a busy loop?), so nothing "
                "could be read from it"))
        state = collected
        cookies_raw = await context.cookies()
        if signup_url:
            signup_cookies = await context.cookies([signup_url])
        rec.http_cookie_names = await _http_cookie_names(rec)
        for response in reversed(rec.nav_responses):
            if response.url.split("#")[0] == final_url.split("#")[0]:
                try:
                    static_html = await response.text()
                except PlaywrightError:
                    static_html = None
                break
        if screenshot_dir is not None:
            screenshot = await _screenshot(page, Path(screenshot_dir), policy_name, final_url)
    except PlaywrightError as exc:
        return CheckResult("cookie", CookieEvidence(**base), (
            error("browser-error", f"the browser failed: {_first_line(str(exc), 200)}"),))
    finally:
        await _close_context(session, context)
        if proxy is not None:
            await asyncio.get_running_loop().run_in_executor(None, proxy.close)
            for what in proxy.blocked:
                if what not in rec.blocked_private and len(rec.blocked_private) < _MAX_LIST:
                    rec.blocked_private.append(what)

    ev, found = _assess(base, rec, state, cookies_raw, signup_url, signup_cookies, static_html, final_url,
                        expect_key, settled, screenshot, str(har_path) if har_path else None,
                        int((time.monotonic() - started) * 1000))
    if load_problem:
        problems.append(load_problem)
    problems.extend(found)
    return CheckResult("cookie", ev, tuple(problems))


_POLL_JS = """() => {
  const S = window.__diagnose;
  let refresh = -1;
  const meta = document.querySelector('meta[http-equiv="refresh" i]');
  if (meta) { const m = /^\\s*(\\d+(?:\\.\\d+)?)/.exec(meta.getAttribute('content') || ''); if (m) refresh = parseFloat(m[1]); }
  const gs = !!(window.growsumo || window.partnerstack);
  return S ? [S.inits.length, S.writes.length + S.blocked.length, document.readyState === 'complete', gs, refresh]
           : [0, 0, false, gs, refresh];
}"""


async def _poll(page: Any, wait: float) -> tuple[Any, ...] | None:
    from playwright.async_api import Error as PlaywrightError

    try:
        return tuple(await asyncio.wait_for(page.evaluate(_POLL_JS), wait))
    except (PlaywrightError, asyncio.TimeoutError):
        return None  # navigating (the execution context was replaced), or busy


async def _settle(page: Any, rec: _Recorder, quiet: float, deadline: float) -> bool:
    """Wait for the events that matter, then a quiet window; False when cut off at ``deadline``
    (a time.monotonic() value). A main-frame navigation still waiting for its page is not settled.

    * the PartnerStack script loaded, ``_initialize`` called and cookies written, nothing in
      flight: a short window (FAST_SETTLE_MS) - the common, healthy case;
    * some PartnerStack evidence but incomplete: the ``quiet`` window (``--settle-ms``);
    * no PartnerStack evidence at all (an interstitial that may still redirect by script, or a
      page that injects the snippet late): at least INTERSTITIAL_S;
    * a ``<meta http-equiv=refresh>`` that fires before the deadline: wait for it.
    """
    settle_max = deadline - time.monotonic()
    last: tuple[Any, ...] | None = None
    while True:
        state = await _poll(page, min(1.0, max(0.2, deadline - time.monotonic())))
        if state is None or (last is not None and state[:4] != last[:4]):
            rec.touch()
        last = state
        now = time.monotonic()
        pending_snippet = any(v == "pending" for v in rec.snippet_requests.values())
        loaded_snippet = any(v == "ok" for v in rec.snippet_requests.values())
        inits, writes, complete, has_gs, refresh = state if state else (0, 0, False, False, -1)
        waiting_init = loaded_snippet and not inits and rec.snippet_loaded_at is not None \
            and now - rec.snippet_loaded_at < max(quiet, 0.3)
        busy = any(now - t < 2.0 for t in rec.inflight.values())
        if complete and inits > 0 and (writes > 0 or loaded_snippet):
            window = min(quiet, FAST_SETTLE_MS / 1000)
        elif inits or has_gs or rec.snippet_requests:
            window = quiet
        else:
            window = max(quiet, INTERSTITIAL_S)
        refresh_pending = 0 <= refresh <= settle_max and now - rec.last_activity < refresh + 0.3
        navigating = rec.document is not None and not rec.document_done
        if state is not None and complete and not pending_snippet and not waiting_init and not busy \
                and not navigating and not refresh_pending and now - rec.last_activity >= window:
            return True
        if now >= deadline:
            return False
        await asyncio.sleep(0.015)


async def _collect(page: Any) -> dict[str, Any] | None:
    """What the page holds now, or None when its scripts do not answer (a busy loop)."""
    from playwright.async_api import Error as PlaywrightError

    cfg = {"hosts": list(KNOWN_SCRIPT_HOSTS), "cmpGlobals": list(CMP_GLOBALS)}
    deadline = time.monotonic() + COLLECT_S
    for _ in range(3):
        try:
            return await asyncio.wait_for(page.evaluate(_script("cookie_collect.js"), cfg),
                                          max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            return None
        except PlaywrightError:
            await asyncio.sleep(0.1)
    return None


async def _screenshot(page: Any, directory: Path, policy_name: str, final_url: str | None) -> str | None:
    from playwright.async_api import Error as PlaywrightError

    host = re.sub(r"[^A-Za-z0-9.-]+", "_", urlsplit(final_url or "").hostname or "page")[:60]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")[:-3]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"cookie-{host}-{policy_name}-{stamp}.png"
        await page.screenshot(path=str(path), timeout=SCREENSHOT_S * 1000)
        return str(path)
    except (PlaywrightError, OSError):
        return None


def _chain(rec: _Recorder) -> list[Hop]:
    hops: list[Hop] = []
    for response in rec.nav_responses:
        if not hops:
            via = "start"
        else:
            prev = hops[-1]
            prev_resp = rec.nav_responses[len(hops) - 1]
            if prev.status is not None and 300 <= prev.status < 400:
                via = "http-redirect"
            elif _safe_header(prev_resp, "refresh"):
                via = "refresh-header"
            else:
                via = "script-or-meta"
        hops.append(Hop(response.url, response.status, via))
    return hops[:_MAX_LIST]


def _safe_header(response: Any, name: str) -> str | None:
    try:
        return response.headers.get(name)
    except Exception:  # noqa: BLE001 - a closed response
        return None


def _assess(base: dict[str, Any], rec: _Recorder, state: dict[str, Any], cookies_raw: list[dict[str, Any]],
            signup_url: str | None, signup_cookies: list[dict[str, Any]] | None, static_html: str | None,
            final_url: str | None, expect_key: str | None, settled: bool, screenshot: str | None,
            har: str | None, elapsed_ms: int) -> tuple[CookieEvidence, list[Problem]]:
    problems: list[Problem] = []
    policy_name = base["policy"]
    simulated = base["simulated"]
    now = time.time()
    chain = _chain(rec)
    final_url = final_url or (chain[-1].url if chain else base["url"])
    url_key, url_key_error = _url_partner_key(chain, final_url)
    if not url_key and not url_key_error:
        url_key, url_key_error = _url_partner_key([Hop(base["url"], None, "start")], None)
    writes = set(state.get("writes") or [])

    cookies = tuple(
        Cookie(
            name=c["name"], value=c["value"][:500], domain=c["domain"], path=c["path"],
            expires_days=_days(c.get("expires"), now), http_only=bool(c.get("httpOnly")),
            secure=bool(c.get("secure")), same_site=str(c.get("sameSite") or "Lax"),
            written_by_script=c["name"] in writes,
        )
        for c in cookies_raw
    )
    cap_days = cap_reason = None
    if simulated:
        cap_days, cap_reason = itp_cap(chain or [Hop(final_url, None, "start")], final_url)

    # -- the partner cookie --
    final_host = (urlsplit(final_url).hostname or "").lower()
    candidates = [c for c in cookies if PARTNERSTACK.is_partner_cookie(c.name)]
    order = {n: i for i, n in enumerate(PARTNERSTACK.partner_cookie_names)}
    candidates.sort(key=lambda c: (
        not readable_at(c, final_url)[0] and c.domain.lstrip(".") != final_host,
        order.get(c.name, len(order)),
    ))
    partner: PartnerCookie | None = None
    if candidates:
        c = candidates[0]
        matches = None if not url_key else url_key in _cookie_key(c.value)
        effective = c.expires_days
        if simulated and cap_days is not None and (c.written_by_script or c.name not in rec.http_cookie_names):
            effective = cap_days if effective is None else min(effective, cap_days)
        partner = PartnerCookie(
            name=c.name, value=c.value, domain=c.domain, path=c.path, expires_days=c.expires_days,
            same_site=c.same_site, secure=c.secure, http_only=c.http_only, matches_url_key=matches,
            effective_days=effective, simulated=simulated,
        )

    # -- growsumo --
    inits = state.get("inits") or []
    calls = tuple(InitCall(i.get("object") or "growsumo", i.get("key"), i.get("from")) for i in inits)
    data_key = state.get("data_partner_key")
    after_init = next((i.get("data_partner_key_after") for i in reversed(inits)
                       if i.get("data_partner_key_after")), None)
    replaced = tuple(
        f"{r.get('what')} replaced{' (keeps partner_key)' if r.get('keeps_partner_key') else ''}"
        f" by {r.get('from') or 'page code'}"
        for r in (state.get("replaced") or [])
    )
    gs = Growsumo(
        loaded=bool(state.get("has_initialize")) or bool(calls),
        global_name=state.get("global_name"),
        initialize_called=bool(calls),
        public_key=calls[0].public_key if calls else None,
        data_partner_key=data_key,
        data_partner_key_after_init=after_init,
        data_intact=None if not url_key or not calls else data_key == url_key,
        replaced_by=replaced,
    )

    # -- the snippet in the rendered DOM --
    snippets = state.get("snippets") or []
    injected_by = next((i.get("from") for i in (state.get("injected_by") or []) if i.get("from")), None)
    primary = next((s for s in snippets if s.get("kind") == "inline"), snippets[0] if snippets else None)
    if primary is not None or calls or rec.snippet_requests:
        how = "static" if _in_static_html(static_html, final_url) else "injected"
    else:
        how = None
    seen = SnippetSeen(
        in_dom=bool(snippets),
        how=how,
        kind=primary.get("kind") if primary else None,
        script_src=next((s.get("src") for s in snippets if s.get("src")), None)
        or next(iter(rec.snippet_requests), None),
        script_type=primary.get("type") if primary else None,
        in_head=primary.get("in_head") if primary else None,
        injected_by=None if how == "static" else (injected_by or (calls[0].called_from if calls else None)),
    )

    # -- consent managers --
    cmps = tuple(consent_managers(rec.script_hosts + [urlsplit(s).hostname or "" for s in state.get("script_srcs") or []],
                                  state.get("globals") or []))

    # -- signup --
    signup = None
    if signup_url:
        if partner is None:
            signup = Signup(signup_url, False, "there is no partner cookie to send")
        else:
            ok, reason = readable_at(partner, signup_url)
            if signup_cookies is not None:
                sent = any(sc["name"] == partner.name and sc["domain"] == partner.domain for sc in signup_cookies)
                if ok and not sent:
                    ok, reason = False, f"Chromium would not send {partner.name} to {signup_url}"
            signup = Signup(signup_url, ok, reason)

    failed = tuple(rec.failed)
    snippet_failed = [f for f in failed if f.snippet]

    # -- problems --
    if url_key_error:
        problems.append(fail("invalid-gspk", f"the partner key in the URL {url_key_error}"))
    elif not url_key:
        problems.append(warn("no-partner-key-in-url",
                             "no URL along the way carries gspk or ps_partner_key, so the script has no "
                             "partner key to store (check the link with `diagnose link`)"))
    if snippet_failed:
        f = snippet_failed[0]
        what = f"HTTP {f.status}" if f.status else (f.error or "failed")
        problems.append(fail("snippet-script-failed", f"the PartnerStack script {f.url} failed to load ({what})"))
    elif not gs.initialize_called:
        if not gs.loaded and not seen.in_dom and not rec.snippet_requests:
            msg = "PartnerStackJS never loaded: no snippet in the rendered page and no growsumo / partnerstack object"
        elif not gs.loaded:
            msg = "the snippet is on the page but window.growsumo / partnerstack never got an _initialize function"
            if seen.script_type and seen.script_type.lower() not in ("text/javascript", "application/javascript", "module"):
                msg += f" (its script has type={seen.script_type!r}, which the browser does not run)"
        else:
            msg = "growsumo is defined but _initialize was never called"
        problems.append(fail("snippet-not-loaded", msg))
    for call in calls:
        key = call.public_key
        if key is None or not PUBLIC_KEY_RE.fullmatch(key):
            problems.append(fail("initialized-with-invalid-key",
                                 f"_initialize was called with {key!r}, which is not a public key (pk_ + 32 letters or digits)"))
            break
        if expect_key and key != expect_key:
            problems.append(fail("initialized-with-other-key",
                                 f"_initialize was called with {key}, expected {expect_key}"))
            break

    if partner is None:
        detail = ""
        blocked = tuple(state.get("blocked") or [])
        if policy_name == "no-cookies":
            tried = [n for n in blocked if PARTNERSTACK.is_partner_cookie(n)]
            detail = (f"; the page tried to write {', '.join(dict.fromkeys(tried))} but cookies are blocked "
                      "(a customer with cookies blocked is not tracked)") if tried else "; cookies are blocked under this policy"
        elif not url_key:
            detail = "; the URL carries no partner key"
        problems.append(fail("no-partner-cookie",
                             "no partner cookie (growSumoPartnerKey, ps_partner_key or a per-program variant) "
                             "was set" + detail))
    else:
        if partner.matches_url_key is False:
            problems.append(fail("cookie-value-mismatch",
                                 f"{partner.name}={partner.value!r}, but the URL's partner key is {url_key!r}"))
        minimum = PARTNERSTACK.cookie_days - LIFETIME_TOLERANCE_DAYS
        eff = partner.effective_days
        if eff is None or eff < minimum:
            life = "a session cookie (deleted when the browser closes)" if eff is None else f"{eff:g} days"
            why = f" under the safari-itp simulation ({cap_reason})" if simulated and eff != partner.expires_days else ""
            problems.append(fail("cookie-lifetime-short",
                                 f"{partner.name} lives {life}{why}, shorter than the {PARTNERSTACK.cookie_days}-day "
                                 "attribution window: a customer who signs up later is not tracked"))
    if url_key and gs.initialize_called and data_key != url_key:
        if replaced or (after_init == url_key):
            who = "; ".join(replaced[:2]) or "site code"
            problems.append(fail("growsumo-data-overwritten",
                                 f"growsumo.data.partner_key is {data_key!r} once the page settled, not {url_key!r}: "
                                 f"{who} (signups will lose attribution)"))
        elif partner is not None:
            problems.append(warn("growsumo-data-missing-key",
                                 f"growsumo.data.partner_key is {data_key!r}, though the URL carries {url_key!r}"))
    if signup is not None and not signup.readable:
        problems.append(fail("cookie-not-readable-at-signup", signup.reason))
    if cmps and partner is None:
        names = ", ".join(c.name for c in cmps)
        problems.append(fail("consent-gated",
                             f"a consent manager ({names}) is on the page and no partner cookie was set before any "
                             "consent choice: tracking waits for consent the customer may never give"))
    landing = urlsplit(final_url or "")
    landing_hostport = f"{landing.hostname}:{landing.port or (443 if landing.scheme == 'https' else 80)}"
    if final_url and any(b in (final_url, landing_hostport) for b in rec.blocked_private):
        problems.append(fail("private-network", net.refusal(final_url)))
    elif rec.blocked_private:
        problems.append(warn("private-network",
                             f"{len(rec.blocked_private)} request(s) to non-public addresses were blocked, "
                             f"e.g. {rec.blocked_private[0]}"))
    if not settled:
        problems.append(warn("page-not-settled", "the page was still busy when the settle time ran out; "
                             "inspected as it was"))

    ev = CookieEvidence(
        **base,
        final_url=final_url,
        page_title=state.get("title"),
        chain=tuple(chain),
        url_partner_key=url_key,
        url_partner_key_error=url_key_error,
        partner_cookie=partner,
        cookies=cookies[:_MAX_LIST],
        cookie_writes_blocked=tuple(dict.fromkeys(state.get("blocked") or []))[:_MAX_LIST],
        itp_cap_days=cap_days,
        itp_cap_reason=cap_reason,
        growsumo=gs,
        init_calls=calls,
        snippet=seen,
        consent_managers=cmps,
        partner_cookie_before_consent=(partner is not None) if cmps else None,
        signup=signup,
        failed_requests=failed,
        js_errors=tuple(rec.js_errors),
        blocked_private=tuple(rec.blocked_private),
        settled=settled,
        elapsed_ms=elapsed_ms,
        screenshot=screenshot,
        har=har,
    )
    return ev, problems


async def _http_cookie_names(rec: _Recorder) -> set[str]:
    """Cookies the navigations set with Set-Cookie headers (the rest were written by script)."""
    names: set[str] = set()
    for response in rec.nav_responses:
        try:
            for h in await response.headers_array():
                if h["name"].lower() == "set-cookie":
                    names.add(h["value"].split("=", 1)[0].strip())
        except Exception:  # noqa: BLE001 - a response that went away
            continue
    return names


def _in_static_html(html: str | None, base_url: str | None) -> bool:
    """Is a PartnerStack snippet in the server's HTML (as opposed to injected at runtime)?"""
    if not html:
        return False
    if "_initialize" not in html and "/pr/js" not in html and not any(h in html for h in KNOWN_SCRIPT_HOSTS):
        return False
    from diagnose.checks.snippet import analyse_html

    ev, _ = analyse_html(html, base_url=base_url)
    return ev.snippet_found and not ev.commented_out


__all__ = [
    "CONSENT_MANAGERS",
    "POLICIES",
    "CookieEvidence",
    "check_cookie",
    "check_cookie_many",
    "check_cookie_policies",
    "visit",
    "consent_managers",
    "itp_cap",
    "path_match",
    "readable_at",
    "site_of",
]


@dataclass(frozen=True)
class CookieRun:
    """Several cookie results (``--policy all``): JSON ``{"status": ..., "results": [...]}``."""

    results: tuple[CheckResult[CookieEvidence], ...]

    @property
    def status(self) -> Status:
        from diagnose.core.evidence import worst

        return worst(r.status for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"status": str(self.status), "results": [r.to_dict() for r in self.results]}
