"""Saved evidence: gather once (``ticket --save-evidence``), explain offline (``explain``), like
Lighthouse's -G / -A. Loading is strict: an unknown or misspelt field, a wrong type or a missing
required field is a one-line error naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import CheckResult
from diagnose.core.ticket import Ticket, from_mapping

EVIDENCE_FORMAT = "diagnose-evidence/1"


def result_from_dict(data: Any) -> CheckResult:
    """A saved check result, with every check's evidence type registered first."""
    from diagnose.checks import load_all

    load_all()
    return CheckResult.from_dict(data)


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
            evidence[name] = result_from_dict(result)
        except ValueError as exc:
            raise BadInput(f"evidence file {p}: entry {name!r}: {exc}") from None
    return ticket, evidence


