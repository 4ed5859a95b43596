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
from diagnose.rules.engine import RULES, Finding, Verdict, diagnose, questions
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


def mask_name(name: str) -> str:
    """'Kim Safari' -> 'K*** S***'."""
    return " ".join(w[0] + "***" for w in name.split())


def _redact(node: Any, key: str | None = None, parent: str | None = None,
            hide: list[tuple[re.Pattern[str], str]] = ()) -> Any:
    if isinstance(node, dict):
        return {k: _redact(v, k, key, hide) for k, v in node.items()}
    if isinstance(node, list):
        return [_redact(v, key, parent, hide) for v in node]  # items inherit the list's name
    if isinstance(node, str):
        if key == "value" and parent in ("cookies", "partner_cookie"):
            return mask_value(node)
        node = mask_email(node)
        for pattern, replacement in hide:
            node = pattern.sub(replacement, node)
        return node
    return node


def _hidden_values(data: dict[str, Any], others: set[str]) -> list[tuple[re.Pattern[str], str]]:
    """Values that must not leave the company, wherever they appear: the other partner's key, the
    customer's name (whole and by word), the payment provider's customer id, cookie values (but the
    asking partner's own key)."""
    rec = data["evidence"].get("reconcile") or {}
    customer = rec.get("customer") or {}
    pairs: dict[str, str] = {other: "another partner" for other in others}
    for name in (data["ticket"].get("customer_name"), customer.get("name")):
        if isinstance(name, str) and name.strip():
            pairs[name.strip()] = mask_name(name)
            for word in name.split():
                if len(word) >= 3:
                    pairs.setdefault(word, word[0] + "***")
    provider = customer.get("provider_key")
    if isinstance(provider, str) and provider:
        pairs[provider] = mask_value(provider)
    for name, result in data["evidence"].items():
        if name.startswith("cookie"):
            for c in (result.get("cookies") or []) + [result.get("partner_cookie") or {}]:
                value = c.get("value") if isinstance(c, dict) else None
                if isinstance(value, str) and len(value) > 3 and value != data["ticket"].get("partner_key"):
                    pairs[value] = mask_value(value)
    ordered = sorted(pairs, key=len, reverse=True)  # whole names before their words
    return [(re.compile(r"(?<!\w)" + re.escape(v) + r"(?!\w)", re.IGNORECASE), pairs[v]) for v in ordered]


RECONCILE_ROW_LISTS = ("matched", "other_partner", "pending", "missing_from_dashboard", "dashboard_only", "date_unreadable",
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
    data = _redact(data, hide=_hidden_values(data, others))
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
