"""Gather: run the registered checks that the ticket's facts allow (checks/registry.py), in order,
and collect their evidence.

link -> gspk (the landing URL's key against the ticket's partner) -> snippet (the landing page
already fetched by the link check, not fetched again) -> reconcile (the ticket's customer in the
exports) -> cookie in a real browser (one policy per relevant browser behaviour). The browser is
launched in the background at the start, so it starts while the pages and the records are checked.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose.checks.registry import CHECKS, EVIDENCE_ORDER, Context
from diagnose.core.evidence import CheckResult
from diagnose.core.partnerstack import API_DEFAULT_CONCURRENCY
from diagnose.core.ticket import Ticket
from diagnose.web.policy import NetPolicy


@dataclass(frozen=True)
class GatherOptions:
    policy: NetPolicy = NetPolicy()
    use_browser: bool = True
    browser_path: str | None = None
    screenshot_dir: str | Path | None = "reports"
    api: Any = None  # a PartnerStack API client: the partner check, and dashboard: partnerstack
    api_concurrency: int = API_DEFAULT_CONCURRENCY


def gather(ticket: Ticket, options: GatherOptions | None = None, session: Any = None) -> dict[str, CheckResult]:
    """Run the checks for ``ticket``. ``session``: a shared BrowserSession to reuse (batch, demo)."""
    options = options or GatherOptions()
    context = Context(policy=options.policy, use_browser=options.use_browser, browser_path=options.browser_path,
                      screenshot_dir=options.screenshot_dir, session=session, api=options.api,
                      api_concurrency=options.api_concurrency)
    wanted = [check for check in CHECKS if check.wanted(ticket, context)]
    own_session, launcher = None, None
    if session is None and any(check.browser for check in wanted):
        own_session, launcher = _launch_in_background(options.browser_path)
        context.session = own_session
    try:
        for check in wanted:
            if check.browser and launcher is not None:
                launcher.join()
            context.evidence.update(check.run(ticket, context))
    finally:
        if own_session is not None:
            _close_in_background(own_session, launcher)
    found = context.evidence
    return {k: found[k] for k in EVIDENCE_ORDER if k in found}


def _launch_in_background(browser_path: str | None) -> tuple[Any, threading.Thread]:
    """The session, and the thread launching it. Returns once Playwright is imported: the imports of
    the other checks would otherwise share the interpreter with it, and the launch waits on it."""
    from diagnose.web.browser import BrowserSession, BrowserUnavailable

    session = BrowserSession(browser_path)
    imported = threading.Event()

    def start() -> None:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            pass  # the launch says so
        imported.set()
        try:
            session.start()
        except BrowserUnavailable:
            pass  # the cookie check tries again and reports browser-unavailable

    thread = threading.Thread(target=start, name="diagnose-browser-launch", daemon=True)
    thread.start()
    imported.wait(10)
    return session, thread


def _close_in_background(session: Any, launcher: threading.Thread | None) -> None:
    """Close the ticket's own browser while its report is built and shown: a non-daemon thread,
    so the process still ends only once the browser is closed (also after Ctrl-C)."""

    def close() -> None:
        if launcher is not None:
            launcher.join()
        session.close()

    threading.Thread(target=close, name="diagnose-browser-close", daemon=False).start()
