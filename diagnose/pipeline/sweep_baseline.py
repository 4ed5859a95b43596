"""A previous sweep (``--baseline PREVIOUS.json``) and what changed since: new, changed and fixed breakages.

The sweep's JSON is written one link per line (report/sweep_out.py), so a baseline of 10^5 links is
read a line at a time, keeping only each link's id and its broken problems. A file reformatted by
another tool (``jq .``) is read whole instead, up to 64 MB.

A breakage is a (link, problem code) pair of severity fail or error; each problem names the check
that found it (link, gspk, snippet, cookie; sweep when the link's check crashed). Compared with the
baseline, each code of a link is one of:

* *new*: this sweep finds it and the baseline did not have the link broken with that code (a link
  added to the list counts too). New breakages make the exit code 1.
* *not compared*: this sweep finds it on a link that is not in the baseline, and the baseline is not
  known to be whole (``"complete": false``: its sweep was stopped; or no ``complete`` at all): the
  stopped sweep may simply not have reached the link. Counted apart from new, and, like new, they
  make the exit code 1 (nothing is dropped).
* *fixed*: the baseline had it, its check ran this time and found on the link no breakage that the
  baseline did not already have (a fixed snippet is fixed even while the partner key is still wrong).
* *changed*: the baseline had it, its check ran this time and found other breakages instead (a 404
  that is now a redirect loop): the link is still broken, so it is not fixed; the codes that took
  its place are new. The partner-key codes that both the link check and the partner-key check find
  (``SHARED``) belong to both; a crashed check (``check-failed``) gives way to any breakage.
* *unverified* (not re-checked): the baseline had it and its check did not run this time (the link
  timed out before its page could be read; no --browser for a cookie problem): neither fixed nor
  changed; each is named (the link and the baseline's breakage), like the others.
* *not checked*: a broken link of the baseline that is not in this sweep at all (removed from the
  list, or this sweep was stopped).

A baseline is checked as it is read: a record without its list of problems, a problem without a
string code, a severity that is not warn, fail or error, a second record of the same link (the same
id), or a ``complete`` that is not true or false is bad input (one line naming the file and the
line), never read as "no problems" (which would make every breakage tonight new) nor merged. Every
record a sweep writes passes (bad rows, duplicates and crashed checks included): a repeated link is
written once with its status and again as ``"status": "duplicate"``, and repeated bad rows (ids
``bad-input:...``) may share an id. A ``started`` that is not a string is shown as unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import shorten
from diagnose.core.reading import EVIDENCE_LIMIT, parse_json, read_text
from diagnose.pipeline.sweep_check import BROKEN, Finding, LinkRecord

FORMAT = "diagnose-sweep"
VERSION = 1
SEVERITIES = ("warn", "fail", "error")  # of a problem (a passing check is no problem)
MAX_FALLBACK = EVIDENCE_LIMIT  # a baseline not in the line layout is parsed whole, up to this size
# Codes that both the link check (on the landing URL) and the partner-key check (gspk, on the hop that
# carries the key) find: a sweep names such a code once, under the check that found it first
# (pipeline/sweep_check.py), so either check may be the one that found it.
SHARED = {code: ("link", "gspk") for code in ("no-partner-key", "params-disagree", "invalid-gspk")}


@dataclass(frozen=True)
class Breakage:
    code: str
    check: str
    where: str | None
    message: str


@dataclass
class Comparison:
    """One link against the baseline (codes of this sweep; breakages of the baseline)."""

    new: tuple[str, ...] = ()
    fixed: list[Breakage] = field(default_factory=list)
    changed: list[tuple[Breakage, tuple[str, ...]]] = field(default_factory=list)  # (was, the codes now)
    unverified: list[Breakage] = field(default_factory=list)  # its check did not run this time
    not_compared: tuple[str, ...] = ()  # broken on a link an incomplete baseline does not have

    def to_dict(self) -> dict[str, Any]:
        """The per-link keys of the JSON besides ``new`` and ``fixed``."""
        return {"changed": [{"code": b.code, "now": list(now)} for b, now in self.changed],
                "not_compared": list(self.not_compared), "unverified": [b.code for b in self.unverified]}


@dataclass
class Baseline:
    path: str
    header: dict[str, Any]
    complete: bool | None
    broken: dict[str, dict[str, Breakage]] = field(default_factory=dict)  # id -> code -> breakage
    links: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> (line, link) of every link
    seen: set[str] = field(default_factory=set)  # ids met in this sweep
    first: dict[str, str] = field(default_factory=dict)  # id -> where its record is in the file (line 3)

    # -- reading --
    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        p = str(path)
        try:
            fh = open(p, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed by the with below
        except (OSError, ValueError) as exc:
            raise BadInput(f"cannot read --baseline {shorten(p, 200)}: {getattr(exc, 'strerror', None) or exc}") from None
        with fh:
            try:
                first = fh.readline(1_000_000)
            except OSError as exc:
                raise BadInput(f"cannot read --baseline {shorten(p, 200)}: {exc.strerror or exc}") from None
            if first.startswith(f'{{"format": "{FORMAT}"') and first.rstrip().endswith('"links": ['):
                return cls._streamed(p, first, fh)
        return cls._whole(p)

    @classmethod
    def _streamed(cls, path: str, first: str, fh) -> Baseline:
        header = cls._header(path, _json(first.rstrip() + "]}", path, 1))
        base = cls(path, header, complete=None)
        number = 1
        for line in fh:
            number += 1
            text = line.strip()
            if text.startswith("]"):
                tail = _json("{" + text[1:].lstrip().lstrip(",") if text[1:].strip() else "{}", path, number)
                base.complete = _complete(tail, path, f"line {number}")
                break
            if text:
                base._add(_json(text.lstrip(","), path, number), f"line {number}")
        return base

    @classmethod
    def _whole(cls, path: str) -> Baseline:
        data = parse_json(read_text(path, "--baseline", MAX_FALLBACK), f"--baseline {shorten(path, 200)}")
        header = cls._header(path, data)
        links = data.get("links")
        if not isinstance(links, list):
            raise BadInput(f"--baseline {shorten(path, 200)} has no list of links")
        base = cls(path, header, complete=_complete(data, path, "the closing part"))
        for i, record in enumerate(links):
            base._add(record, f"link {i + 1} of the list")
        return base

    @staticmethod
    def _header(path: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BadInput(f"--baseline {shorten(path, 200)} is not the JSON of a sweep (diagnose sweep --json)")
        if data.get("version") != VERSION:
            raise BadInput(f"--baseline {shorten(path, 200)} is a sweep of format version "
                           f"{shorten(data.get('version'))}; this diagnose reads version {VERSION}")
        return {k: v for k, v in data.items() if k != "links"}

    def _add(self, record: Any, where: str) -> None:
        name = f"--baseline {shorten(self.path, 200)} {where}"
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise BadInput(f"{name} is not a sweep record (no id)")
        problems = record.get("problems")
        if not isinstance(problems, list):
            raise BadInput(f"{name}: the link's record has no list of problems (a damaged baseline: "
                           "its breakages cannot be told)")
        for p in problems:
            if not (isinstance(p, dict) and isinstance(p.get("code"), str) and p["code"]
                    and isinstance(p.get("severity"), str)):
                raise BadInput(f"{name}: a problem of the link has no code or severity ({json.dumps(p)[:80]})")
            if p["severity"] not in SEVERITIES:
                raise BadInput(f"{name}: a problem of the link has severity {json.dumps(p['severity'])[:40]}, "
                               f"not one of {', '.join(SEVERITIES)} (a damaged baseline)")
        rid = record["id"]
        if record.get("status") == "duplicate":
            return
        if rid in self.first and not rid.startswith("bad-input:"):  # a sweep writes each link once
            raise BadInput(f"{name}: the same link (id) as {self.first[rid]}: a damaged baseline (a sweep writes a "
                           "repeated link once, then with status \"duplicate\")")
        self.first.setdefault(rid, where)
        self.links.setdefault(rid, (record.get("line") if isinstance(record.get("line"), int) else 0,
                                    str(record.get("link", ""))[:2000]))
        for p in problems:
            if p["severity"] in BROKEN:
                self.broken.setdefault(rid, {})[p["code"]] = Breakage(
                    p["code"], str(p.get("check", "")), p.get("where") if isinstance(p.get("where"), str) else None,
                    str(p.get("message", ""))[:2000])

    # -- comparing --
    def compare(self, record: LinkRecord) -> Comparison:
        """Set ``record.new`` and ``record.fixed``; return the whole comparison of the link."""
        rid = record.row.id
        if record.status == "duplicate":
            record.new, record.fixed = (), ()
            return Comparison()
        self.seen.add(rid)
        codes = tuple(dict.fromkeys(f.code for f in record.broken))
        if rid not in self.links and self.complete is not True:  # its sweep may not have reached it
            record.new, record.fixed = (), ()
            return Comparison(not_compared=codes)
        before = self.broken.get(rid, {})
        out = Comparison(new=tuple(c for c in codes if c not in before))
        ran = set(record.checks) | ({"sweep"} if record.status != "error" else set())
        for code, b in before.items():
            if code in codes:
                continue  # still broken
            if b.check not in ran:
                out.unverified.append(b)
                continue
            instead = tuple(dict.fromkeys(f.code for f in record.broken if f.code not in before and _same_check(b, f)))
            if instead:
                out.changed.append((b, instead))
            else:
                out.fixed.append(b)
        record.new, record.fixed = out.new, tuple(b.code for b in out.fixed)
        return out

    def not_checked(self) -> list[tuple[str, int, str, list[Breakage]]]:
        """Broken links of the baseline that this sweep did not check: (id, line, link, breakages)."""
        out = []
        for rid, codes in self.broken.items():
            if rid not in self.seen:
                line, link = self.links.get(rid, (0, rid))
                out.append((rid, line, link, list(codes.values())))
        return sorted(out, key=lambda t: t[1])

    def describe(self) -> dict[str, Any]:
        started = self.header.get("started")  # a hand-edited one that is not a date is unknown
        return {"file": self.path, "started": " ".join(started.split())[:40] or None if isinstance(started, str) else None,
                "links": len(self.links),
                "broken_links": len(self.broken), "complete": self.complete}


def _same_check(before: Breakage, now: Finding) -> bool:
    """Whether ``now`` was found by the check that found ``before`` (then ``before`` is changed, not fixed)."""
    if before.check == "sweep":  # the link's check crashed: whatever is broken now took its place
        return True
    return bool(({before.check, *SHARED.get(before.code, ())}) & {now.check, *SHARED.get(now.code, ())})


def _complete(data: Any, path: str, where: str) -> bool | None:
    """The baseline's ``complete``: true, false, or None when it does not say (a sweep that was killed)."""
    if not isinstance(data, dict) or "complete" not in data:
        return None
    if not isinstance(data["complete"], bool):
        raise BadInput(f"--baseline {shorten(path, 200)} {where}: \"complete\" is "
                       f"{json.dumps(data['complete'])[:40]}, not true or false")
    return data["complete"]


def _json(text: str, path: str, line: int) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:  # the line is ours to name; the decoder's "line 1" is not
        raise BadInput(f"--baseline {shorten(path, 200)} line {line} is not valid JSON "
                       f"({shorten(exc.msg, 60)}: column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise BadInput(f"--baseline {shorten(path, 200)} line {line} is not valid JSON "
                       f"({shorten(str(exc), 80)})") from None
