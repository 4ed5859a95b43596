"""The rule engine: pure functions of evidence + ticket facts, no I/O.

A rule declares the evidence it needs (``requires``); when any of it is missing or could not be
gathered (status ``error``) the engine answers ``cannot-tell`` without calling the rule, so a
missing check can never look healthy. Each rule returns a verdict and a one-line reason; the
evidence it read is recorded as it reads it (check, field, value), so every verdict cites what it
relied on.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, Callable

from diagnose.core.evidence import EVIDENCE_TYPES, CheckResult, Status, evidence_check, field_type
from diagnose.core.ticket import Ticket


class Verdict(enum.StrEnum):
    CONFIRMED = "confirmed"
    LIKELY = "likely"
    POSSIBLE = "possible"
    RULED_OUT = "ruled-out"
    CANNOT_TELL = "cannot-tell"


POSITIVE = (Verdict.CONFIRMED, Verdict.LIKELY)


@dataclass(frozen=True)
class Citation:
    check: str  # a check name, or "ticket"
    field: str
    value: Any


@dataclass(frozen=True)
class Finding:
    id: str
    case: int | None
    title: str
    verdict: Verdict
    reason: str  # why this verdict, for this ticket
    explanation: str  # what the case is, in general
    evidence: tuple[Citation, ...] = ()
    next_steps: tuple[str, ...] = ()
    kind: str = "cause"  # "cause" of a missed referral, or "status" (integration-healthy)


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class Reply:
    """What the partner is told when the rule is confirmed or likely, in the partner's terms and in the
    rule's own fixed words (never a value from the evidence, so a reply cannot leak one):
    ``found`` what happened, ``we_do`` what the company does about it, ``partner_can`` what the
    partner can do (next time, or to help now), ``ask`` the rule's ``question`` put to the partner.
    ``likely`` replaces ``found`` when the verdict is only likely (default: ``found``, hedged for a
    cause). ``credit``: a referral missed this way is credited by hand (True), must not be (False: it
    is another partner's, declined, already there...), or no say (None). ``opens``: the paragraph
    sums up what happened, so it comes before the causes. ``alone``: confirmed, it answers the ticket by
    itself and the reply gives no other finding (no signup: no cause of a missed one applies)."""

    found: str
    likely: str | None = None
    we_do: str | None = None
    partner_can: str | None = None
    ask: str | None = None
    credit: bool | None = None
    opens: bool = False
    alone: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    case: int | None
    title: str
    explanation: str
    next_steps: tuple[str, ...]
    requires: tuple[str, ...]  # evidence names; "a|b" means either will do
    fn: Callable[["Facts"], Outcome]
    priority: int
    kind: str = "cause"
    user_side: bool = False  # a cause on the customer's side (cases 2, 3, 5, 6, 10)
    question: str | None = None  # what to ask to tell this case apart
    settles: bool = True  # confirmed, it answers the ticket (nothing left to ask)
    reply: Reply | None = None  # what the partner is told (report/reply.py)


RULES: dict[str, Rule] = {}


def rule(
    id: str,
    *,
    title: str,
    explanation: str,
    next_steps: tuple[str, ...] | list[str],
    requires: tuple[str, ...] | list[str] = (),
    case: int | None = None,
    priority: int,
    kind: str = "cause",
    user_side: bool = False,
    question: str | None = None,
    settles: bool | None = None,
    reply: Reply | None = None,
):
    """Register a rule function ``fn(facts) -> Outcome``. ``settles``: a confirmed verdict answers the
    ticket, so no questions are asked (default: causes do, statuses don't). ``reply``: what the
    partner is told when the rule holds (every cause and status has one: tests/test_reply.py)."""

    def register(fn: Callable[["Facts"], Outcome]) -> Callable[["Facts"], Outcome]:
        if id in RULES:
            raise ValueError(f"rule {id!r} is defined twice")
        RULES[id] = Rule(id, case, title, explanation, tuple(next_steps), tuple(requires), fn,
                         priority, kind, user_side, question, kind == "cause" if settles is None else settles,
                         reply)
        return fn

    return register


def refused(result: CheckResult) -> bool:
    """The check declined to visit a non-public address on its way to the page, so it saw nothing
    of it (a blocked sub-request of a page it did see is only a warning)."""
    problem = result.problem("private-network")
    return problem is not None and problem.severity is Status.FAIL


# Problems with which a browser visit ends before any page, so that its page fields are defaults, not
# readings (the link check reports the same codes as what it found on its way).
_NO_PAGE = {"cookie": ("redirect-loop", "too-many-redirects")}
# Evidence read from the page the link check landed on, and the browser check that opens the same link:
# when the browser found no landing there (a script sent it on to a refused address, or round a loop),
# that page was not where the customer lands.
_LANDING_READ = {"snippet": "cookie"}


def no_page(result: CheckResult) -> str | None:
    """Why a browser visit never ended on a page (its message), or None."""
    for code in _NO_PAGE.get(result.check, ()):
        problem = result.problem(code)
        if problem is not None and problem.severity is Status.FAIL:
            return problem.message or code
    return None


def usable(result: CheckResult) -> bool:
    """Evidence the rules may rely on: the check ran (not ``error``), was not refused, saw a page."""
    return result.status is not Status.ERROR and not refused(result) and no_page(result) is None


def check_path(name: str, path: str) -> None:
    """Raise :class:`~diagnose.core.evidence.UnknownField` when ``path`` is not a field of the evidence
    ``name`` (``cookie-safari-itp`` reads the cookie check's type): a misspelt rule fails where it is
    run (the YAML cases, tests/test_rule_paths.py), instead of reading None as "cannot tell".

    A check whose type is not registered has nothing to check against: its module was never
    imported, so it gathered nothing and there is nothing to read (the tests register every check)."""
    check = evidence_check(name)
    if check in EVIDENCE_TYPES:
        field_type(check, path)  # cached per (check, path)


class Facts:
    """Read-only access to the ticket and the evidence, recording every value a rule reads."""

    def __init__(self, ticket: Ticket, evidence: dict[str, CheckResult]):
        self.ticket = ticket
        self._evidence = evidence
        self.cited: list[Citation] = []

    def _cite(self, check: str, field_: str, value: Any) -> None:
        citation = Citation(check, field_, value)
        if citation not in self.cited:
            self.cited.append(citation)

    def available(self, name: str) -> bool:
        result = self._evidence.get(name)
        return result is not None and usable(result) and self._landing_lost(name) is None

    def _landing_lost(self, name: str) -> str | None:
        """The browser check that found no landing where ``name`` read the page (its evidence name)."""
        browser = _LANDING_READ.get(name)
        return next((other for other, result in self._evidence.items() if browser is not None
                     and evidence_check(other) == browser and (refused(result) or no_page(result))), None)

    def why_unavailable(self, name: str) -> str:
        result = self._evidence.get(name)
        if result is None:
            return f"no {name} evidence was gathered"
        if refused(result):
            return (f"the {name} check refused a non-public address (allow private networks "
                    "for a test or staging site)")
        if (loop := no_page(result)) is not None:
            return f"the {name} check never reached a page: {loop}"
        if (browser := self._landing_lost(name)) is not None:
            return (f"the page the {name} check read is not where the customer lands: "
                    f"{self.why_unavailable(browser)}")
        errors = [p.message for p in result.problems if p.severity is Status.ERROR]
        return f"the {name} check could not run: {errors[0] if errors else 'error'}"

    def fact(self, key: str) -> Any:
        value = getattr(self.ticket, key)
        if value is not None:
            self._cite("ticket", key, value.isoformat() if hasattr(value, "isoformat") else value)
        return value

    def get(self, name: str, path: str, default: Any = None) -> Any:
        """A field of an available check's evidence (``a.b`` for nested fields), cited. A path that is
        not in the evidence's schema raises UnknownField, whether or not the evidence is there."""
        check_path(name, path)
        if not self.available(name):
            return default
        value: Any = self._evidence[name].evidence
        for part in path.split("."):
            if value is None:
                break
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
        if value is None:
            return default
        if not dataclasses.is_dataclass(value):  # cite values, not whole records
            self._cite(name, path, value)
        return value

    def problem(self, name: str, code: str) -> bool:
        """Did the (available) check ``name`` report ``code``? Cited when it did."""
        if not self.available(name):
            return False
        found = self._evidence[name].problem(code)
        if found is not None:
            self._cite(name, "problems", code)
        return found is not None

    def message(self, name: str, code: str) -> str | None:
        """What the (available) check said with ``code``, for a reason in words."""
        if not self.available(name):
            return None
        found = self._evidence[name].problem(code)
        return found.message if found is not None and found.message else None

    def status(self, name: str) -> Status | None:
        if name not in self._evidence:
            return None
        status = self._evidence[name].status
        self._cite(name, "status", str(status))
        return status


_VERDICT_ORDER = {
    Verdict.CONFIRMED: 0,
    Verdict.LIKELY: 1,
    Verdict.POSSIBLE: 3,
    Verdict.CANNOT_TELL: 4,
    Verdict.RULED_OUT: 5,
}


def _rank(finding: Finding, priority: int) -> tuple[int, int]:
    # A positive cause outranks "the integration is healthy": that only says the cause lies elsewhere.
    order = _VERDICT_ORDER[finding.verdict]
    if finding.kind == "status" and finding.verdict in POSITIVE:
        order = 2
    return order, priority


def evaluate(rule_: Rule, facts: Facts) -> Finding:
    missing = [
        alternatives
        for alternatives in rule_.requires
        if not any(facts.available(name) for name in alternatives.split("|"))
    ]
    if missing:
        reasons = "; ".join(
            " and ".join(facts.why_unavailable(name) for name in m.split("|")) for m in missing
        )
        return Finding(rule_.id, rule_.case, rule_.title, Verdict.CANNOT_TELL, reasons,
                       rule_.explanation, (), rule_.next_steps, rule_.kind)
    facts.cited = []
    outcome = rule_.fn(facts)
    return Finding(rule_.id, rule_.case, rule_.title, outcome.verdict, outcome.reason,
                   rule_.explanation, tuple(facts.cited), rule_.next_steps, rule_.kind)


def diagnose(ticket: Ticket, evidence: dict[str, CheckResult]) -> list[Finding]:
    """Run every rule; return the findings ranked (confirmed first)."""
    facts = Facts(ticket, evidence)
    findings = [(evaluate(r, facts), r.priority) for r in RULES.values()]
    findings.sort(key=lambda pair: _rank(*pair))
    return [f for f, _ in findings]


GUIDE_QUESTIONS = (
    ("customer_email", "What is the customer's name and email address, and on what date did they sign up or buy?"),
    ("link", "Which link did the customer click?"),
    ("click_browser", "Which browser and device did the customer click the link on, and did they sign up on the same ones?"),
)


def questions(ticket: Ticket, findings: list[Finding]) -> list[str]:
    """What to ask the partner or customer when the evidence can't separate the causes."""
    asked: list[str] = []
    open_user_side = [
        f for f in findings
        if RULES[f.id].user_side and f.verdict in (Verdict.POSSIBLE, Verdict.CANNOT_TELL)
    ]
    if any(f.verdict is Verdict.CONFIRMED and RULES[f.id].settles for f in findings):
        return asked  # the evidence has found the answer: nothing to ask
    for key, text in GUIDE_QUESTIONS:
        if getattr(ticket, key) is None:
            asked.append(text)
    browser_asked = ticket.click_browser is None  # the guide's third question covers case 6
    for f in open_user_side:
        q = RULES[f.id].question
        if f.id == "case-6" and browser_asked:
            continue
        if q and q not in asked:
            asked.append(q)
    return asked
