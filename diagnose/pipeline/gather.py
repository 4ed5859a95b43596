"""Gather: run the checks that the ticket's facts allow, and collect their evidence.

link -> gspk (the landing URL's key against the ticket's partner) -> snippet (the landing page
already fetched by the link check, not fetched again) -> cookie in a real browser (one policy per
relevant browser behaviour) -> reconcile (the ticket's customer in the exports).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose.web import fetch as net
from diagnose.core.evidence import CheckResult
from diagnose.core.partnerstack import is_webkit, key_along_chain
from diagnose.core.ticket import Ticket

# The order evidence is kept and shown in.
EVIDENCE_ORDER = ("link", "gspk", "snippet", "cookie", "cookie-safari-itp", "cookie-no-cookies", "reconcile")


@dataclass(frozen=True)
class GatherOptions:
    policy: net.NetPolicy = net.NetPolicy()
    use_browser: bool = True
    browser_path: str | None = None
    screenshot_dir: str | Path | None = "reports"


def cookie_policies(ticket: Ticket) -> list[str]:
    """The browser behaviours worth simulating for this ticket (chromium always first)."""
    policies = ["chromium"]
    if is_webkit(ticket.click_browser, ticket.click_device, ticket.signup_browser, ticket.signup_device):
        policies.append("safari-itp")
    if ticket.blocks_cookies:
        policies.append("no-cookies")
    return policies


def gather(ticket: Ticket, options: GatherOptions | None = None, session: Any = None) -> dict[str, CheckResult]:
    """Run the checks for ``ticket``. ``session``: a shared BrowserSession to reuse (batch, demo).

    Without a shared session, one is launched in the background at the start, so that the
    browser starts while the link, the snippet and the records are checked.
    """
    options = options or GatherOptions()
    evidence: dict[str, CheckResult] = {}
    browser_wanted = bool(ticket.link) and options.use_browser
    own_session, launcher = None, None
    if browser_wanted and session is None:
        own_session, launcher = _launch_in_background(options.browser_path)
    try:
        if ticket.link:
            evidence.update(_http_checks(ticket, options))
        if ticket.dashboard and ticket.internal:
            from diagnose.checks.reconcile import reconcile_files

            query = ticket.customer_email or ticket.customer_name
            evidence["reconcile"] = reconcile_files(
                ticket.dashboard, ticket.internal, partner=ticket.partner_key, customer=query, rows=False
            )
        if browser_wanted:
            if launcher is not None:
                launcher.join()
            evidence.update(_cookies(ticket, options, session or own_session))
    finally:
        if own_session is not None:
            if launcher is not None:
                launcher.join()
            own_session.close()
    return {k: evidence[k] for k in EVIDENCE_ORDER if k in evidence}


def _launch_in_background(browser_path: str | None) -> tuple[Any, threading.Thread]:
    from diagnose.web.browser import BrowserSession, BrowserUnavailable

    session = BrowserSession(browser_path)

    def start() -> None:
        try:
            session.start()
        except BrowserUnavailable:
            pass  # check_cookie tries again and reports browser-unavailable

    thread = threading.Thread(target=start, name="diagnose-browser-launch", daemon=True)
    thread.start()
    return session, thread


def _http_checks(ticket: Ticket, options: GatherOptions) -> dict[str, CheckResult]:
    from diagnose.checks.gspk import check_gspk
    from diagnose.checks.link import follow
    from diagnose.checks.snippet import check_snippet_html

    out: dict[str, CheckResult] = {}
    outcome = follow(ticket.link, options.policy)
    out["link"] = outcome.result
    key_url = key_along_chain(hop.url for hop in outcome.result.evidence.hops)
    if key_url:
        out["gspk"] = check_gspk(key_url, ticket.partner_key)
    page = outcome.final_page
    if page is not None:
        out["snippet"] = check_snippet_html(
            page.text(), url=page.url, http_status=page.status_code,
            expected_key=ticket.expected_public_key,
        )
    return out


def _cookies(ticket: Ticket, options: GatherOptions, session: Any) -> dict[str, CheckResult]:
    from diagnose.checks.cookie import check_cookie

    out: dict[str, CheckResult] = {}
    for policy in cookie_policies(ticket):
        result = check_cookie(
            ticket.link,
            browser_policy=policy,
            expect_key=ticket.expected_public_key,
            signup_url=ticket.signup_url,
            net_policy=options.policy,
            session=session,
            screenshot_dir=options.screenshot_dir if policy == "chromium" else None,
            browser_path=options.browser_path,
        )
        out["cookie" if policy == "chromium" else f"cookie-{policy}"] = result
        if not result.ran:
            break  # no browser: the other policies would fail the same way
    return out
