"""One link of a sweep: follow it, check the landing page's snippet and key (and the row's partner
key), optionally the cookie in a browser, and keep what is broken as a compact record.

The record keeps the findings (each with the place that causes it: the landing page without its
query, the hop that dropped the parameters, the host that does not answer), not the evidence's
pages, so that a sweep of 10^5 links stays small. ``where`` is what findings are grouped by.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from diagnose.core.evidence import CheckResult, Problem
from diagnose.core.partnerstack import key_along_chain
from diagnose.pipeline.sweep_defaults import (
    DEFAULT_BROWSER_JOBS,
    DEFAULT_JOBS,
    DEFAULT_PER_HOST,
)
from diagnose.pipeline.sweep_input import LinkRow
from diagnose.web.policy import NetPolicy

BROKEN = ("fail", "error")  # severities that make a link broken (a warning never does)
_HOST_CODES = {"timeout", "connection-error", "private-network"}  # a host's fault: grouped by host


@dataclass(frozen=True)
class Finding:
    code: str  # the check's problem code (redirect-loop, params-dropped, no-snippet, no-partner-cookie, ...)
    severity: str  # fail | error | warn
    check: str  # link | gspk | snippet | cookie | input | sweep
    message: str
    where: str | None = None  # what the finding is grouped by

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "check": self.check, "message": self.message,
                "where": self.where}


@dataclass
class LinkRecord:
    row: LinkRow
    status: str  # ok | warn | broken | bad-input | duplicate | error
    findings: list[Finding] = field(default_factory=list)
    checks: tuple[str, ...] = ()  # the checks that ran (a baseline finding of another check is not "fixed")
    final_url: str | None = None
    hops: int = 0
    link_partner_key: str | None = None
    public_key: str | None = None
    cookie_set: bool | None = None
    elapsed_ms: int = 0
    duplicate_of: int | None = None
    new: tuple[str, ...] | None = None  # codes broken since the baseline (None: no baseline)
    fixed: tuple[str, ...] | None = None  # codes of the baseline that are gone

    @property
    def broken(self) -> list[Finding]:
        return [f for f in self.findings if f.severity in BROKEN]

    def to_dict(self) -> dict[str, Any]:
        """The record in the sweep's JSON (the --baseline format): these keys, always."""
        r = self.row
        return {
            "id": r.id, "line": r.line, "link": r.link, "status": self.status, "labels": r.labels,
            "partner_key": r.partner_key, "expected_public_key": r.expected_key,
            "problems": [f.to_dict() for f in self.findings], "checks": list(self.checks),
            "final_url": self.final_url, "hops": self.hops, "link_partner_key": self.link_partner_key,
            "public_key": self.public_key, "cookie_set": self.cookie_set, "elapsed_ms": self.elapsed_ms,
            "duplicate_of": self.duplicate_of,
            "new": list(self.new) if self.new is not None else None,
            "fixed": list(self.fixed) if self.fixed is not None else None,
        }


def status_of(findings: list[Finding]) -> str:
    if any(f.severity in BROKEN for f in findings):
        return "broken"
    return "warn" if findings else "ok"


def without_query(url: str | None) -> str | None:
    """scheme://host/path: the page, whatever query or fragment a link gave it."""
    if not url:
        return url
    try:
        p = urlsplit(url)
        return urlunsplit((p.scheme, p.netloc.rpartition("@")[2].lower(), p.path or "/", "", ""))
    except ValueError:
        return url[:300]


def host_of(url: str | None) -> str | None:
    try:
        return urlsplit(url or "").hostname
    except ValueError:
        return None


def bad_input(row: LinkRow) -> LinkRecord:
    reason = row.error or "not a link"
    return LinkRecord(row, "bad-input", [Finding("bad-input", "fail", "input", reason, _reason_kind(reason))],
                      checks=("input",))


def _reason_kind(reason: str) -> str:
    """The kind of a bad row's reason, without the row's own text (bad rows are grouped by it)."""
    for words, kind in (("not a web address", "not a web address"), ("scheme", "not http(s)"),
                        ("longer than", "too long"), ("quote", "unclosed quote"), ("partner_key", "bad partner_key"),
                        ("public key", "bad public key"), ("no link", "empty link cell"),
                        ("more than one value", "more than one value"), ("white space", "white space in the link"),
                        ("unreadable CSV", "unreadable CSV row")):
        if words in reason:
            return kind
    return "invalid URL"


def _link_where(problem: Problem, ev) -> str | None:
    hops = ev.hops
    last = hops[-1] if hops else None
    if problem.code == "params-dropped" and ev.dropped_at_hop:
        return without_query(hops[ev.dropped_at_hop - 1].url)
    if problem.code in _HOST_CODES:
        return host_of(last.url if last else ev.input_url)
    if problem.code in ("redirect-loop", "too-many-redirects"):
        return without_query((last.location or last.url) if last else ev.input_url)
    if problem.code == "invalid-url":
        return without_query(last.url if last else ev.input_url)
    return without_query(ev.final_url)


def check_row(row: LinkRow, policy: NetPolicy, gate=None, session: Any = None,
              browser_gate: Any = None) -> LinkRecord:
    """Check one usable row. ``gate(host)`` caps each request per host; ``session`` (a started
    BrowserSession) adds the cookie check, run under ``browser_gate`` with the chain's hosts held."""
    from diagnose.checks.link import follow
    from diagnose.web.fetch import kept_session

    started = time.monotonic()
    outcome = follow(row.url, policy, gate, kept_session(policy))  # this worker's connections, kept alive
    link: CheckResult = outcome.result
    ev = link.evidence
    findings = [Finding(p.code, str(p.severity), "link", p.message, _link_where(p, ev)) for p in link.problems]
    # the checks that ran to a conclusion: a baseline problem of a check that did not is not "fixed"
    checks = ["link"] if link.ran else []
    carries_key = any(h.params for h in ev.hops)
    if len(ev.hops) == 1 and not carries_key:  # a landing page given as such: no partner key expected
        findings = [f for f in findings if f.code != "no-partner-key"]
    seen = {f.code for f in findings}
    page = outcome.final_page
    landing = without_query(ev.final_url)
    record = LinkRecord(row, "ok", findings, final_url=ev.final_url, hops=len(ev.hops),
                        link_partner_key=ev.partner_key)

    def add(result: CheckResult, where: str | None) -> None:
        for p in result.problems:
            if p.code not in seen:  # the same problem from a later check (invalid-gspk, ...) is named once
                seen.add(p.code)
                findings.append(Finding(p.code, str(p.severity), result.check,
                                        p.message, ev.partner_key if p.code == "partner-mismatch" else where))

    if row.partner_key:
        key_url = key_along_chain(h.url for h in ev.hops)
        if key_url:
            from diagnose.checks.gspk import check_gspk

            add(check_gspk(key_url, row.partner_key), landing)
            checks.append("gspk")
    reached = page is not None and 200 <= page.status_code < 300
    if reached:
        from diagnose.checks.snippet import check_snippet_html

        snippet = check_snippet_html(page.text(), url=page.url, http_status=page.status_code,
                                     expected_key=row.expected_key)
        record.public_key = snippet.evidence.public_key
        add(snippet, landing)
        checks.append("snippet")
    if reached and session is not None and key_along_chain(h.url for h in ev.hops):
        record.cookie_set = _cookie(row, policy, session, browser_gate, gate, ev, add, landing)
        if record.cookie_set is not None:
            checks.append("cookie")
    record.checks = tuple(checks)
    record.status = status_of(findings)
    record.elapsed_ms = int((time.monotonic() - started) * 1000)
    return record


def _cookie(row, policy, session, browser_gate, gate, ev, add, landing) -> bool | None:
    """The cookie check in the shared browser, holding a slot of every host the chain visits."""
    from diagnose.checks.cookie import check_cookie

    hosts = sorted({h for h in (host_of(hop.url) for hop in ev.hops) if h})  # sorted: no deadlock
    with contextlib.ExitStack() as stack:
        if browser_gate is not None:
            stack.enter_context(browser_gate)
        for host in hosts if gate else ():
            stack.enter_context(gate(host))
        result = check_cookie(row.url, expect_key=row.expected_key, net_policy=policy, session=session,
                              screenshot_dir=None)
    add(result, landing)
    cookie = getattr(result.evidence, "partner_cookie", None)
    if not result.ran:
        return None
    return cookie is not None


@dataclass(frozen=True)
class SweepOptions:
    policy: NetPolicy = field(default_factory=NetPolicy)
    jobs: int = DEFAULT_JOBS
    per_host: int = DEFAULT_PER_HOST
    browser_jobs: int = DEFAULT_BROWSER_JOBS
    session: Any = None  # a started BrowserSession: adds the cookie check (threads only)
    processes: int = 1


def host_key(host: str | None) -> str:
    return (host or "").lower().rstrip(".")


def check_safely(row: LinkRow, options: SweepOptions, gate, browser_gate=None) -> LinkRecord:
    """check_row, with any crash of one link's check recorded as that link's result."""
    try:
        return check_row(row, options.policy, gate, options.session, browser_gate)
    except Exception as exc:  # noqa: BLE001 - a bug or a crash in one link's check: recorded, the sweep goes on
        message = f"the check failed ({type(exc).__name__}: {str(exc)[:300]})"
        return LinkRecord(row, "error", [Finding("check-failed", "error", "sweep", message, type(exc).__name__)])
