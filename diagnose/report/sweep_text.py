"""The end of a sweep in words: the terminal summary (render_terminal) and the sentence and lists of
what changed since a baseline, which the HTML (report/sweep_out.py) shows in the same words. The
summary itself, its counts and groups, is report/sweep.py."""

from __future__ import annotations

from typing import Any

from diagnose.pipeline.sweep_check import BROKEN
from diagnose.report.sweep import Group, SweepSummary, not_compared_why, plural, what

# -- the terminal ---------------------------------------------------------------------------------

def _examples(g: Group) -> str:
    """A few links by line and address; only line numbers when there are more. A link no longer in
    the list is named by its line in the baseline file, said so (tonight's list has no such line)."""
    of = " of the baseline" if g.baseline_lines else ""
    if g.count <= 3:
        return "; ".join(f"line {line}{of}: {link}" for line, link in g.examples)
    return ("lines " + ", ".join(str(line) for line, _ in g.examples) + of
            + (" …" if g.count > len(g.examples) else ""))


def _group_table(groups: list[Group], limit: int) -> str:
    from diagnose.report.terminal import table

    rows = [[g.count, g.change if g.now else what(g), g.cause, _examples(g)] for g in groups[:limit]]
    text = table(rows, ["links", "what", "cause", "e.g."])
    if len(groups) > limit:
        text += f"\n… {len(groups) - limit} more groups (all of them in --json / --html)"
    return text


def since_baseline(ch: dict[str, Any]) -> str:
    """The changes in one sentence (the terminal and the HTML): ``3 new breakages on 3 links, ...``."""
    def on(count: int, links: int, word: str = "breakage") -> str:
        return f"{plural(count, word)} on {plural(links, 'link')}"

    parts = [on(ch["new"], ch["new_links"], "new breakage")]
    if ch["not_compared"]:
        parts.append(on(ch["not_compared"], ch["not_compared_links"]) + " not in the baseline (not compared)")
    parts.append(f"{ch['fixed']} fixed on {plural(ch['fixed_links'], 'link')}")
    if ch["changed"]:
        parts.append(f"{ch['changed']} changed on {plural(ch['changed_links'], 'link')} (still broken, by another "
                     "cause, counted among the new)")
    parts.append(f"{plural(ch['still_broken_links'], 'link')} still broken as before")
    if ch["unverified"]:
        parts.append(on(ch["unverified"], ch["unverified_links"]) + " not re-checked (the check could not run)")
    if ch["not_in_sweep"]:
        parts.append(on(ch["not_in_sweep"], len(ch["not_in_sweep_links"])) + " no longer in the list (not checked)")
    if ch["not_reached"]:
        parts.append(f"{plural(ch['not_reached'], 'breakage')} of the baseline on "
                     f"{plural(ch['not_reached_links'], 'link')} the stopped sweep did not reach"
                     + ("" if ch.get("list_known", True) else
                        " (or no longer in the list: tonight's list could not be read again to tell)"))
    return ", ".join(parts) + "."


def change_sections(ch: dict[str, Any], why: str) -> list[tuple[str, str]]:
    """(title, key of the groups in ``changes``) of each list of a comparison, in the order shown."""
    return [("New breakages", "new_groups"), (f"New ({why})", "not_compared_groups"),
            ("Changed (still broken, by another cause of the same check; not fixed)", "changed_groups"),
            ("Fixed", "fixed_groups"),
            ("Not re-checked (the check could not run this time: neither fixed nor changed)", "unverified_groups"),
            ("Not checked (the links are no longer in the list)", "not_in_sweep_groups")]


def nothing_changed(complete: bool, rows: int) -> str:
    """The line in place of the lists when none has anything (a stopped sweep says what it compared)."""
    return "Nothing changed." if complete else (f"Nothing changed on the {plural(rows, 'row')} reached before the "
                                                "stop (the comparison covers only them).")


def covers_only(rows: int) -> str:
    return f"The sweep was stopped: the comparison covers only the {plural(rows, 'row')} it reached."


def render_terminal(s: SweepSummary, files: dict[str, str] | None = None, limit: int = 20) -> str:
    c = s.counts
    rows = (f"{c['rows']} of {plural(s.total, 'row')}" if s.total is not None and not s.complete
            else plural(c["rows"], "row"))
    head = (f"Sweep of {s.links_file}: {rows} in {s.elapsed:.1f} s: {c['ok']} ok, "
            f"{c['warn']} with warnings, {c['broken']} broken, {c['bad-input']} bad input"
            + (f", {plural(c['duplicate'], 'duplicate')}" if c["duplicate"] else "")
            + (f", {plural(c['error'], 'check')} failed" if c["error"] else ""))
    out = [head]
    if not s.complete:
        out.append("The sweep was stopped: the rows it did not reach are not in the results.")
    if s.nothing_reached:
        out.append("No link's first host answered: is this machine's network up?")
    if s.baseline is None:
        broken = s.groups.ranked(BROKEN)
        if broken:
            out += ["", f"Broken, by cause ({plural(s.broken_links, 'link')}, {plural(len(broken), 'cause')}):",
                    _group_table(broken, limit)]
        warnings = s.groups.ranked(("warn",))
        if warnings:
            out += ["", f"Warnings ({plural(len(warnings), 'cause')}):", _group_table(warnings, min(limit, 10))]
    else:
        d = s.to_dict()["changes"]
        b = d["baseline"]
        if b["complete"] is not True:
            out.append("The baseline's sweep " + ("was stopped before the end" if b["complete"] is False else
                                                  "does not say that it finished")
                       + ": a link it does not have is not compared, its breakages are counted apart (and still "
                         "make the exit code 1).")
        out += ["", f"Since the baseline ({b['file']}, {b['started'] or 'date unknown'}, {plural(b['links'], 'link')}): "
                    + since_baseline(d)]
        by_key = {"new_groups": s.new_groups, "not_compared_groups": s.not_compared_groups,
                  "changed_groups": s.changed_groups, "fixed_groups": s.fixed_groups,
                  "unverified_groups": s.unverified_groups, "not_in_sweep_groups": s.not_in_sweep_groups}
        shown = [(title, by_key[key].ranked()) for title, key in change_sections(d, not_compared_why(b["complete"]))]
        if not s.complete and any(groups for _, groups in shown):
            out.append(covers_only(c["rows"]))
        for title, groups in shown:
            if groups:
                out += ["", title + ":", _group_table(groups, limit)]
        if not any(groups for _, groups in shown):
            out += ["", nothing_changed(s.complete, c["rows"])]
    for name, path in (files or {}).items():
        out.append(f"{name}: {path}")
    return "\n".join(out)
