"""What one reconciliation is asked to do (:class:`ReconcileOptions`), checked before any file is
read, and the stages it reports to a progress callback (:func:`stages`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from diagnose.core.errors import BadInput
from diagnose.checks.reconcile.model import MATCH_ON

STAGES = ("reading a file", "reading a file", "matching by customer_key", "matching by e-mail", "duplicates",
          "sorting out unmatched rows", "bucketing pairs")


@dataclass(frozen=True)
class ReconcileOptions:
    """``mapping``: ``{"dashboard.email": "E-mail address", ...}`` header overrides (``""`` / ``"-"``:
    no column for that field). ``match_on``: ``key+email`` (customer_key first, then e-mail),
    ``email`` or ``key`` (keys are then only shown, or e-mails only shown). ``loose=False`` turns
    all loose e-mail rules off; ``case_or_space`` / ``plus_tag`` / ``gmail_dots`` turn one off.
    ``rows=False`` keeps only the first rows of each bucket (the counts stay whole).
    ``missed_out``: write the missing_from_dashboard rows as an import-ready CSV there."""

    partner: str | None = None
    customer: str | None = None
    mapping: Mapping[str, str | None] | None = None
    match_on: str = "key+email"
    since: date | None = None
    until: date | None = None
    window_days: int = 90
    loose: bool = True
    case_or_space: bool = True
    plus_tag: bool = True
    gmail_dots: bool = True
    rows: bool = True
    missed_out: str | Path | None = None
    dashboard_label: str | None = None  # what to call the dashboard side (the API) instead of its file's path

    def check(self) -> None:
        """BadInput for options that contradict themselves."""
        if self.window_days < 0:
            raise BadInput("--window-days must be 0 or more")
        if self.since and self.until and self.since > self.until:
            raise BadInput(f"--since {self.since} is after --until {self.until}")
        if self.customer is not None and not self.customer.strip():
            raise BadInput("--customer is empty: give an e-mail or a customer_key")
        if self.match_on not in MATCH_ON:
            raise BadInput(f"--match-on {self.match_on!r}: expected one of {', '.join(MATCH_ON)}")

    @property
    def by_key(self) -> bool:
        return self.match_on in ("key+email", "key")

    @property
    def by_email(self) -> bool:
        return self.match_on in ("key+email", "email")

    @property
    def rules(self) -> tuple[bool, bool, bool]:
        """(case_or_space, plus_tag, gmail_dots) as they apply: ``loose=False`` turns all three off."""
        return self.loose and self.case_or_space, self.loose and self.plus_tag, self.loose and self.gmail_dots

    @property
    def loose_rules(self) -> tuple[str, ...]:
        return tuple(n for n, on in zip(("case-or-space", "plus-tag", "gmail-dots"), self.rules) if on)


def stages(*, missed_out: bool = False, json_out: bool = False) -> tuple[str, ...]:
    """The stages :func:`~diagnose.checks.reconcile.check.reconcile_files` reports to ``progress``, in
    order (one call each)."""
    return STAGES + (("writing the missed-out CSV",) if missed_out else ()) + ("building evidence",) + (
        ("writing JSON",) if json_out else ())
