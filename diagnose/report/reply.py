"""The answer to the partner: a short message in the partner's terms, built from a ticket's ranked
diagnosis (``diagnose reply``, ``diagnose ticket --reply``), as plain text or Markdown.

Safe to send by construction: every sentence is fixed text, either a rule's own ``Reply`` (rules/,
next to the rule) or the connecting sentences here, never a value read from the evidence. The only
value from the ticket is the customer's e-mail address as ``--redact`` masks it (``k***@example.com``),
taken from the redacted view and shown only in that masked shape. Which texts are chosen depends on
the verdicts, on whether the records found the customer's signup, and on what ``diagnose fix
--apply`` logged for this customer (booleans: was the customer added, was the sale recorded).

    confirmed / likely causes -> one paragraph each (statuses that sum up first), what we do, what the
    partner can do; nothing confirmed -> the open questions (report.questions), in the partner's words.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.files import writable_file, write_atomic
from diagnose.core.reading import clean_text
from diagnose.core.ticket import Ticket
from diagnose.pipeline.fix_apply import AUDIT_LIMIT, CREATED, DONE_BEFORE, EXISTS
from diagnose.pipeline.fix_plan import CREATE_CUSTOMER, RECORD_SALE
from diagnose.report.model import TicketReport, redacted
from diagnose.report.output import default_html_path
from diagnose.rules.common import asking_partner
from diagnose.rules.engine import (
    GUIDE_QUESTIONS,
    POSITIVE,
    RULES,
    Facts,
    Reply,
    Verdict,
)

# -- the connecting sentences ------------------------------------------------------------------

GREETING = "Hello,"
THANKS = "Thank you for getting in touch about the customer you referred ({customer})."
THANKS_ANONYMOUS = "Thank you for getting in touch about your referral."
LOOKED = "We have looked into it, and this is what we found."
LOOKED_SO_FAR = "We have looked into it, and this is what we can tell so far."
LOOKED_NOTHING = "We have looked into it, but we cannot yet tell why the customer does not show in your account."
HEDGE = "We cannot be completely sure of this, but it is the most likely explanation."

CREDIT_DONE = "We have now added the customer to your PartnerStack account, credited to you. They should appear " \
              "in your dashboard shortly."
CREDIT_DONE_SALE = "We have now added the customer to your PartnerStack account, credited to you, and recorded " \
                   "their purchase, so the commission your offer provides will follow. They should appear in your " \
                   "dashboard shortly."
CREDIT_WILL = "We will add the customer to your PartnerStack account by hand, credited to you, and record any " \
              "purchase they made, so that you receive the commission your offer provides."
CREDIT_FIND_FIRST = "We will look up the customer's signup in our records and, once we find it, add them to your " \
                    "PartnerStack account by hand, credited to you, together with any purchase they made."
CREDIT_NEED_CUSTOMER = "If you send us the email address the customer signed up with, and roughly when, we will " \
                       "find their signup and add them to your PartnerStack account by hand, credited to you."
CREDIT_ONCE_CONFIRMED = "As soon as we have confirmed that the customer came to us through you, we will add them " \
                        "to your PartnerStack account by hand, credited to you."

ASK_AFTER_FINDINGS = "We could not yet tell why the referral was missed, and a few details would help us find " \
                     "out. Could you check the following with the customer?"
ASK = "A few details would help us find out. Could you check the following with the customer?"
ASK_AFTER = "Whatever you can find out helps, even if not every question has an answer."
STILL_LOOKING = "We are looking into it further and will get back to you as soon as we know more."
CLOSING = "If anything is unclear, just reply to this message."
SIGN_OFF = ("Best regards,", "The partner team")

# The guide's questions (rules/engine.py GUIDE_QUESTIONS), put to the partner.
GUIDE_ASKS = {
    "customer_email": "Which email address did the customer sign up with, and roughly when did they sign up or buy?",
    "link": "Which of your referral links did the customer use?",
    "click_browser": "Which browser and device did the customer click your link on, and did they sign up on the "
                     "same ones?",
}

# A customer's e-mail address as --redact masks it: one character, ***, the domain.
_MASKED_EMAIL = re.compile(r"\w\*\*\*@[\w-]+(?:\.[\w-]+)+")


# -- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixDone:
    """What ``diagnose fix --apply`` logged for the ticket's customer and partner."""

    customer_added: bool = False
    sale_recorded: bool = False


@dataclass(frozen=True)
class PartnerReply:
    opening: tuple[str, ...]
    found: tuple[str, ...]  # one paragraph per confirmed or likely cause or status
    doing: tuple[str, ...]  # what the company did or will do
    partner_can: tuple[str, ...]
    questions: tuple[str, ...]  # asked when nothing explains the miss
    asking: tuple[str, ...]  # the sentences around the questions (before, after)
    rules: tuple[str, ...]  # the rules whose texts were used
    fix: FixDone | None = None

    @property
    def asks(self) -> bool:
        return bool(self.questions)

    def to_dict(self) -> dict[str, Any]:
        return {"rules": list(self.rules), "asks": self.asks, "text": render_text(self),
                "fix": None if self.fix is None else {"customer_added": self.fix.customer_added,
                                                      "sale_recorded": self.fix.sale_recorded}}


def build_reply(report: TicketReport, fix_log: str | Path | None = None) -> PartnerReply:
    """The reply for ``report`` (redacted here unless it is already); ``fix_log``: the JSON Lines
    audit log of ``diagnose fix --apply``, read for this ticket's customer and partner."""
    fix = read_fix_log(fix_log, *_customer_and_partner(report)) if fix_log is not None else None
    view = report if report.redacted else redacted(report)
    chosen = [(f, RULES[f.id]) for f in view.diagnosis
              if f.verdict in POSITIVE and f.id in RULES and RULES[f.id].reply is not None]
    alone = [(f, r) for f, r in chosen if r.reply.alone and f.verdict is Verdict.CONFIRMED]
    chosen = alone[:1] or sorted(chosen, key=lambda pair: not pair[1].reply.opens)  # stable: ranked in groups
    replies: list[Reply] = [r.reply for _, r in chosen]
    answered = any(r.kind == "cause" or r.settles for _, r in chosen)
    found = tuple(_found(f.verdict, r.reply, r.kind) for f, r in chosen)

    customer = _masked_customer(view)
    opening = [THANKS.format(customer=customer) if customer else THANKS_ANONYMOUS]
    opening.append(LOOKED if answered else LOOKED_SO_FAR if found else LOOKED_NOTHING)

    doing = _unique(r.we_do for r in replies)
    credit = _credit(replies, fix, answered, _signup_found(view), _names_customer(view))
    if credit:
        doing.append(credit)
    questions: tuple[str, ...] = ()
    asking: tuple[str, ...] = ()
    if not answered:
        questions = tuple(_partner_questions(view.questions))
        if questions:
            asking = (ASK_AFTER_FINDINGS if found else ASK, ASK_AFTER)
        else:
            doing.append(STILL_LOOKING)
    return PartnerReply(tuple(opening), found, tuple(doing), tuple(_unique(r.partner_can for r in replies)),
                        questions, asking, tuple(f.id for f, _ in chosen), fix)


def _found(verdict: Verdict, reply: Reply, kind: str) -> str:
    if verdict is not Verdict.LIKELY:
        return reply.found
    if reply.likely:
        return reply.likely
    return reply.found + (" " + HEDGE if kind == "cause" else "")


def _unique(texts) -> list[str]:
    return list(dict.fromkeys(t for t in texts if t))


def _credit(replies: list[Reply], fix: FixDone | None, answered: bool, signup_found: bool,
            named: bool) -> str | None:
    """What is said about crediting the customer to the partner by hand."""
    if fix is not None and fix.customer_added:
        return CREDIT_DONE_SALE if fix.sale_recorded else CREDIT_DONE
    credits = [r.credit for r in replies]
    if True not in credits or False in credits:
        return None
    if not answered:
        return CREDIT_ONCE_CONFIRMED
    return CREDIT_WILL if signup_found else CREDIT_FIND_FIRST if named else CREDIT_NEED_CUSTOMER


def _names_customer(report: TicketReport) -> bool:
    """The ticket says who the customer is (an e-mail, a name or their key)."""
    t = report.ticket
    return bool(t.customer_email or t.customer_name or t.customer_key)


def _signup_found(report: TicketReport) -> bool:
    """The records have the customer's signup (reconcile's answer for the ticket's customer)."""
    result = report.evidence.get("reconcile")
    customer = getattr(result.evidence, "customer", None) if result is not None else None
    return bool(getattr(customer, "found_internal", False))


def _masked_customer(report: TicketReport) -> str | None:
    """The redacted view's customer e-mail, only in its masked shape (k***@example.com)."""
    email = report.ticket.customer_email if report.redacted else None
    return email if isinstance(email, str) and _MASKED_EMAIL.fullmatch(email) else None


def _partner_questions(asked: tuple[str, ...]) -> list[str]:
    """The report's questions in the partner's words; a question with no partner wording is left out
    (only fixed texts leave)."""
    words = {text: GUIDE_ASKS[key] for key, text in GUIDE_QUESTIONS if key in GUIDE_ASKS}
    words.update({r.question: r.reply.ask for r in RULES.values() if r.question and r.reply and r.reply.ask})
    return _unique(words.get(q) for q in asked)


# -- diagnose fix's audit log ------------------------------------------------------------------


def _customer_and_partner(report: TicketReport) -> tuple[str | None, str | None]:
    facts = Facts(report.ticket, report.evidence)
    key = facts.get("reconcile", "customer.customer_key") or report.ticket.customer_key
    return key, asking_partner(facts)


def read_fix_log(path: str | Path, customer_key: str | None, partner_key: str | None) -> FixDone:
    """What the audit log of ``diagnose fix --apply`` says was done for this customer, attributed to this
    partner: created, found existing, or done by an earlier run. Lines that are not JSON objects (a run
    cut short) are skipped; a file that cannot be read is a one-line BadInput."""
    p = Path(path)
    try:
        info = os.stat(p)
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"--fix-log {p}: not a regular file")
        if info.st_size > AUDIT_LIMIT:
            raise BadInput(f"--fix-log {p}: over {AUDIT_LIMIT // 2**20} MB")
        with open(p, encoding="utf-8", errors="replace") as log:
            entries = [_entry(line) for line in log]
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise BadInput(f"--fix-log {p}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    if not customer_key or not partner_key:
        return FixDone()
    done = (CREATED, EXISTS, DONE_BEFORE)
    added = sale = False
    for e in entries:
        if e is None or e.get("outcome") not in done or not isinstance(e.get("body"), dict):
            continue
        body = e["body"]
        if e.get("action") == CREATE_CUSTOMER and e.get("key") == customer_key \
                and body.get("partner_key") == partner_key:
            added = True
        elif e.get("action") == RECORD_SALE and body.get("customer_external_key") == customer_key:
            sale = True
    return FixDone(added, added and sale)


def _entry(line: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


# -- rendering ---------------------------------------------------------------------------------


def _blocks(reply: PartnerReply, para, bullet) -> str:
    blocks = [GREETING, " ".join(para(s) for s in reply.opening)]
    blocks += [para(p) for p in (*reply.found, *reply.doing, *reply.partner_can)]
    if reply.questions:
        blocks.append(para(reply.asking[0]))
        blocks.append("\n".join(bullet(n, para(q)) for n, q in enumerate(reply.questions, 1)))
        blocks.append(para(reply.asking[1]))
    blocks.append(para(CLOSING))
    blocks.append("\n".join(para(s) for s in SIGN_OFF))
    return clean_text("\n\n".join(blocks)) + "\n"


def render_text(reply: PartnerReply) -> str:
    """Plain text: one line per paragraph (a support tool or mail client wraps it), questions as '- '."""
    return _blocks(reply, lambda s: s, lambda n, q: f"- {q}")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def render_markdown(reply: PartnerReply) -> str:
    """Markdown: the same message, questions as a numbered list, every special character escaped."""
    return _blocks(reply, lambda s: _MD_SPECIAL.sub(r"\\\1", s), lambda n, q: f"{n}. {q}")


def render(reply: PartnerReply, markdown: bool = False) -> str:
    return render_markdown(reply) if markdown else render_text(reply)


def is_markdown_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in (".md", ".markdown")


def reply_target(reply_path: str, ticket: Ticket, redacted_name: bool) -> Path:
    """The file a ``--reply [FILE]`` writes: FILE, or the report's default name ending in -reply.txt
    (inside FILE when FILE is a directory or ends with a slash); checked before any work starts."""
    try:
        folder = not reply_path or reply_path.endswith(("/", os.sep)) or Path(reply_path).is_dir()
    except (OSError, ValueError):  # a name too long, a NUL: writable_file names the problem
        folder = False
    if folder:
        page = default_html_path(ticket, reply_path or "reports", redacted=redacted_name)
        return writable_file(page.with_name(page.stem + "-reply.txt"), "--reply")
    return writable_file(reply_path, "--reply")


def write_reply(report: TicketReport, path: str | Path, fix_log: str | Path | None = None,
                markdown: bool | None = None) -> Path:
    """Write the partner's reply for ``report`` to ``path`` (Markdown when ``markdown``, or when None
    and the file ends in .md): the one call ``diagnose ticket --reply``, the demo and batch use."""
    target = Path(path)
    text = render(build_reply(report, fix_log), is_markdown_path(target) if markdown is None else markdown)
    write_atomic(target, text)
    return target
