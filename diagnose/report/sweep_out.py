"""A sweep's files, written as each link finishes: the CSV (one row per link, sortable), the JSON
(the --baseline format: one link per line between a header line and the summary) and the HTML
(summary, groups, then every link with a problem). Files are written to a temporary file beside the
target and renamed into place at the end (also after Ctrl-C, with ``"complete": false``), so a
reader never sees half a file under the final name.

JSON layout, version 1 (keys stable; readers must ignore keys they do not know)::

    {"format": "diagnose-sweep", "version": 1, "tool": ..., "started": ..., "links_file": ...,
     "options": {...}, "links": [
    {"id": ..., "line": 3, "link": ..., "status": "broken", "problems": [...], ...,
     "new": null | [codes], "fixed": null | [codes], "changed": null | [{"code": ..., "now": [codes]}],
     "not_compared": null | [codes], "unverified": null | [codes]}
    ,{...}
    ], "finished": ..., "complete": true, "counts": {...}, "by_code": {...}, "groups": [...],
     "changes": null | {...}}

``unverified`` (the codes of the baseline whose check could not run this time) is also a CSV column,
after ``not_compared``; ``changes`` names those links (``unverified_groups``) and the links no longer
in the list (``not_in_sweep_groups``, and every one in ``not_in_sweep_links``), by their line in the
baseline file (``baseline_line``: tonight's list has no such line). A changed group's ``where`` is
tonight's place (the baseline's is ``was_where``). The HTML's last line says what this run wrote
(which files; a stopped sweep: after how many rows), and a link that never landed (a redirect loop,
no answer) shows why in place of a landing page.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from diagnose import __version__
from diagnose.core.csvsafe import neutralise
from diagnose.core.reading import clean_text
from diagnose.pipeline.sweep_baseline import FORMAT, VERSION, Comparison
from diagnose.pipeline.sweep_check import LinkRecord
from diagnose.report.sweep import (
    SweepSummary,
    cause,
    iso,
    not_compared_why,
    plural,
    what,
)
from diagnose.report.sweep_text import (
    change_sections,
    covers_only,
    nothing_changed,
    since_baseline,
)

CSV_COLUMNS = ("line", "link", "status", "what", "cause", "message", "problems", "final_url", "hops", "partner_key",
               "link_partner_key", "expected_public_key", "public_key", "cookie_set", "duplicate_of", "new", "fixed",
               "changed", "not_compared", "unverified", "elapsed_ms")


class _Staged:
    """A file written under a temporary name beside ``path``, renamed into place by ``commit``."""

    def __init__(self, path: str | Path, newline: str | None = None):
        self.path = Path(path)
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name[:40]}.", suffix=".tmp")
        self.fh: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline=newline)

    def commit(self) -> None:
        self.fh.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.fh.close()
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


def _summary_cells(record: LinkRecord) -> tuple[str, str, str]:
    """(what is broken, the first cause, the first message): broken findings first, else warnings."""
    shown = record.broken or record.findings
    whats = "; ".join(dict.fromkeys(what(f) for f in shown))
    first = shown[0] if shown else None
    if record.status == "duplicate":
        return "", "", f"the same link as line {record.duplicate_of}: checked once"
    return whats, cause(first.code, first.check, first.where) if first else "", first.message if first else ""


class CsvOut:
    def __init__(self, path: str | Path, labels: list[str]):
        self.staged = _Staged(path, newline="")
        self.labels = labels
        names = [f"label: {n}" if n in CSV_COLUMNS else n for n in labels]
        self.writer = csv.writer(self.staged.fh)
        self.writer.writerow([neutralise(clean_text(n)) for n in (*CSV_COLUMNS, *names)])

    def write(self, r: LinkRecord, comparison: Comparison | None = None) -> None:
        whats, first_cause, message = _summary_cells(r)
        row = r.row
        cmp = comparison or Comparison()
        changed = "; ".join(f"{b.code} (now {' '.join(now)})" for b, now in cmp.changed)
        cells = [row.line, row.link, r.status, whats, first_cause, message, " ".join(f.code for f in r.findings),
                 r.final_url, r.hops, row.partner_key, r.link_partner_key, row.expected_key, r.public_key,
                 {True: "yes", False: "no"}.get(r.cookie_set, ""), r.duplicate_of,
                 " ".join(r.new or ()), " ".join(r.fixed or ()), changed, " ".join(cmp.not_compared),
                 " ".join(b.code for b in cmp.unverified), r.elapsed_ms,
                 *(row.labels.get(n, "") for n in self.labels)]
        self.writer.writerow([neutralise(clean_text(str(c))) if c is not None else "" for c in cells])

    def close(self, summary: SweepSummary) -> None:
        self.staged.commit()

    def discard(self) -> None:
        self.staged.discard()


class JsonOut:
    """The JSON, to a stream (stdout) or a file (``--save``)."""

    def __init__(self, summary: SweepSummary, stream: IO[str] | None = None, path: str | Path | None = None):
        self.staged = _Staged(path) if path is not None else None
        self.out = self.staged.fh if self.staged else stream
        self.first = True
        self.compared = summary.baseline is not None
        header = {"format": FORMAT, "version": VERSION, "tool": f"diagnose {__version__}", "started": iso(summary.started),
                  "links_file": summary.links_file, "options": summary.options}
        self.out.write(_dumps(header)[:-1] + ', "links": [\n')
        self.out.flush()

    def write(self, r: LinkRecord, c: Comparison | None = None) -> None:
        record = r.to_dict()
        record.update((c or Comparison()).to_dict() if self.compared
                      else {"changed": None, "not_compared": None, "unverified": None})
        self.out.write(("" if self.first else ",") + _dumps(record) + "\n")
        self.first = False
        self.out.flush()

    def close(self, summary: SweepSummary) -> None:
        self.out.write("], " + _dumps(summary.to_dict())[1:] + "\n")
        self.out.flush()
        if self.staged:
            self.staged.commit()

    def discard(self) -> None:
        if self.staged:
            self.staged.discard()


def _dumps(value: Any) -> str:
    return clean_text(json.dumps(value, ensure_ascii=False))


class HtmlOut:
    """The page's rows are rendered as links finish into a temporary file; the summary on top is
    rendered at the end and the rows copied after it."""

    def __init__(self, path: str | Path, summary: SweepSummary | None = None):
        self.staged = _Staged(path)
        self.rows = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by close / discard
        self.shown = 0
        self.complete = summary.baseline.complete if summary is not None and summary.baseline else None

    def write(self, r: LinkRecord, c: Comparison | None = None) -> None:
        if r.status in ("ok", "duplicate"):
            return
        from diagnose.report.html import environment

        whats, first_cause, _ = _summary_cells(r)
        why = not_compared_why(self.complete, one=True) if c and c.not_compared else None
        changed = [f"now {', '.join(now)}, was {b.code}" for b, now in c.changed] if c else []
        unverified = [b.code for b in c.unverified] if c else []
        self.rows.write(clean_text(environment().get_template("sweep.html.j2").render(
            part="row", r=r, what=whats, cause=first_cause, problems=r.findings, not_compared=why, changed=changed,
            unverified=unverified, landed=_landed(r))))
        self.shown += 1

    def close(self, summary: SweepSummary) -> None:
        from diagnose.report.html import environment

        template = environment().get_template("sweep.html.j2")
        fh = self.staged.fh
        d = summary.to_dict()
        ch = d["changes"]
        words = {"since": since_baseline(ch), "nothing": nothing_changed(summary.complete, summary.counts["rows"]),
                 "sections": change_sections(ch, ch["not_compared_why"] or ""),
                 "covers": covers_only(summary.counts["rows"])} if ch else {}
        fh.write(clean_text(template.render(part="head", s=summary, d=d, shown=self.shown, version=__version__,
                                            n=plural, words=words)))
        self.rows.seek(0)
        while chunk := self.rows.read(1024 * 1024):
            fh.write(chunk)
        fh.write(clean_text(template.render(part="foot", s=summary, d={}, shown=self.shown, version=__version__,
                                            footer=_footer(summary))))
        self.rows.close()
        self.staged.commit()

    def discard(self) -> None:
        self.rows.close()
        self.staged.discard()


_NO_LANDING = ("redirect-loop", "too-many-redirects", "invalid-url", "timeout", "connection-error", "private-network")


def _landed(r: LinkRecord) -> str:
    """The HTML's "landed on": the page the link ended on, unless it never landed (a redirect loop,
    too many redirects, no answer), then why, in the words of its message; an error page is said so."""
    stop = next((f for f in r.findings if f.code in _NO_LANDING), None)
    if stop is not None:
        return "did not land: " + cause(stop.code, stop.check, stop.where)
    if r.final_url and any(f.code == "http-error" for f in r.findings):
        return f"{r.final_url} (an error page)"
    return r.final_url or "–"


def _footer(summary: SweepSummary) -> str:
    """The HTML's last line: where every link is, from what this run wrote (a stopped sweep says so)."""
    where = " and ".join(summary.files)
    if summary.complete:
        text = (f"Every link is in {where}." if where else
                "This page lists the links with a problem; --csv, --json or --save write every link.")
    else:
        rows = (f"{summary.counts['rows']} of {plural(summary.total, 'row')}" if summary.total is not None
                else plural(summary.counts["rows"], "row"))
        text = (f"The sweep was stopped after {rows}: the rows it reached are in {where} (\"complete\": false)."
                if where else f"The sweep was stopped after {rows}: only those with a problem are on this page.")
    return " ".join((text, *summary.notes))


class SweepOutputs:
    """Each record to the summary (which compares it with the baseline) and then to every file."""

    def __init__(self, summary: SweepSummary, writers: list[Any]):
        self.summary = summary
        self.writers = writers

    def add(self, record: LinkRecord) -> None:
        comparison = self.summary.add(record)
        for w in self.writers:
            w.write(record, comparison)

    def close(self, complete: bool, listed: set[str] | None = None, files: list[str] | None = None,
              notes: list[str] | None = None) -> None:
        """Finish every output. ``listed``: tonight's ids (a stopped sweep, see SweepSummary.finish);
        ``files``: the other outputs written, in words (``the CSV (out.csv)``), and ``notes`` (a kept
        --save), for the HTML's last line."""
        self.summary.files, self.summary.notes = list(files or ()), list(notes or ())
        self.summary.finish(complete, listed)
        for w in self.writers:
            w.close(self.summary)

    def discard(self) -> None:
        for w in self.writers:
            w.discard()
