"""Terminal tables (tabulate) for people at a terminal."""

from __future__ import annotations

import dataclasses
from functools import singledispatch
from typing import Any

from diagnose.report.model import DemoSummary, FixReport, TicketReport
from diagnose.core.evidence import CheckResult

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


def terminal_width() -> int:
    """The terminal's width ($COLUMNS first); 100 when there is no terminal to ask."""
    import shutil

    return max(40, shutil.get_terminal_size((100, 24)).columns)


def fit_widths(natural: list[int], total: int, gap: int = 2, floor: int = 8) -> list[int | None]:
    """Column caps that make a table fit ``total`` characters: the widest columns are capped at one
    common width (found by bisection) and wrap; columns narrower than that keep their width."""
    budget = total - gap * (len(natural) - 1)
    if sum(natural) <= budget:
        return [None] * len(natural)
    lo, hi = floor, max(natural)
    while lo < hi:  # the largest cap whose table still fits
        mid = (lo + hi + 1) // 2
        if sum(min(w, mid) for w in natural) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return [lo if w > lo else None for w in natural]


def table(rows: list[list[Any]], headers: list[str] | str = (), wrap: bool = False,
          width: int | None = None) -> str:
    """A table as wide as the terminal at most: long cells wrap. ``wrap`` keeps whole long texts
    (wrapped) instead of cutting them at MAX_CELL characters."""
    from tabulate import tabulate

    body = [[cell(c, 2000 if wrap else MAX_CELL) for c in row] for row in rows]
    if not body:
        return tabulate(body, headers=headers, tablefmt="simple")
    heads = list(headers) if isinstance(headers, (list, tuple)) else []
    pad = 2 if heads else 0  # tabulate pads a column with a header by two characters
    natural = [max([len(h) + pad for h in heads[i:i + 1]] + [len(r[i]) for r in body]) for i in range(len(body[0]))]
    total = width or terminal_width()
    caps = fit_widths(natural, total, floor=8 + pad)
    fitted = sum(min(w, c or w) for w, c in zip(natural, caps)) + 2 * (len(natural) - 1)
    if heads and fitted > total:  # too many columns to fit even wrapped: one record after another
        return _records(heads, body, total)
    head_caps = [c - pad if c else None for c in caps]
    return tabulate(body, headers=headers, tablefmt="simple", maxcolwidths=caps, maxheadercolwidths=head_caps)


def _records(heads: list[str], body: list[list[str]], total: int) -> str:
    """Rows as blocks of 'name  value' lines, for tables too wide for the terminal."""
    import textwrap

    pad = max(len(h) for h in heads) + 2
    blocks = []
    for row in body:
        lines = []
        for head, value in zip(heads, row):
            wrapped = textwrap.wrap(value, max(20, total - pad), break_on_hyphens=False) or [""]
            lines.append(head.ljust(pad) + wrapped[0])
            lines.extend(" " * pad + more for more in wrapped[1:])
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _para(text: str, first: str = "", rest: str = "") -> str:
    """Prose wrapped to the terminal's width."""
    import textwrap

    return textwrap.fill(text, terminal_width(), initial_indent=first, subsequent_indent=rest or first,
                         break_on_hyphens=False)


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
    return table([[p.severity, p.code, p.message] for p in result.problems], ["severity", "problem", "message"],
                 wrap=True)


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


@render.register(TicketReport)
def _(report: TicketReport, **_: Any) -> str:
    t = report.ticket
    facts = [[k, v] for k, v in t.to_dict().items() if v is not None]
    parts = ["Ticket" + (" (redacted)" if report.redacted else ""), table(facts) if facts else "(empty ticket)"]
    rows = [[f.verdict, f.id, f.title, f.reason] for f in report.shown]
    parts.append("Diagnosis (ranked)\n" + table(rows, ["verdict", "id", "title", "why"], wrap=True))
    if report.also_possible:
        parts.append(_para("Also possible on the customer's side, if the above does not explain it: "
                           + ", ".join(f.id for f in report.also_possible), "", "  "))
    if report.ruled_out:
        parts.append(_para("Ruled out: " + ", ".join(f.id for f in report.ruled_out), "", "  "))
    for f, steps, shared in report.next_steps():
        lines = [_para(f"{i}. {s}", "  ", "     ") for i, s in enumerate(steps, 1)]
        if shared:
            lines.append(_para(f"(and the steps above, under {shared})", "  "))
        cited = "; ".join(f"{c.check}.{c.field}={cell(c.value, 60)}" for c in f.evidence[:6])
        parts.append(_para(f"Next steps for {f.id} ({f.verdict}): {f.title}") + "\n" + "\n".join(lines)
                     + (f"\n{_para('evidence: ' + cited, '  ', '    ')}" if cited else ""))
    if report.questions:
        parts.append("Questions to ask the partner or customer\n"
                     + "\n".join(_para(f"- {q}", "  ", "    ") for q in report.questions))
    ev_rows = []
    for name, result in report.evidence.items():
        codes = ", ".join(result.codes()) or "-"
        ev_rows.append([name, result.status, codes])
    parts.append("Evidence\n" + (table(ev_rows, ["check", "status", "problems"]) if ev_rows else "(none gathered)"))
    return "\n\n".join(parts)



@render.register(DemoSummary)
def _(summary: DemoSummary, **_: Any) -> str:
    rows = [[r.ticket, r.id, r.verdict, "ok" if r.ok else f"EXPECTED {r.expected}", f"{r.seconds:.2f}s"]
            for r in summary.rows]
    parts = [table(rows, ["ticket", "top diagnosis", "verdict", "check", "time"])]
    ok = sum(r.ok for r in summary.rows)
    parts.append(f"{ok}/{len(summary.rows)} tickets got their intended diagnosis.")
    fixes = [f"- {r.ticket}: {r.fix}" for r in summary.rows if r.fix]
    if fixes:
        parts.append("Fixed through the stand-in PartnerStack API (plans and audit log beside the reports):\n"
                     + "\n".join(fixes))
    if summary.browser is None:
        parts.append("No browser was found, so the browser checks did not run and their findings are "
                     "cannot-tell: install Chromium ('apt-get install chromium' or "
                     "'playwright install chromium') for the full demo.")
    parts.append(f"HTML reports: {summary.index}")
    return "\n\n".join(parts)


@render.register(FixReport)
def _(report: FixReport, **_: Any) -> str:
    plan = report.plan
    parts = []
    if plan.test_keys:
        parts.append("These are TEST API keys: what is created is test data, under the program's test mode.")
    outcome = {id(r.step): r for r in report.results or ()}
    if report.dry_run:
        lead = (f"Dry run: {len(plan.steps)} request(s) would be sent; nothing was sent. "
                "Run again with --apply to send them." if plan.steps else "Nothing to send.")
    else:
        counts: dict[str, int] = {}
        for r in report.results or ():
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        lead = "Applied: " + (", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "nothing to send")
    parts.append(_para(f"Plan from {plan.source}") + "\n" + _para(lead))
    for n, step in enumerate(plan.steps, 1):  # each request as it is sent: method, path, body
        head = f"{n}. {step.action}: {step.method} /{step.path}  (key {step.key})"
        r = outcome.get(id(step))
        if r is not None:
            answer = r.response_key or r.message
            head += f"  -> {r.outcome}" + (f" ({answer})" if answer else "")
        body = "  ".join(f"{k}={cell(v, 60)}" for k, v in step.body.items())
        parts.append(_para(head, "", "   ") + "\n" + _para(body, "   ", "   "))
    if plan.skipped:
        parts.append("Not planned\n" + "\n".join(_para(f"- {s}", "  ", "    ") for s in plan.skipped))
    if report.audit_log:
        parts.append(f"Audit log: {report.audit_log}")
    return "\n\n".join(parts)
