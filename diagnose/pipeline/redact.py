"""Redaction for a report that leaves the company (``--redact``), driven by what the evidence types
and the ticket declare about their fields (``core.evidence.sensitive``), not by lists of field names.

Two passes over the report's JSON form, each walked alongside its types:
1. collect: every field marked sensitive gives its value (rows are dropped and paths cut to the
   file name in place; cookie values, names, provider ids and other partners' keys are remembered);
2. hide: in every string anywhere (URLs, messages, reasons, tables) e-mail addresses are masked and
   each remembered value is replaced, so a value is hidden wherever it appears, not only in its field.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import PurePath
from typing import Any

from diagnose.core.evidence import EVIDENCE_TYPES
from diagnose.core.ticket import Ticket

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


def _inner(tp: Any) -> Any:
    """The dataclass inside Optional[...] / tuple[..., ...] / list[...], if any."""
    if dataclasses.is_dataclass(tp):
        return tp
    for arg in typing.get_args(tp):
        found = _inner(arg)
        if found is not None:
            return found
    return None


class _Collector:
    def __init__(self, own_partner: str | None):
        self.own_partner = own_partner
        self.hide: dict[str, str] = {}  # value -> what stands in its place

    def remember(self, kind: str, value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            return
        value = value.strip()
        if kind == "partner":
            if value != self.own_partner:
                self.hide[value] = "another partner"
        elif kind == "person":
            self.hide[value] = mask_name(value)  # the whole name: its words alone are ordinary words
        elif kind in ("secret", "account") and len(value) > 3 and value != self.own_partner:
            self.hide[value] = mask_value(value)

    def walk(self, tp: type, node: Any) -> None:
        """Act on the sensitive fields of ``node`` (the JSON form of a ``tp``) in place."""
        if isinstance(node, list):
            for item in node:
                self.walk(tp, item)
            return
        if not isinstance(node, dict):
            return
        hints = typing.get_type_hints(tp)
        for f in dataclasses.fields(tp):
            if f.name not in node:
                continue
            kind = f.metadata.get("sensitive")
            value = node[f.name]
            if kind == "rows":
                node[f.name] = []
                continue
            if kind == "path" and isinstance(value, str):
                node[f.name] = PurePath(value).name
            elif kind == "secret" and isinstance(value, str):
                node[f.name] = mask_value(value)
            if kind:
                self.remember(kind, value)
            inner = _inner(hints[f.name])
            if inner is not None:
                self.walk(inner, value)


# Fields that hold the tool's own vocabulary (check names, codes, ids, statuses), never a user's value.
VOCABULARY = frozenset({"check", "status", "severity", "code", "id", "verdict", "kind", "field", "bucket",
                        "match_reason", "dashboard_status_class", "policy", "how", "format", "source", "redacted"})


def _hide_everywhere(node: Any, patterns: list[tuple[re.Pattern[str], str]], key: str | None = None) -> Any:
    if isinstance(node, dict):
        return {k: _hide_everywhere(v, patterns, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_hide_everywhere(v, patterns, key) for v in node]
    if isinstance(node, str) and key not in VOCABULARY:
        node = mask_email(node)
        for pattern, replacement in patterns:
            node = pattern.sub(replacement, node)
    return node


def redact_data(data: dict[str, Any]) -> dict[str, Any]:
    """Redact a report's JSON form (``ticket``, ``evidence``, and anything else: every string)."""
    from diagnose.checks import load_all

    load_all()
    ticket = data.get("ticket") or {}
    collector = _Collector(ticket.get("partner_key"))
    collector.walk(Ticket, ticket)
    for result in (data.get("evidence") or {}).values():
        tp = EVIDENCE_TYPES.get(result.get("check")) if isinstance(result, dict) else None
        if tp is not None:
            collector.walk(tp, result)
    ordered = sorted(collector.hide, key=len, reverse=True)  # whole names before their words
    patterns = [(re.compile(r"(?<!\w)" + re.escape(v) + r"(?!\w)", re.IGNORECASE), collector.hide[v])
                for v in ordered]
    return _hide_everywhere(data, patterns)
