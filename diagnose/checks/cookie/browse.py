"""One visit in a fresh context of the shared browser, within a hard deadline: open the URL, settle
the page, read it, close the context; then assess what was seen. And the entry points that run
several visits (URLs x policies) on one browser."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from diagnose.checks.cookie.assess import assess
from diagnose.checks.cookie.itp import SAFARI_UA
from diagnose.checks.cookie.model import MAX_LIST, POLICIES, SIMULATION_NOTE, CookieEvidence
from diagnose.checks.cookie.observation import Observation
from diagnose.checks.cookie.page import (
    COLLECT_S, DEFAULT_SETTLE_MS, LEAVING_S, LOOP_VISITS, MAX_SETTLE_S, MIN_SETTLE_S, SCREENSHOT_S, answers,
    browser_gone, collect, pending_departure, screenshot, script, settle,
)
from diagnose.checks.cookie.recorder import Recorder, chain_of, first_line, http_cookie_names
from diagnose.core.errors import BadInput
from diagnose.core.evidence import CheckResult, Problem, error, fail, warn
from diagnose.core.partnerstack import KNOWN_SCRIPT_HOSTS
from diagnose.web import fetch as net
from diagnose.web import policy as web_policy
from diagnose.web.browser import BrowserSession, BrowserUnavailable
from diagnose.web.guard_proxy import GuardProxy

NAVIGATION_S = 2.0  # how long a navigation that began while the page was read gets to end


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
    obs = Observation(base, Recorder(policy.allow_private), expect_key=expect_key, signup_url=signup_url,
                      har=str(Path(har)) if har else None)
    try:
        return await asyncio.wait_for(_visit(session, obs, policy, screenshot_dir, settle_ms), hard_deadline)
    except asyncio.TimeoutError:
        return CheckResult("cookie", CookieEvidence(**base, elapsed_ms=int((time.monotonic() - started) * 1000)), (
            error("timeout", f"the page did not finish within the hard deadline of {hard_deadline:g} s "
                  "(its context was closed)"),))
    except BrowserUnavailable as exc:
        return _unavailable(url, policy_name, str(exc))


class _CutShort(Exception):
    """The visit ends before the page could be read: ``problem`` says why."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def _cut_short(obs: Observation, page: Any, started: float, problem: Problem) -> CheckResult[CookieEvidence]:
    """The result of a visit that could not read the page: how far it got, and why."""
    rec = obs.rec
    final_url = page.url if page is not None and page.url.startswith(("http:", "https:")) else None  # not an error page
    if problem.code == "private-network" and rec.document is not None:
        final_url = rec.document.url  # the landing that was refused (the page may not have left its last one yet)
    return CheckResult("cookie", CookieEvidence(
        **obs.base, final_url=final_url, chain=tuple(chain_of(rec)), js_errors=tuple(rec.js_errors),
        blocked_private=tuple(rec.blocked_private), elapsed_ms=int((time.monotonic() - started) * 1000)),
        (problem,))


def _unresponsive() -> Problem:
    return error("page-unresponsive", "the page's scripts stopped answering (a busy loop?), so nothing could be "
                 "read from it")


async def _close_context(session: BrowserSession, context: Any) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(context.close()), 10)  # also writes the HAR
    except asyncio.TimeoutError:
        await session.restart_browser()  # a renderer hung the browser: start afresh next time
    except Exception:  # noqa: BLE001 - already closed
        pass


async def _refused(url: str) -> Problem | None:
    """The private-network rule for the URL itself, before any browser is involved."""
    parts = urlsplit(url)
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, web_policy.check_host, parts.hostname or "", parts.port, False)
    except net.PrivateAddress as exc:
        return fail("private-network", exc.refusal)
    except net.ResolveError as exc:
        return error("connection-error", str(exc))
    return None


async def _new_context(session: BrowserSession, obs: Observation, policy: net.NetPolicy,
                       proxy: GuardProxy | None) -> Any:
    """A fresh context under the policy (user agent, HAR, the guard proxy)."""
    if obs.policy == "no-cookies":
        obs.rec.playwright = await session.playwright()
    options: dict[str, Any] = dict(viewport={"width": 1280, "height": 800},
                                   user_agent=SAFARI_UA if obs.simulated else policy.user_agent,
                                   locale="en-US", service_workers="block")
    if obs.har:
        Path(obs.har).parent.mkdir(parents=True, exist_ok=True)
        options["record_har_path"] = obs.har
    if proxy is not None:
        options["proxy"] = obs.rec.fetch_options["proxy"] = proxy.playwright_option
    return await session.new_context(**options)


async def _open_page(context: Any, obs: Observation, policy: net.NetPolicy) -> Any:
    """The init script, the routes and the recorder's handlers on ``context``; then its page."""
    rec = obs.rec
    block_cookies = obs.policy == "no-cookies"
    timeout_ms = policy.timeout * 1000
    context.set_default_timeout(timeout_ms)
    config = {"blockCookies": block_cookies, "hosts": list(KNOWN_SCRIPT_HOSTS)}
    await context.add_init_script(script=script("cookie_page.js").replace("__DIAGNOSE_CONFIG__", json.dumps(config)))
    if not policy.allow_private or block_cookies:
        await context.route("**/*", lambda r, q: rec.route(r, q, block_cookies, timeout_ms))
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
    return page


async def _goto(page: Any, url: str, rec: Recorder, timeout: float) -> None:
    """``page.goto`` until the load event, which redirects going round by script or meta refresh
    never give: once they came back to one URL twice as often as a loop is said to need, that is
    a loop (_CutShort) now, not after --timeout."""
    goto = asyncio.ensure_future(page.goto(url, wait_until="load", timeout=timeout * 1000))
    try:
        while not goto.done():
            await asyncio.wait({goto}, timeout=0.05)
            if not goto.done() and (looping := rec.loop(2 * LOOP_VISITS)):
                raise _CutShort(looping)
    finally:
        goto.cancel()  # (cut short, or the check itself cancelled at its hard deadline; no-op once done)
    goto.result()


async def _load(page: Any, obs: Observation, policy: net.NetPolicy, proxy: GuardProxy | None,
                settle_ms: int) -> Problem | None:
    """Open the URL and settle the page; the load problem to report, or _CutShort."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    rec, url = obs.rec, obs.base["url"]
    budget_end = time.monotonic() + policy.timeout
    load_problem = nav_error = None
    try:
        await _goto(page, url, rec, policy.timeout)
    except PlaywrightTimeout:
        # The load event did not come in time. A page that arrived and whose scripts hang (a busy
        # loop) does not answer, and its busy renderer never reports the document finished either:
        # that is the page, not a slow server. (A navigation still waiting for its answer has no
        # page to ask: Playwright waits for the new document.)
        if not rec.awaiting_answer and not await answers(page):
            raise _CutShort(_unresponsive()) from None
        if looping := rec.loop(LOOP_VISITS):  # script or meta redirects going round: never a load event
            raise _CutShort(looping) from None
        if stalled := rec.stalled(policy.timeout):
            raise _CutShort(stalled) from None
        load_problem = warn("page-timeout", f"the page had not finished loading after {policy.timeout:g} s; "
                            "inspected as it was")
    except PlaywrightError as exc:
        if browser_gone(page):
            raise  # a browser error, not the page's (the batch runs the ticket again on a new browser)
        nav_error = exc
    if problem := rec.landing(proxy, policy.timeout):  # refused, answered by the proxy, or given up
        raise _CutShort(problem)
    if nav_error is not None and (not rec.nav_responses or page.url in ("about:blank", "")):
        reason = first_line(str(nav_error).replace("Page.goto: ", ""), 200)
        raise _CutShort(error("navigation-failed", f"the browser could not open {url}: {reason}"))
    # (after any other navigation error, a later navigation - a JS redirect - interrupted the first)
    loaded = time.monotonic()
    obs.settled = await settle(page, rec, settle_ms / 1000,
                               min(loaded + MAX_SETTLE_S, max(budget_end, loaded + MIN_SETTLE_S)))
    if not obs.settled and (looping := rec.loop(LOOP_VISITS)):  # script or meta redirects going round
        raise _CutShort(looping)
    if stalled := rec.stalled(policy.timeout):  # a later (script) navigation to a slow server
        raise _CutShort(stalled)
    if problem := rec.landing(proxy, policy.timeout):  # refused, unreachable or given up (a later navigation too)
        raise _CutShort(problem)
    return load_problem


async def _still_there(page: Any, obs: Observation, proxy: GuardProxy | None, policy: net.NetPolicy,
                       document: Any) -> None:
    """After reading: was the page read the landing? A script or a meta refresh that fired meanwhile
    (or code run by the reading itself) sent the main frame on: when that navigation is refused or fails,
    the customer lands nowhere a check may look (_CutShort, as if it had happened before settling)."""
    rec = obs.rec
    refresh, leaving = await pending_departure(page) if rec.document is document else (None, None)
    deadline = time.monotonic() + refresh + 0.3 if refresh is not None and refresh <= NAVIGATION_S else 0.0
    leaving = leaving or (obs.state or {}).get("leaving")
    if leaving and rec.document is document:
        # a navigation the page began (the reading's own getter, say) whose request has not reached
        # us yet - under load it can come after the reading: the landing is unknown until it does
        # (waited for from when settling first heard of it, not anew)
        deadline = max(deadline, rec.leaving_since(leaving) + min(policy.timeout, LEAVING_S))
    while rec.document is document and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    if rec.document is not document or page.url.startswith("chrome-error:"):
        deadline = time.monotonic() + min(policy.timeout, NAVIGATION_S)
        while not rec.document_done and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if problem := rec.landing(proxy, policy.timeout):
            raise _CutShort(problem)
    if page.url.startswith("chrome-error:") or (obs.page_url or "").startswith("chrome-error:"):
        raise _CutShort(error("navigation-failed", "the browser ended on its own error page, not a page of the site"))


async def _read(page: Any, context: Any, obs: Observation, screenshot_dir: str | Path | None) -> None:
    """Read the settled page into ``obs`` (or _CutShort when its scripts do not answer): the page's
    state, the cookies, the server's HTML and the screenshot at once (the page costs CPU as long as
    it is open, and every reading is a round trip to the browser)."""
    from playwright.async_api import Error as PlaywrightError

    url = page.url

    async def server_html() -> str | None:
        for response in reversed(obs.rec.nav_responses):
            if response.url.split("#")[0] == url.split("#")[0]:
                try:  # (bounded: the body of a document whose loading a script stopped never comes)
                    return await asyncio.wait_for(response.text(), COLLECT_S)
                except (PlaywrightError, asyncio.TimeoutError):
                    return None
        return None

    async def signup_cookies() -> list[dict[str, Any]] | None:
        return await context.cookies([obs.signup_url]) if obs.signup_url else None

    shot = asyncio.ensure_future(screenshot(page, Path(screenshot_dir), obs.policy, url)) \
        if screenshot_dir is not None else None
    rest = asyncio.gather(context.cookies(), signup_cookies(), http_cookie_names(obs.rec), server_html())
    try:
        collected = await collect(page)
        obs.page_url = page.url
        if collected is None:
            raise _CutShort(_unresponsive())
        obs.state = collected
        obs.cookies_raw, obs.signup_cookies, obs.rec.http_cookie_names, obs.static_html = await rest
        if shot is not None:
            obs.screenshot = await shot
    finally:
        for pending in (rest, shot):  # cut short: the others are not waited for
            if pending is not None:
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)


async def _visit(session: BrowserSession, obs: Observation, policy: net.NetPolicy,
                 screenshot_dir: str | Path | None, settle_ms: int) -> CheckResult[CookieEvidence]:
    from playwright.async_api import Error as PlaywrightError

    started = time.monotonic()
    rec = obs.rec
    if not policy.allow_private and (refused := await _refused(obs.base["url"])):
        return CheckResult("cookie", CookieEvidence(**obs.base), (refused,))
    # Routing sees only the first request of a redirect chain and the browser resolves names
    # itself: the guard proxy checks every connection the context makes (web/guard_proxy.py).
    proxy = None if policy.allow_private else GuardProxy(connect_timeout=policy.timeout).start()
    page = None
    try:
        context = await _new_context(session, obs, policy, proxy)
    except BaseException:
        if proxy is not None:
            await asyncio.get_running_loop().run_in_executor(None, proxy.close)
        raise
    try:
        page = await _open_page(context, obs, policy)
        load_problem = await _load(page, obs, policy, proxy, settle_ms)
        document = rec.document
        await _read(page, context, obs, screenshot_dir)
        await _still_there(page, obs, proxy, policy, document)
    except _CutShort as cut:
        return _cut_short(obs, page, started, cut.problem)
    except PlaywrightError as exc:
        return CheckResult("cookie", CookieEvidence(**obs.base), (
            error("browser-error", f"the browser failed: {first_line(str(exc), 200)}"),))
    finally:
        await _close_context(session, context)
        if proxy is not None:
            await asyncio.get_running_loop().run_in_executor(None, proxy.close)
            for what in proxy.blocked:
                if what not in rec.blocked_private and len(rec.blocked_private) < MAX_LIST:
                    rec.blocked_private.append(what)

    obs.elapsed_ms = int((time.monotonic() - started) * 1000)
    ev, found = assess(obs)
    return CheckResult("cookie", ev, ((load_problem,) if load_problem else ()) + tuple(found))
