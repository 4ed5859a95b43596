"""A previous sweep (``--baseline PREVIOUS.json``) and what changed since: new breakages, fixed ones.

The sweep's JSON is written one link per line (report/sweep_out.py), so a baseline of 10^5 links is
read a line at a time, keeping only each link's id and its broken problems. A file reformatted by
another tool (``jq .``) is read whole instead, up to 64 MB.

A breakage is a (link, problem code) pair of severity fail or error. Compared with the baseline, a
link's code is *new* when the baseline did not have it broken with that code (a link that is new in
the list counts too), *fixed* when the baseline had it and this sweep ran the check that finds it
and found it no more. A baseline breakage whose check did not run this time (the link timed out
before its page could be read; no --browser for a cookie problem) is *unverified*, not fixed; a
baseline link that is not in this sweep at all (removed from the list, or the sweep was stopped)
is *not checked*.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import shorten
from diagnose.core.reading import EVIDENCE_LIMIT, parse_json, read_text
from diagnose.pipeline.sweep_check import BROKEN, LinkRecord

FORMAT = "diagnose-sweep"
VERSION = 1
MAX_FALLBACK = EVIDENCE_LIMIT  # a baseline not in the line layout is parsed whole, up to this size


@dataclass(frozen=True)
class Breakage:
    code: str
    check: str
    where: str | None
    message: str


@dataclass
class Baseline:
    path: str
    header: dict[str, Any]
    complete: bool | None
    broken: dict[str, dict[str, Breakage]] = field(default_factory=dict)  # id -> code -> breakage
    links: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> (line, link) of every link
    seen: set[str] = field(default_factory=set)  # ids met in this sweep

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
                base.complete = bool(tail.get("complete")) if isinstance(tail, dict) else None
                break
            if text:
                base._add(_json(text.lstrip(","), path, number), number)
        return base

    @classmethod
    def _whole(cls, path: str) -> Baseline:
        data = parse_json(read_text(path, "--baseline", MAX_FALLBACK), f"--baseline {shorten(path, 200)}")
        header = cls._header(path, data)
        links = data.get("links")
        if not isinstance(links, list):
            raise BadInput(f"--baseline {shorten(path, 200)} has no list of links")
        base = cls(path, header, complete=data.get("complete") if isinstance(data.get("complete"), bool) else None)
        for i, record in enumerate(links):
            base._add(record, i + 1)
        return base

    @staticmethod
    def _header(path: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BadInput(f"--baseline {shorten(path, 200)} is not the JSON of a sweep (diagnose sweep --json)")
        if data.get("version") != VERSION:
            raise BadInput(f"--baseline {shorten(path, 200)} is a sweep of format version "
                           f"{shorten(data.get('version'))}; this diagnose reads version {VERSION}")
        return {k: v for k, v in data.items() if k != "links"}

    def _add(self, record: Any, where: int) -> None:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise BadInput(f"--baseline {shorten(self.path, 200)}: link {where} is not a sweep record (no id)")
        rid = record["id"]
        if record.get("status") == "duplicate":
            return
        self.links.setdefault(rid, (record.get("line") if isinstance(record.get("line"), int) else 0,
                                    str(record.get("link", ""))[:2000]))
        problems = record.get("problems") if isinstance(record.get("problems"), list) else []
        for p in problems:
            if isinstance(p, dict) and p.get("severity") in BROKEN and isinstance(p.get("code"), str):
                self.broken.setdefault(rid, {})[p["code"]] = Breakage(
                    p["code"], str(p.get("check", "")), p.get("where") if isinstance(p.get("where"), str) else None,
                    str(p.get("message", ""))[:2000])

    # -- comparing --
    def compare(self, record: LinkRecord) -> list[Breakage]:
        """Set ``record.new`` and ``record.fixed``; return the fixed breakages (with their place)."""
        rid = record.row.id
        if record.status == "duplicate":
            record.new, record.fixed = (), ()
            return []
        self.seen.add(rid)
        before = self.broken.get(rid, {})
        now = {f.code for f in record.broken}
        record.new = tuple(c for c in dict.fromkeys(f.code for f in record.broken) if c not in before)
        fixed = [b for code, b in before.items() if code not in now and b.check in record.checks]
        record.fixed = tuple(b.code for b in fixed)
        return fixed

    def unverified(self, record: LinkRecord) -> int:
        now = {f.code for f in record.broken}
        return sum(1 for code, b in self.broken.get(record.row.id, {}).items()
                   if code not in now and b.check not in record.checks)

    def not_checked(self) -> list[tuple[str, int, str, list[Breakage]]]:
        """Broken links of the baseline that this sweep did not check: (id, line, link, breakages)."""
        out = []
        for rid, codes in self.broken.items():
            if rid not in self.seen:
                line, link = self.links.get(rid, (0, rid))
                out.append((rid, line, link, list(codes.values())))
        return sorted(out, key=lambda t: t[1])

    def describe(self) -> dict[str, Any]:
        return {"file": self.path, "started": self.header.get("started"), "links": len(self.links),
                "broken_links": len(self.broken), "complete": self.complete}


def _json(text: str, path: str, line: int) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadInput(f"--baseline {shorten(path, 200)} line {line} is not valid JSON "
                       f"({shorten(str(exc), 80)})") from None
