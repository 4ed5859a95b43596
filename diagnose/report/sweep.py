"""The summary of a sweep: counts, findings grouped by cause, what changed since a baseline, and
the terminal view. The summary keeps counts and a few examples per group, never every row (the rows
are streamed to the CSV / JSON / HTML files by report/sweep_out.py as they finish).

A group is (problem code, where): ``where`` is the place that causes it (the landing page without
its query, the hop that dropped the partner parameters, the host that does not answer, the partner
key the links carry), so 300 links landing on one page without a snippet are one group, named once.

With a baseline, every outcome is a list of groups like this one (a few links each, with counts, so a
sweep of 10^5 links stays small): new, not compared, changed (its cause is tonight's, the baseline's
is ``was_cause``), fixed, not re-checked (``unverified_groups``: the check could not run tonight) and
not checked (``not_in_sweep_groups``: the link is no longer in the list). A changed group's ``where``
and ``message`` are tonight's too (the baseline's place is ``was_where``). Links no longer in the list
are named by their line in the baseline file (``baseline_line``), never as a line of tonight's list. A
stopped sweep compares only the links it reached; of the baseline's other broken links, those still in
tonight's list are "not reached" (``not_reached``), the others no longer in the list, as in a whole
sweep (``list_known`` false: tonight's list could not be read again, every one is counted unreached). Counts of links add up: each broken link of tonight is new, not compared,
or still broken as before (a changed link is new: its new cause is).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from diagnose.pipeline.sweep_baseline import Baseline, Breakage, Comparison
from diagnose.pipeline.sweep_check import BROKEN, Finding, LinkRecord

EXAMPLES = 5  # links named per group
MAX_GROUPS = 10_000  # beyond this, a code's further places share one group ("other places")
UNREACHED = {"timeout", "connection-error"}

# The words of the issue for what is broken, by problem code; a cookie problem is cookie-not-set.
KINDS = {
    "link-broken": ("redirect-loop", "too-many-redirects", "http-error", "invalid-url", "private-network", "timeout",
                    "connection-error"),
    "params-dropped": ("params-dropped", "no-partner-key", "params-disagree", "invalid-gspk", "no-click-id"),
    "wrong-partner-key": ("partner-mismatch", "test-partner", "not-a-partner-key"),
    "no-snippet": ("no-snippet", "snippet-commented-out", "snippet-inert-type"),
    "public-key": ("public-key-missing", "public-key-placeholder", "public-key-malformed", "public-key-mismatch",
                   "public-key-unresolved", "multiple-keys", "secret-key-exposed"),
    "bad-input": ("bad-input",),
    "check-failed": ("check-failed",),
}
_KIND_OF = {code: kind for kind, codes in KINDS.items() for code in codes}

CAUSES = {
    "no-snippet": "landing page {where} has no snippet",
    "snippet-commented-out": "landing page {where}: the snippet is commented out",
    "snippet-inert-type": "landing page {where}: the snippet's script type keeps it from running",
    "snippet-not-in-head": "landing page {where}: the snippet is not in <head>",
    "public-key-missing": "landing page {where}: the snippet has no public key",
    "public-key-placeholder": "landing page {where}: the snippet's public key is a placeholder",
    "public-key-malformed": "landing page {where}: the snippet's public key is malformed",
    "public-key-mismatch": "landing page {where}: the snippet uses another public key",
    "public-key-unresolved": "landing page {where}: the public key is a JavaScript expression",
    "multiple-keys": "landing page {where} initialises PartnerStack more than once",
    "secret-key-exposed": "landing page {where} exposes a secret key",
    "growsumo-data-overwritten": "landing page {where}: site code replaces growsumo.data",
    "params-dropped": "the redirect at {where} drops a partner parameter (the partner key or the click id)",
    "no-partner-key": "links land on {where} without a partner key",
    "params-disagree": "links land on {where} with partner parameters that disagree",
    "invalid-gspk": "links land on {where} with a partner key that cannot be decoded",
    "no-click-id": "links land on {where} without a click id",
    "http-error": "{where} answers with an HTTP error",
    "redirect-loop": "a redirect loop at {where}",
    "too-many-redirects": "too many redirects (stopped at {where})",
    "invalid-url": "{where} redirects to an unusable address",
    "timeout": "{where} does not answer in time",
    "connection-error": "cannot connect to {where}",
    "private-network": "{where} is not a public address",
    "partner-mismatch": "the links carry partner key {where}, not their row's partner",
    "test-partner": "links land on {where} with the test partner gstest",
    "no-partner-cookie": "landing page {where} sets no partner cookie",
    "cookie-value-mismatch": "landing page {where} stores another partner key in the cookie",
    "snippet-not-loaded": "landing page {where}: PartnerStackJS does not load in the browser",
    "snippet-script-failed": "landing page {where}: the PartnerStackJS script fails to load",
    "initialized-with-other-key": "landing page {where} initialises PartnerStack with another public key",
    "initialized-with-invalid-key": "landing page {where} initialises PartnerStack with an invalid key",
    "consent-gated": "landing page {where}: a consent manager holds the partner cookie back",
    "cookie-lifetime-short": "landing page {where}: the partner cookie expires too soon",
    "bad-input": "rows that are not usable links: {where}",
    "check-failed": "the check failed ({where})",
}
# The same for a single link, where the words above speak of links.
CAUSES_ONE = {
    "no-partner-key": "the link lands on {where} without a partner key",
    "params-disagree": "the link lands on {where} with partner parameters that disagree",
    "invalid-gspk": "the link lands on {where} with a partner key that cannot be decoded",
    "no-click-id": "the link lands on {where} without a click id",
    "partner-mismatch": "the link carries partner key {where}, not its row's partner",
    "test-partner": "the link lands on {where} with the test partner gstest",
    "bad-input": "a row that is not a usable link: {where}",
}


def plural(count: int, word: str) -> str:
    """``1 link``, ``2 links``, ``0 new breakages``: the one pluralising helper of the terminal and the HTML."""
    return f"{count} {word}" + ("" if count == 1 else "s")


def not_compared_why(complete: bool | None, one: bool = False) -> str:
    """Why a link's breakages are not compared with the baseline (the link is not in it)."""
    links = "this link" if one else "these links"
    if complete is False:
        return f"not in the baseline: its sweep stopped before {links}"
    return f"not in the baseline, which does not say that its sweep finished: it may not have reached {links}"


def kind_of(code: str, check: str = "") -> str:
    """The issue's word for what is broken (a cookie problem is cookie-not-set); else the code itself."""
    return _KIND_OF.get(code) or ("cookie-not-set" if check == "cookie" else code)


def what(f: Finding | Breakage) -> str:
    """``no-snippet``, ``link-broken (redirect-loop)``: the kind, and the code when it says more."""
    kind = kind_of(f.code, f.check)
    return kind if kind == f.code else f"{kind} ({f.code})"


def cause(code: str, check: str, where: str | None, count: int = 1) -> str:
    """The cause in words, for ``count`` links (a single link is spoken of as one)."""
    place = where or "(unknown place)"
    template = (CAUSES_ONE.get(code) if count == 1 else None) or CAUSES.get(code) or ("landing page {where}: " + code if check == "cookie" else code + " at {where}")
    return template.format(where=place)


@dataclass
class Group:
    code: str
    check: str
    severity: str
    where: str | None
    message: str  # the first link's message
    count: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)  # (line, link)
    now: tuple[str, ...] = ()  # a changed breakage (the group's code, of the baseline): the codes now
    now_what: str = ""  # what they are, in words
    now_cause: str = ""  # a changed breakage: tonight's cause (the one shown)
    now_where: str | None = None  # a changed breakage: tonight's place (``where`` is the baseline's)
    baseline_lines: bool = False  # the examples' lines are the baseline's (links no longer in the list)

    @property
    def cause(self) -> str:
        return self.now_cause or self.was_cause

    @property
    def was_cause(self) -> str:
        return cause(self.code, self.check, self.where, self.count)

    @property
    def change(self) -> str:
        """``now link-broken (redirect-loop), was link-broken (http-error)``."""
        return f"now {self.now_what}, was {what(self)}"

    def to_dict(self) -> dict[str, Any]:
        line = "baseline_line" if self.baseline_lines else "line"
        out = {"code": self.code, "what": what(self), "severity": self.severity,
               "where": self.now_where if self.now else self.where, "cause": self.cause, "count": self.count,
               "message": self.message, "examples": [{line: n, "link": link} for n, link in self.examples]}
        if self.now:  # the cause, place and message are tonight's; the baseline's are was_cause, was_where
            out.update(now=list(self.now), now_what=self.now_what, change=self.change, was_cause=self.was_cause,
                       was_where=self.where)
        return out


class Groups:
    def __init__(self, baseline_lines: bool = False) -> None:
        self._groups: dict[tuple[str, str | None, tuple[str, ...], str], Group] = {}
        self.baseline_lines = baseline_lines  # the lines given are the baseline file's, not tonight's list's

    def add(self, f: Finding | Breakage, line: int, link: str, severity: str | None = None,
            now: tuple[str, ...] = (), now_what: str = "", now_cause: str = "", message: str = "",
            now_where: str | None = None) -> None:
        key = (f.code, f.where, now, now_cause)
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) >= MAX_GROUPS:
                key = (f.code, "(other places)", now, now_cause)
                group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = Group(f.code, f.check, severity or getattr(f, "severity", "fail"),
                                                  key[1], message or f.message, now=now, now_what=now_what,
                                                  now_cause=now_cause, now_where=now_where,
                                                  baseline_lines=self.baseline_lines)
        group.count += 1
        if len(group.examples) < EXAMPLES:
            group.examples.append((line, link))

    def ranked(self, severities: tuple[str, ...] = ("fail", "error", "warn")) -> list[Group]:
        chosen = [g for g in self._groups.values() if g.severity in severities]
        return sorted(chosen, key=lambda g: (-g.count, g.code, g.where or "", g.now, g.now_cause))

    def __len__(self) -> int:
        return len(self._groups)


def _explained(f: Finding | Breakage, among: list) -> bool:
    """A browser finding on a link whose pages already show a broken cause (no snippet, dropped
    parameters, a placeholder key, ...) is that cause's consequence: listed with the link, not a
    group of its own, so each cause is named once."""
    return f.check == "cookie" and any(g.check != "cookie" and getattr(g, "severity", "fail") in BROKEN
                                       for g in among)


class SweepSummary:
    """Everything the end of a sweep reports, built one record at a time (``add``)."""

    def __init__(self, links_file: str, total: int | None = None, baseline: Baseline | None = None,
                 options: dict[str, Any] | None = None):
        self.links_file, self.total, self.baseline = links_file, total, baseline
        self.options = options or {}
        self.started = time.time()
        self.finished: float | None = None
        self.complete = False
        self.counts: Counter[str] = Counter()
        self.by_code: Counter[str] = Counter()
        self.groups = Groups()
        self.new_groups, self.fixed_groups = Groups(), Groups()
        self.changed_groups, self.not_compared_groups = Groups(), Groups()
        self.unverified_groups, self.not_in_sweep_groups = Groups(), Groups(baseline_lines=True)
        self.list_known = True  # a stopped sweep knew tonight's whole list (to tell removed from unreached links)
        self.not_in_sweep: list[tuple[str, int, str, list[Breakage]]] = []
        self.changes: Counter[str] = Counter()
        self.reached = 0  # links whose first host answered (at least one hop)
        self.files: list[str] = []  # the outputs written besides the HTML, in words (its last line)
        self.notes: list[str] = []

    def add(self, record: LinkRecord) -> Comparison | None:
        """Count ``record``; with a baseline, compare it (which sets its new / fixed codes) and return
        the comparison."""
        row = record.row
        self.counts["rows"] += 1
        self.counts[record.status] += 1
        if record.status not in ("bad-input", "duplicate"):
            self.counts["checked"] += 1
            if not record.findings or any(f.code not in UNREACHED for f in record.findings):
                self.reached += 1
        for f in record.findings:
            self.by_code[f.code] += 1
            if not _explained(f, record.findings):
                self.groups.add(f, row.line, row.link)
        if self.baseline is None:
            return None
        comparison = self.baseline.compare(record)
        if record.status == "duplicate":
            return comparison
        self._count_changes(record, comparison)
        return comparison

    def _count_changes(self, record: LinkRecord, comparison: Comparison) -> None:
        row, ch, fixed = record.row, self.changes, comparison.fixed
        for codes, groups in ((record.new, self.new_groups), (comparison.not_compared, self.not_compared_groups)):
            shown = [f for f in record.broken if f.code in codes]
            for f in shown:
                if not _explained(f, shown):
                    groups.add(f, row.line, row.link)
        for b in fixed:
            if not _explained(b, fixed):
                self.fixed_groups.add(b, row.line, row.link, "fail")
        for b, now in comparison.changed:  # shown with tonight's cause and message
            tonight = [f for f in record.broken if f.code in now]
            whats = ", ".join(dict.fromkeys(what(f) for f in tonight))
            causes = "; ".join(dict.fromkeys(cause(f.code, f.check, f.where) for f in tonight))
            self.changed_groups.add(b, row.line, row.link, "fail", now, whats, causes, tonight[0].message,
                                    tonight[0].where)
        for b in comparison.unverified:
            self.unverified_groups.add(b, row.line, row.link, "fail")
        ch["new"] += len(record.new)
        ch["new_links"] += bool(record.new)
        ch["not_compared"] += len(comparison.not_compared)
        ch["not_compared_links"] += bool(comparison.not_compared)
        ch["fixed"] += len(fixed)
        ch["fixed_links"] += bool(fixed)
        ch["changed"] += len(comparison.changed)
        ch["changed_links"] += bool(comparison.changed)
        # broken as before: nothing new on it (a changed link is new), so that the counts of links add up
        ch["still_broken_links"] += bool(record.broken) and not record.new and not comparison.not_compared
        ch["unverified"] += len(comparison.unverified)
        ch["unverified_links"] += bool(comparison.unverified)

    def finish(self, complete: bool, listed: set[str] | None = None) -> None:
        """The end: with a baseline, its broken links this sweep did not check are no longer in the list
        (not checked) or, in a stopped sweep, in tonight's list but not reached. ``listed``: the ids of
        tonight's whole list, for a stopped sweep (None: not known, every such link is counted unreached)."""
        self.complete, self.finished = complete, time.time()
        if self.baseline is not None:
            unseen = self.baseline.not_checked()
            if complete:
                self.not_in_sweep, unreached = unseen, []
            elif listed is None:
                self.not_in_sweep, unreached, self.list_known = [], unseen, False
            else:
                self.not_in_sweep = [t for t in unseen if t[0] not in listed]
                unreached = [t for t in unseen if t[0] in listed]
            self.changes["not_in_sweep"] = sum(len(b) for *_, b in self.not_in_sweep)
            for _, line, link, breakages in self.not_in_sweep:
                for b in breakages:
                    self.not_in_sweep_groups.add(b, line, link, "fail")
            self.changes["not_reached"] = sum(len(b) for *_, b in unreached)  # not "gone": not reached
            self.changes["not_reached_links"] = len(unreached)

    @property
    def elapsed(self) -> float:
        return (self.finished or time.time()) - self.started

    @property
    def broken_links(self) -> int:
        return self.counts["broken"] + self.counts["bad-input"] + self.counts["error"]

    @property
    def alerts(self) -> int:
        """With a baseline, the breakages that make the exit code 1: the new ones, and those on links
        an incomplete baseline does not have (not compared: never silently dropped)."""
        return self.changes["new"] + self.changes["not_compared"]

    @property
    def nothing_reached(self) -> bool:
        """Links were checked and not one host answered: the network, not the links."""
        return self.counts["checked"] > 0 and self.reached == 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON's closing keys."""
        out: dict[str, Any] = {
            "finished": _iso(self.finished), "complete": self.complete, "elapsed_s": round(self.elapsed, 2),
            "counts": {k: self.counts[k] for k in ("rows", "checked", "ok", "warn", "broken", "bad-input",
                                                  "duplicate", "error")},
            "by_code": dict(sorted(self.by_code.items())),
            "groups": [g.to_dict() for g in self.groups.ranked()],
            "changes": None,
        }
        if self.baseline is not None:
            out["changes"] = {
                "baseline": self.baseline.describe(),
                **{k: self.changes[k] for k in ("new", "new_links", "not_compared", "not_compared_links", "fixed",
                                                "fixed_links", "changed", "changed_links", "still_broken_links",
                                                "unverified", "unverified_links", "not_in_sweep", "not_reached",
                                                "not_reached_links")},
                "list_known": self.list_known,
                "not_compared_why": not_compared_why(self.baseline.complete) if self.changes["not_compared"] else None,
                "new_groups": [g.to_dict() for g in self.new_groups.ranked()],
                "not_compared_groups": [g.to_dict() for g in self.not_compared_groups.ranked()],
                "changed_groups": [g.to_dict() for g in self.changed_groups.ranked()],
                "fixed_groups": [g.to_dict() for g in self.fixed_groups.ranked()],
                "unverified_groups": [g.to_dict() for g in self.unverified_groups.ranked()],
                "not_in_sweep_groups": [g.to_dict() for g in self.not_in_sweep_groups.ranked()],
                "not_in_sweep_links": [{"baseline_line": line, "link": link, "codes": [b.code for b in bs]}
                                       for _, line, link, bs in self.not_in_sweep],
            }
        return out


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(ts: float | None) -> str | None:
    return _iso(ts)
