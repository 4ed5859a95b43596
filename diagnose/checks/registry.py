"""The checks behind one interface, in the order they run (like sslyze's scan commands or
Lighthouse's gatherers): each names the evidence it produces, the ticket facts it needs, whether it
needs the browser, and a ``run(ticket, context)`` that returns its results. The pipeline iterates
this list; adding a check is one module plus one entry here.

The check modules are imported when a check runs, not when this list is read, so ``--help`` stays
light and a check's entry point can be replaced in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.core.evidence import CheckResult
from diagnose.core.partnerstack import API_DEFAULT_CONCURRENCY, is_webkit, key_along_chain
from diagnose.core.ticket import API_DASHBOARD, Ticket
from diagnose.web.policy import NetPolicy


@dataclass
class Context:
    """What a check may use besides the ticket: the limits, the browser, what earlier checks left."""

    policy: NetPolicy = field(default_factory=NetPolicy)
    use_browser: bool = True
    browser_path: str | None = None
    screenshot_dir: str | Path | None = "reports"
    session: Any = None  # a shared BrowserSession, when there is one
    api: Any = None  # a PartnerStack API client (web/partnerstack_api.py), when the user gave --api
    api_concurrency: int = API_DEFAULT_CONCURRENCY
    evidence: dict[str, CheckResult] = field(default_factory=dict)  # results so far
    artifacts: dict[str, Any] = field(default_factory=dict)  # e.g. the landing page the link check fetched


@dataclass(frozen=True)
class Check:
    name: str
    needs: tuple[str, ...]  # ticket facts that must all be given ("a|b": either)
    run: Callable[[Ticket, Context], dict[str, CheckResult]]
    browser: bool = False
    evidence: tuple[str, ...] = ()  # the evidence names it may produce (default: its name)
    api: bool = False  # reads the PartnerStack API: runs only when there is a client

    def wanted(self, ticket: Ticket, context: Context) -> bool:
        has = all(any(getattr(ticket, f) for f in need.split("|")) for need in self.needs)
        return has and (context.use_browser or not self.browser) and (context.api is not None or not self.api)

    @property
    def produces(self) -> tuple[str, ...]:
        return self.evidence or (self.name,)


def _link(ticket: Ticket, ctx: Context) -> dict[str, CheckResult]:
    from diagnose.checks.link import follow

    outcome = follow(ticket.link, ctx.policy)
    ctx.artifacts["landing_page"] = outcome.final_page
    return {"link": outcome.result}


def _gspk(ticket: Ticket, ctx: Context) -> dict[str, CheckResult]:
    from diagnose.checks.gspk import check_gspk

    link = ctx.evidence.get("link")
    key_url = key_along_chain(hop.url for hop in link.evidence.hops) if link is not None else None
    return {"gspk": check_gspk(key_url, ticket.partner_key)} if key_url else {}


def _snippet(ticket: Ticket, ctx: Context) -> dict[str, CheckResult]:
    from diagnose.checks.snippet import check_snippet_html

    page = ctx.artifacts.get("landing_page")  # parsed as fetched by the link check, not fetched again
    if page is None:
        return {}
    return {"snippet": check_snippet_html(page.text(), url=page.url, http_status=page.status_code,
                                          expected_key=ticket.expected_public_key)}


def cookie_policies(ticket: Ticket) -> list[str]:
    """The browser behaviours worth simulating for this ticket (chromium always first)."""
    policies = ["chromium"]
    if is_webkit(ticket.click_browser, ticket.click_device, ticket.signup_browser, ticket.signup_device):
        policies.append("safari-itp")
    if ticket.blocks_cookies:
        policies.append("no-cookies")
    return policies


def _cookie(ticket: Ticket, ctx: Context) -> dict[str, CheckResult]:
    from diagnose.checks.cookie import check_cookie

    out: dict[str, CheckResult] = {}
    for policy in cookie_policies(ticket):
        result = check_cookie(
            ticket.link, browser_policy=policy, expect_key=ticket.expected_public_key,
            signup_url=ticket.signup_url, net_policy=ctx.policy, session=ctx.session,
            screenshot_dir=ctx.screenshot_dir if policy == "chromium" else None, browser_path=ctx.browser_path,
        )
        out["cookie" if policy == "chromium" else f"cookie-{policy}"] = result
        if not result.ran:
            break  # no browser: the other policies would fail the same way
    return out


def _partner(ticket: Ticket, ctx: Context) -> dict[str, CheckResult]:
    from diagnose.checks.partner import check_partner

    gspk = ctx.evidence.get("gspk")  # the key the link carries, decoded (none: nothing to look up for it)
    link_key = gspk.evidence.partner_key if gspk is not None else None
    return {"partner": check_partner(ctx.api, ticket.partner_key, ticket.partner_email, link_key)}


def _reconcile(ticket: Ticket, ctx: Context) -> dict[str, CheckResult]:
    from diagnose.checks.reconcile import reconcile_files

    if ticket.dashboard == API_DASHBOARD:
        from diagnose.checks.reconcile.api_source import reconcile_ticket

        return {"reconcile": reconcile_ticket(ctx.api, ticket, ctx.api_concurrency)}
    query = ticket.customer_email or ticket.customer_name
    return {"reconcile": reconcile_files(ticket.dashboard, ticket.internal, partner=ticket.partner_key,
                                         customer=query, rows=False)}


CHECKS: tuple[Check, ...] = (
    Check("link", ("link",), _link),
    Check("gspk", ("link",), _gspk),
    Check("snippet", ("link",), _snippet),
    Check("partner", ("partner_key|partner_email|link",), _partner, api=True),
    Check("reconcile", ("dashboard", "internal"), _reconcile),
    Check("cookie", ("link",), _cookie, browser=True,
          evidence=("cookie", "cookie-safari-itp", "cookie-no-cookies")),
)

# The order evidence is kept and shown in: the page checks, the browser's results, then the records
# (the browser check runs last, to give the browser time to start, but reads as the pages' sequel).
EVIDENCE_ORDER: tuple[str, ...] = ("link", "gspk", "partner", "snippet", "cookie", "cookie-safari-itp", "cookie-no-cookies",
                                   "reconcile")
