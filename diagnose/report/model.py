"""The report model: what the renderers read (a ticket's report, the demo's summary). Renderers
import only this module; they decide nothing.

ticket -> checks (pipeline.gather) -> evidence -> rules -> TicketReport (here) -> renderers
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from diagnose.core.evidence import CheckResult, Status, from_jsonable, to_jsonable
from diagnose.core.errors import ExitCode
from diagnose.core.reading import read_png
from diagnose.checks.registry import EVIDENCE_ORDER
from diagnose.pipeline.evidence_io import result_from_dict
from diagnose.pipeline.fix_apply import FAILED, StepResult
from diagnose.pipeline.fix_plan import Plan
from diagnose.rules.engine import RULES, Finding, Verdict, diagnose, questions, usable
from diagnose.core.ticket import Ticket, from_mapping

@dataclass(frozen=True)
class TicketReport:
    ticket: Ticket
    evidence: dict[str, CheckResult]
    diagnosis: tuple[Finding, ...]
    questions: tuple[str, ...]
    attachments: dict[str, str] = field(default_factory=dict)  # name -> data: URI (screenshots)
    redacted: bool = False

    @property
    def top(self) -> Finding | None:
        return self.diagnosis[0] if self.diagnosis else None

    @property
    def positive(self) -> list[Finding]:
        return [f for f in self.diagnosis if f.verdict in (Verdict.CONFIRMED, Verdict.LIKELY)]

    @property
    def also_possible(self) -> list[Finding]:
        """Once a cause is confirmed, the customer-side possibilities that only the ticket's silence
        keeps open (they cite nothing but the reconcile bucket): shown folded, not as findings."""
        if not any(f.verdict is Verdict.CONFIRMED and f.kind == "cause" for f in self.diagnosis):
            return []
        return [f for f in self.diagnosis if f.verdict is Verdict.POSSIBLE and getattr(RULES.get(f.id), "user_side", False)
                and all((c.check, c.field) == ("reconcile", "customer.bucket") for c in f.evidence)]

    @property
    def shown(self) -> list[Finding]:
        """The findings to list: neither ruled out nor folded under "also possible"."""
        folded = {f.id for f in self.also_possible}
        return [f for f in self.diagnosis if f.verdict is not Verdict.RULED_OUT and f.id not in folded]

    @property
    def ruled_out(self) -> list[Finding]:
        return [f for f in self.diagnosis if f.verdict is Verdict.RULED_OUT]

    def next_steps(self, limit: int = 3) -> list[tuple[Finding, tuple[str, ...], str | None]]:
        """The positive findings' next steps, each step said once: (finding, its new steps, the id of
        the finding whose steps it shares, if it shares them all)."""
        said: dict[str, str] = {}
        plan = []
        for f in self.positive[:limit]:
            new = tuple(s for s in f.next_steps if s not in said)
            shared = next((said[s] for s in f.next_steps if s in said), None) if len(new) < len(f.next_steps) else None
            for s in new:
                said[s] = f.id
            plan.append((f, new, shared))
        return plan

    @property
    def days_click_to_signup(self) -> tuple[int | None, str]:
        """Click to signup in days, and where it comes from: the ticket's dates, else the records."""
        if self.ticket.days_click_to_signup is not None:
            return self.ticket.days_click_to_signup, "the ticket's dates"
        rec = self.evidence.get("reconcile")
        customer = getattr(rec.evidence, "customer", None) if rec is not None else None
        days = getattr(customer, "days_click_to_signup", None)
        return days, ("the records" if days is not None else "")

    @property
    def landed(self) -> bool:
        """Did the link check reach a landing page (so a partner key "at the landing page" means something)?"""
        link = self.evidence.get("link")
        return link is not None and bool(getattr(link.evidence, "completed", False)) and not any(
            link.problem(code) for code in ("redirect-loop", "too-many-redirects", "invalid-url", "private-network"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket.to_dict(),
            "evidence": {name: result.to_dict() for name, result in self.evidence.items()},
            "diagnosis": [to_jsonable(f) for f in self.diagnosis],
            "questions": list(self.questions),
            "redacted": self.redacted,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], attachments: dict[str, str] | None = None) -> "TicketReport":
        return cls(
            ticket=from_mapping(data.get("ticket") or {}, masked=data.get("redacted") is True),
            evidence={k: result_from_dict(v, k) for k, v in (data.get("evidence") or {}).items()},
            diagnosis=tuple(from_jsonable(Finding, f, "diagnosis") for f in data.get("diagnosis", [])),
            questions=tuple(data.get("questions", [])),
            attachments=dict(attachments or {}),
            redacted=bool(data.get("redacted", False)),
        )


def build_report(ticket: Ticket, evidence: dict[str, CheckResult], *, embed_screenshots: bool = True) -> TicketReport:
    """Run the rules on the evidence and assemble the report model (pure but for reading screenshots)."""
    ordered = {k: evidence[k] for k in sorted(evidence, key=_evidence_rank)}
    findings = diagnose(ticket, ordered)
    attachments = _screenshots(ordered) if embed_screenshots else {}
    return TicketReport(ticket, ordered, tuple(findings), tuple(questions(ticket, findings)), attachments)


def _evidence_rank(name: str) -> tuple[int, str]:
    return (EVIDENCE_ORDER.index(name) if name in EVIDENCE_ORDER else len(EVIDENCE_ORDER), name)


def _screenshots(evidence: dict[str, CheckResult]) -> dict[str, str]:
    """The evidence's screenshots as data: URIs. A saved evidence file names any path it likes: only
    a regular file of at most SCREENSHOT_LIMIT bytes that is a PNG image is embedded (core/reading.py),
    never a device, a FIFO or a text file."""
    out = {}
    for name, result in evidence.items():
        path = getattr(result.evidence, "screenshot", None)
        data = read_png(path) if isinstance(path, str) and path else None
        if data is not None:
            out[name] = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return out


def exit_code(report: TicketReport) -> int:
    """1 when a cause was found; else 3 when some evidence could not be gathered; else 1 when a check
    failed; else 0."""
    if any(f.kind == "cause" for f in report.positive):
        return ExitCode.PROBLEM
    if not all(usable(r) for r in report.evidence.values()):
        return ExitCode.INCOMPLETE
    if any(r.status is Status.FAIL for r in report.evidence.values()):
        return ExitCode.PROBLEM  # a check found a problem that no rule names (e.g. a missed customer)
    return ExitCode.OK


def redacted(report: TicketReport) -> TicketReport:
    """The report as it may leave the company (``--redact``): see pipeline.redact."""
    from diagnose.pipeline.redact import redact_data

    data = redact_data(report.to_dict())
    data["redacted"] = True
    # no screenshot: pixels cannot be redacted (a co-branded page may show another partner's name)
    return TicketReport.from_dict(data)


# -- the demo's summary ----------------------------------------------------------------------


@dataclass(frozen=True)
class DemoRow:
    ticket: str
    expected: str
    id: str
    title: str
    verdict: str
    ok: bool
    report: str
    seconds: float
    kind: str = "cause"  # the top finding's kind: a cause, or a status (integration-healthy, already-tracked)
    fix: str | None = None  # what `diagnose fix` did for the ticket (the demo's API scenarios)


@dataclass(frozen=True)
class DemoSummary:
    rows: tuple[DemoRow, ...]
    index: str
    browser: str | None  # None: no browser, the browser-dependent verdicts are cannot-tell

    @property
    def all_ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "browser": self.browser, "all_ok": self.all_ok,
                "rows": [to_jsonable(r) for r in self.rows]}


# -- diagnose fix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixReport:
    """A remediation plan, and what sending it did (``results`` None: a dry run, nothing sent)."""

    plan: Plan
    results: tuple[StepResult, ...] | None = None
    audit_log: str | None = None

    @property
    def dry_run(self) -> bool:
        return self.results is None

    @property
    def failed(self) -> int:
        return sum(r.outcome == FAILED for r in self.results or ())

    def exit_code(self) -> ExitCode:
        return ExitCode.INCOMPLETE if self.failed else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        out = {"dry_run": self.dry_run, **self.plan.to_dict()}
        if self.results is not None:
            out["results"] = [r.to_dict() for r in self.results]
            out["audit_log"] = self.audit_log
        return out
