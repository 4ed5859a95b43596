"""Terminal tables (tabulate) for people at a terminal."""

from __future__ import annotations

import dataclasses
from functools import singledispatch
from typing import Any

from diagnose.evidence import CheckResult

MAX_ROWS = 10
MAX_CELL = 100


def cell(value: Any, width: int = MAX_CELL) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        text = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    elif isinstance(value, (list, tuple)):
        text = ", ".join(cell(v, width) for v in value) or "-"
    else:
        text = str(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[list[Any]], headers: list[str] | str = ()) -> str:
    from tabulate import tabulate

    return tabulate([[cell(c) for c in row] for row in rows], headers=headers, tablefmt="simple")


def _is_record_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(
        dataclasses.is_dataclass(v) or isinstance(v, dict) for v in value
    )


def _as_mapping(record: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(record):
        return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    return dict(record)


def record_table(records: list[Any] | tuple[Any, ...], limit: int = MAX_ROWS) -> str:
    rows = [_as_mapping(r) for r in records[:limit]]
    headers = list(dict.fromkeys(k for r in rows for k in r))
    text = table([[r.get(h) for h in headers] for r in rows], headers)
    if len(records) > limit:
        text += f"\n… {len(records) - limit} more (use --json for all)"
    return text


def problems_table(result: CheckResult) -> str:
    if not result.problems:
        return "No problems found."
    return table([[p.severity, p.code, p.message] for p in result.problems], ["severity", "problem", "message"])


@singledispatch
def render(model: Any, **_: Any) -> str:
    raise TypeError(f"no terminal view for {type(model).__name__}")


@render.register
def _(result: CheckResult, **_: Any) -> str:
    ev = result.evidence
    scalars: list[list[Any]] = []
    sections: list[str] = []
    for f in dataclasses.fields(ev):
        value = getattr(ev, f.name)
        if _is_record_list(value):
            sections.append(f"{f.name}:\n" + record_table(value))
        elif dataclasses.is_dataclass(value):
            scalars.extend([[f"{f.name}.{k}", v] for k, v in _as_mapping(value).items()])
        else:
            scalars.append([f.name, value])
    parts = [f"{result.check} check: {result.status.upper()}", table(scalars)]
    parts.extend(sections)
    parts.append(problems_table(result))
    return "\n\n".join(parts)
