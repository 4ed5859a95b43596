"""Saved evidence: gather once (``ticket --save-evidence``), explain offline (``explain``), like
Lighthouse's -G / -A. Loading is strict: an unknown or misspelt field, a wrong type or a missing
required field is a one-line error naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import CheckResult, shorten
from diagnose.core.files import write_atomic
from diagnose.core.reading import EVIDENCE_LIMIT, clean_text, parse_json, read_text
from diagnose.core.ticket import Ticket, from_mapping

EVIDENCE_FORMAT = "diagnose-evidence/1"


def result_from_dict(data: Any, name: str | None = None) -> CheckResult:
    """A saved check result, with every check's evidence type registered first. ``name``: the
    evidence name it was saved under, which must belong to its check."""
    from diagnose.checks import load_all

    load_all()
    return CheckResult.from_dict(data, name)


def save_evidence(path: str | Path, ticket: Ticket, evidence: dict[str, CheckResult], *,
                  redacted: bool = False) -> None:
    """``redacted``: the ticket and evidence are ``--redact``'s (masked values load as written)."""
    data = {
        "format": EVIDENCE_FORMAT,
        "ticket": ticket.to_dict(),
        "evidence": {name: result.to_dict() for name, result in evidence.items()},
    }
    if redacted:
        data["redacted"] = True
    write_atomic(path, clean_text(json.dumps(data, indent=2, ensure_ascii=False)))  # lone surrogates: U+FFFD


FILE_KEYS = ("format", "ticket", "evidence", "redacted")


def load_evidence(path: str | Path) -> tuple[Ticket, dict[str, CheckResult]]:
    """Read a file written by :func:`save_evidence`. Anything wrong with it is a one-line BadInput
    naming the field by its path (``evidence file X: reconcile.customer: unknown field 'bukcet'``)."""
    from diagnose.checks.registry import EVIDENCE_ORDER

    p = Path(path)
    data = parse_json(read_text(p, "evidence file", EVIDENCE_LIMIT), f"evidence file {p}")
    if not isinstance(data, dict) or data.get("format") != EVIDENCE_FORMAT:
        raise BadInput(f"{p} is not a diagnose evidence file (expected \"format\": \"{EVIDENCE_FORMAT}\")")
    unknown = [k for k in data if k not in FILE_KEYS]
    if unknown:
        raise BadInput(f"evidence file {p}: unknown field {shorten(unknown[0])} (known: {', '.join(FILE_KEYS)})")
    for key in ("ticket", "evidence"):
        if key not in data:
            raise BadInput(f"evidence file {p}: missing field {key!r}")
        if not isinstance(data[key], dict):
            raise BadInput(f"evidence file {p}: {key}: expected an object, got {type(data[key]).__name__}")
    try:
        ticket = from_mapping(data["ticket"], masked=data.get("redacted") is True)  # strict, naming the key
    except BadInput as exc:
        raise BadInput(f"evidence file {p}: {exc}") from None
    evidence = {}
    for name, result in data["evidence"].items():
        if name not in EVIDENCE_ORDER:
            raise BadInput(f"evidence file {p}: evidence: unknown evidence {shorten(name)} "
                           f"(known: {', '.join(EVIDENCE_ORDER)})")
        try:
            evidence[name] = result_from_dict(result, name)
        except ValueError as exc:
            raise BadInput(f"evidence file {p}: entry {name!r}: {exc}") from None
    return ticket, evidence
