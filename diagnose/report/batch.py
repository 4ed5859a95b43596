"""A batch's results: one :class:`BatchRow` per ticket (its report's top finding, or why it could
not be run), the files of a batch's folder, and the :class:`BatchSummary` the command prints.

OUT/
  results.jsonl   one line per ticket as it finishes (BatchRow.to_dict); --resume reads it
  summary.csv     SUMMARY_COLUMNS, spreadsheet-safe (core/csvsafe.py)
  index.html      the same table, sorted by clicking a column's header
  tickets/NAME.html, tickets/NAME.evidence.json   each ticket's report and evidence
  screenshots/    the landing pages seen in the browser

summary.csv and results.jsonl grow as tickets finish (a batch stopped half-way keeps its rows);
when the batch ends, summary.csv and index.html are written again from results.jsonl in the
tickets' order, the latest result of each ticket only.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose.core.csvsafe import neutralise
from diagnose.core.errors import BadInput, ExitCode
from diagnose.core.files import write_atomic
from diagnose.core.reading import clean_text

STATUSES = ("ok", "problem", "incomplete", "failed")  # nothing found; a problem found; evidence missing; not run
SUMMARY_COLUMNS = ("ticket", "customer", "top_finding", "finding_id", "verdict", "case", "next_step", "status",
                   "report", "reply", "error", "source")
RESULTS, SUMMARY, INDEX, TICKETS, SCREENSHOTS = "results.jsonl", "summary.csv", "index.html", "tickets", "screenshots"


@dataclass(frozen=True)
class BatchRow:
    ticket: str  # the ticket's name (its file's, or its table row's)
    key: str
    digest: str
    source: str
    position: int
    status: str  # one of STATUSES
    customer: str | None = None
    finding_id: str | None = None
    top_finding: str | None = None
    verdict: str | None = None
    kind: str | None = None  # the top finding's: a cause, or a status (integration-healthy, already-tracked)
    case: int | None = None
    next_step: str | None = None
    report: str | None = None  # relative to the batch's folder
    reply: str | None = None  # the partner's reply, relative to the batch's folder
    evidence: str | None = None
    error: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> BatchRow:
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or not {"ticket", "key", "status"} <= set(data):
            raise ValueError("not a batch result")
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def exit_code(self) -> int:
        return {"ok": ExitCode.OK, "problem": ExitCode.PROBLEM}.get(self.status, ExitCode.INCOMPLETE)


def row_from_report(item: Any, report: Any, code: int, html: str, evidence: str, seconds: float,
                    reply: str | None = None) -> BatchRow:
    """A diagnosed ticket's row (``code``: its exit code as ``diagnose ticket`` would end)."""
    t, top = report.ticket, report.top
    steps = report.next_steps(limit=1)
    step = next((s for _, new, _ in steps for s in new), None)
    if step is None and report.questions:
        step = f"Ask: {report.questions[0]}"
    status = {ExitCode.OK: "ok", ExitCode.PROBLEM: "problem"}.get(code, "incomplete")
    return BatchRow(item.name, item.key, item.digest, item.source, item.position, status,
                    customer=t.customer_email or t.customer_name or t.customer_key,
                    finding_id=top.id if top else None, top_finding=top.title if top else None,
                    verdict=str(top.verdict) if top else None, kind=top.kind if top else None,
                    case=top.case if top else None, next_step=step, report=html, reply=reply, evidence=evidence,
                    error=_why_incomplete(report) if status == "incomplete" else None, seconds=round(seconds, 2))


def _why_incomplete(report: Any) -> str | None:
    """Why a ticket is cannot-tell, in one line: the first check whose evidence the rules could not use
    ('link: cannot connect to ...'), so that the summary's error column says it (a new user found it
    empty for an unreachable link)."""
    from diagnose.core.evidence import Status
    from diagnose.rules.engine import usable

    for name, result in report.evidence.items():
        if not usable(result):
            problem = next((p for p in result.problems if p.severity is Status.ERROR), None) or next(
                iter(result.problems), None)
            text = f"{name}: {problem.message}" if problem else f"{name}: could not run"
            return " ".join(text.split())[:300]
    return None


def failed_row(item: Any, ticket: Any, error: str, seconds: float) -> BatchRow:
    customer = (ticket.customer_email or ticket.customer_name or ticket.customer_key) if ticket is not None else None
    return BatchRow(item.name, item.key, item.digest, item.source, item.position, "failed", customer=customer,
                    error=error, seconds=round(seconds, 2))


def finish_ticket(gathered: Any, files: BatchFiles, redact: bool = False) -> BatchRow:
    """On a worker's thread: the rules on the ticket's evidence, its report and evidence files, its row.
    A ticket that could not be run gets a failed row (and no stale report of an earlier run)."""
    from diagnose.core.files import write_atomic
    from diagnose.pipeline.evidence_io import save_evidence
    from diagnose.report import render
    from diagnose.report.model import build_report, exit_code, redacted
    from diagnose.report.reply import write_reply

    item = gathered.item
    html, evidence = files.paths(item.name)
    reply = html.with_name(f"{item.name}-reply.txt")
    if gathered.error is not None:
        for path in (html, evidence, reply):
            path.unlink(missing_ok=True)
        return failed_row(item, None if redact else gathered.ticket, gathered.error, gathered.seconds)
    report = build_report(gathered.ticket, gathered.evidence, embed_screenshots=True)
    if redact:
        report = redacted(report)
    save_evidence(evidence, report.ticket, report.evidence, redacted=report.redacted)
    write_atomic(html, render("html", report))
    write_reply(report, reply)  # always from the redacted view, whatever --redact says
    return row_from_report(item, report, exit_code(report), f"{TICKETS}/{html.name}", f"{TICKETS}/{evidence.name}",
                           gathered.seconds, f"{TICKETS}/{reply.name}")


class BatchFiles:
    """A batch's folder: checked before any ticket runs, then written as tickets finish."""

    def __init__(self, out: str | Path, resume: bool = False):
        self.out = Path(out)
        self.resume = resume
        self.results, self.summary, self.index = (self.out / n for n in (RESULTS, SUMMARY, INDEX))
        self.tickets, self.screenshots = self.out / TICKETS, self.out / SCREENSHOTS
        self._results_fh = self._summary_fh = None
        self._csv: Any = None

    def check(self, inputs: list[Path]) -> None:
        """Every output path, before any work (BadInput naming --out): writable, no input overwritten,
        no earlier batch's results overwritten unless resumed."""
        from diagnose.core.files import distinct_outputs, writable_dir, writable_file

        writable_dir(self.out, "--out")
        for folder in (self.tickets, self.screenshots):
            writable_dir(folder, "--out")
        for path in (self.results, self.summary, self.index):
            writable_file(path, "--out")
        if self.results.exists() and not self.resume:
            raise BadInput(f"--out: {self.out} holds an earlier batch's results ({RESULTS}): add --resume to "
                           "continue it, or choose another --out")
        outputs = {f"--out ({p.name})": p for p in (self.results, self.summary, self.index)}
        distinct_outputs(outputs, [str(p) for p in inputs])
        taken = {p.resolve() for p in inputs}
        for folder in (self.tickets, self.screenshots):
            if any(p.parent == folder.resolve() for p in taken):
                raise BadInput(f"--out: the tickets are in {folder}, where the batch writes its reports; "
                               "choose another --out")

    def done(self) -> set[tuple[str, str]]:
        """(key, digest) of every ticket with a result that is not a failure (what --resume skips)."""
        return {(r.key, r.digest) for r in self.rows() if r.status != "failed"}

    def rows(self) -> list[BatchRow]:
        """The latest result of each ticket in results.jsonl (a line that cannot be read is skipped:
        a batch killed mid-line; that ticket runs again on --resume)."""
        latest: dict[str, BatchRow] = {}
        if not self.results.is_file():
            return []
        with open(self.results, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    row = BatchRow.from_dict(json.loads(line))
                except (ValueError, TypeError):
                    continue
                latest.pop(row.key, None)
                latest[row.key] = row
        return list(latest.values())

    def paths(self, name: str) -> tuple[Path, Path]:
        return self.tickets / f"{name}.html", self.tickets / f"{name}.evidence.json"

    def open(self) -> None:
        new_summary = not self.summary.exists() or self.summary.stat().st_size == 0
        self._results_fh = open(self.results, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._summary_fh = open(self.summary, "a", encoding="utf-8", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._summary_fh)
        if new_summary:
            self._csv.writerow(SUMMARY_COLUMNS)
            self._summary_fh.flush()

    def add(self, row: BatchRow) -> None:
        """One finished ticket: a line of results.jsonl and of summary.csv, on disk at once."""
        self._results_fh.write(clean_text(json.dumps(row.to_dict(), ensure_ascii=False)) + "\n")
        self._results_fh.flush()
        self._csv.writerow(_csv_cells(row))
        self._summary_fh.flush()

    def close(self) -> None:
        for fh in (self._results_fh, self._summary_fh):
            if fh is not None:
                fh.close()
        self._results_fh = self._summary_fh = None

    def finish(self, title: str) -> list[BatchRow]:
        """summary.csv and index.html written again from results.jsonl, in the tickets' order."""
        self.close()
        rows = sorted(self.rows(), key=lambda r: (r.position, r.key))
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(SUMMARY_COLUMNS)
        for row in rows:
            writer.writerow(_csv_cells(row))
        write_atomic(self.summary, clean_text(buffer.getvalue()))
        write_atomic(self.index, render_index(rows, title))
        return rows


def _csv_cells(row: BatchRow) -> list[Any]:
    return [neutralise(clean_text(str(v)) if isinstance(v, str) else ("" if v is None else v))
            for v in (getattr(row, c) for c in SUMMARY_COLUMNS)]


# -- the index page ----------------------------------------------------------------------------------

SORT_JS = """document.querySelectorAll('th[data-col]').forEach(function (th) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0], col = +th.dataset.col, up = th.dataset.dir !== 'up';
    th.closest('tr').querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = up ? 'up' : 'down';
    var key = function (tr) { var td = tr.cells[col]; return td.dataset.sort !== undefined ? td.dataset.sort : td.textContent.trim(); };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return up ? c : -c;
    });
    rows.forEach(function (tr) { body.appendChild(tr); });
  });
});"""


def render_index(rows: list[BatchRow], title: str) -> str:
    import base64
    import hashlib

    from diagnose import __version__
    from diagnose.report.html import environment

    digest = base64.b64encode(hashlib.sha256(SORT_JS.encode("utf-8")).digest()).decode("ascii")
    counts = Counter(r.status for r in rows)
    return clean_text(environment().get_template("batch_index.html.j2").render(
        rows=rows, title=title, version=__version__, script=SORT_JS, script_hash=f"sha256-{digest}",
        counts=[(s, counts[s]) for s in STATUSES if counts[s]],
        verdict_rank={v: i for i, v in enumerate(("confirmed", "likely", "possible", "cannot-tell", "ruled-out"))},
        status_rank={s: i for i, s in enumerate(("failed", "incomplete", "problem", "ok"))}))


# -- what the command prints ------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSummary:
    out: str
    tickets: int  # all the arguments named
    skipped: int  # already done (--resume)
    ran: int  # finished in this run
    counts: dict[str, int]  # status -> tickets, over every result in the folder
    findings: dict[str, int]  # top finding id -> tickets, problems only
    interrupted: bool = False
    browser: bool = True

    @classmethod
    def of(cls, out: Path, rows: list[BatchRow], tickets: int, skipped: int, ran: int, interrupted: bool,
           browser: bool) -> BatchSummary:
        counts = Counter(r.status for r in rows)
        findings = Counter(r.finding_id for r in rows if r.status == "problem" and r.finding_id)
        return cls(str(out), tickets, skipped, ran, {s: counts[s] for s in STATUSES},
                   dict(findings.most_common()), interrupted, browser)

    def exit_code(self) -> int:
        """130 interrupted; 3 some ticket failed or is incomplete; 1 some problem found; 0 all clear."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.counts.get("failed") or self.counts.get("incomplete"):
            return ExitCode.INCOMPLETE
        return ExitCode.PROBLEM if self.counts.get("problem") else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        out = Path(self.out)
        return {**dataclasses.asdict(self), "results": str(out / RESULTS), "summary": str(out / SUMMARY),
                "index": str(out / INDEX), "exit_code": int(self.exit_code())}


def render_text(summary: BatchSummary) -> str:
    done = sum(summary.counts.values())
    counts = ", ".join(f"{n} {s}" for s, n in summary.counts.items() if n) or "none finished"
    lines = [f"{done} ticket(s) in {summary.out}: {counts}"
             + (f" ({summary.skipped} done before, skipped)" if summary.skipped else "")]
    if summary.findings:
        lines.append("top findings: " + ", ".join(f"{k} x{n}" for k, n in list(summary.findings.items())[:8]))
    if not summary.browser:
        lines.append("no browser: the browser checks did not run (their findings are cannot-tell)")
    if summary.interrupted:
        lines.append(f"interrupted: {summary.tickets - summary.skipped - summary.ran} ticket(s) not run; "
                     "run the same command with --resume to continue")
    lines.append(f"summary: {Path(summary.out) / SUMMARY}   index: {Path(summary.out) / INDEX}")
    return "\n".join(lines)
