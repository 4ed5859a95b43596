"""The final report model of a ticket, and saving / loading gathered evidence.

ticket -> checks (gather.py) -> evidence -> rules (rules/) -> TicketReport -> renderers (report/)
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.errors import BadInput
from diagnose.evidence import CheckResult, from_jsonable, to_jsonable
from diagnose.gather import EVIDENCE_ORDER
from diagnose.rules.engine import Finding, Verdict, diagnose, questions
from diagnose.ticket import Ticket, from_mapping

EVIDENCE_FORMAT = "diagnose-evidence/1"


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
            ticket=from_mapping(data.get("ticket") or {}),
            evidence={k: CheckResult.from_dict(v) for k, v in (data.get("evidence") or {}).items()},
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
    out = {}
    for name, result in evidence.items():
        path = getattr(result.evidence, "screenshot", None)
        if not path:
            continue
        try:
            data = Path(path).read_bytes()
        except OSError:
            continue
        if data.startswith(b"\x89PNG"):
            out[name] = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return out


# -- saved evidence (gather once, explain offline) ------------------------------------------


def save_evidence(path: str | Path, ticket: Ticket, evidence: dict[str, CheckResult]) -> None:
    data = {
        "format": EVIDENCE_FORMAT,
        "ticket": ticket.to_dict(),
        "evidence": {name: result.to_dict() for name, result in evidence.items()},
    }
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def load_evidence(path: str | Path) -> tuple[Ticket, dict[str, CheckResult]]:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"cannot read evidence file {p}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"evidence file {p} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != EVIDENCE_FORMAT:
        raise BadInput(f"{p} is not a diagnose evidence file (expected \"format\": \"{EVIDENCE_FORMAT}\")")
    ticket = from_mapping(data.get("ticket") or {})
    evidence = {}
    for name, result in (data.get("evidence") or {}).items():
        try:
            evidence[name] = CheckResult.from_dict(result)
        except ValueError as exc:
            raise BadInput(f"evidence file {p}: entry {name!r}: {exc}") from None
    return ticket, evidence


# -- redaction ------------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_email(text: str) -> str:
    return _EMAIL_RE.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def mask_value(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    return value[:2] + "***" if len(value) > 4 else "***"


def _redact(node: Any, key: str | None = None, parent: str | None = None, others: list[str] = ()) -> Any:
    if isinstance(node, dict):
        return {k: _redact(v, k, key, others) for k, v in node.items()}
    if isinstance(node, list):
        return [_redact(v, key, parent, others) for v in node]  # items inherit the list's name
    if isinstance(node, str):
        if key == "value" and parent in ("cookies", "partner_cookie"):
            return mask_value(node)
        for other in others:
            node = node.replace(other, "another partner")
        return mask_email(node)
    return node


RECONCILE_ROW_LISTS = ("matched", "other_partner", "pending", "missing_from_dashboard", "dashboard_only",
                       "rejected", "excluded", "duplicates")


def redact(report: TicketReport) -> TicketReport:
    """For a report that leaves the company (``--redact``): mask emails and cookie values, name no
    other partner, drop the rows of other customers, and keep only the file names of the exports."""
    data = report.to_dict()
    partner = data["ticket"].get("partner_key")
    others: set[str] = set()
    rec = data["evidence"].get("reconcile")
    if rec is not None:
        for name in RECONCILE_ROW_LISTS:
            if name in rec:
                rec[name] = []
        customer = rec.get("customer") or {}
        if customer.get("dashboard_partner_key") not in (None, "", partner):
            others.add(customer["dashboard_partner_key"])
        for key in ("dashboard_file", "internal_file"):
            if rec.get(key):
                rec[key] = Path(rec[key]).name
    for key in ("dashboard", "internal"):
        if data["ticket"].get(key):
            data["ticket"][key] = Path(data["ticket"][key]).name
    data = _redact(data, others=sorted(others, key=len, reverse=True))
    data["redacted"] = True
    return TicketReport.from_dict(data, report.attachments)



# -- running a ticket end to end ------------------------------------------------------------


def run_ticket(ticket: Ticket, options: Any = None, session: Any = None) -> tuple[dict[str, CheckResult], TicketReport]:
    """Gather the evidence the ticket allows, then diagnose it."""
    from diagnose.gather import gather

    if not (ticket.link or (ticket.dashboard and ticket.internal)):
        raise BadInput("the ticket needs a link, or dashboard and internal exports, to check anything")
    evidence = gather(ticket, options, session)
    return evidence, build_report(ticket, evidence)


def exit_code(report: TicketReport) -> int:
    """1 when a cause was found; else 3 when some evidence could not be gathered; else 1 when a check
    failed; else 0."""
    from diagnose.evidence import Status
    from diagnose.exitcodes import ExitCode
    from diagnose.rules.engine import usable

    if any(f.kind == "cause" for f in report.positive):
        return ExitCode.PROBLEM
    if not all(usable(r) for r in report.evidence.values()):
        return ExitCode.INCOMPLETE
    if any(r.status is Status.FAIL for r in report.evidence.values()):
        return ExitCode.PROBLEM  # a check found a problem that no rule names (e.g. a missed customer)
    return ExitCode.OK


def default_html_path(ticket: Ticket, folder: str | Path = "reports", redacted: bool = False) -> Path:
    """reports/<date>-<customer or link>.html; a redacted report gets a digest instead of the name."""
    import datetime as dt
    import hashlib

    slug = ticket.slug
    if redacted:
        slug = "ticket-" + hashlib.sha256(slug.encode("utf-8")).hexdigest()[:10]
    return Path(folder) / f"{dt.date.today().isoformat()}-{slug}.html"
