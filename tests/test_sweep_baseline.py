"""`diagnose sweep --baseline`: what changed since the last sweep is named exactly - a link broken by
another cause of the same check is *changed*, not fixed; a link an incomplete baseline never reached
is *not compared*, not plainly new (and still makes the exit code 1). Real local servers, the real
command; baselines are real sweeps (edited the way a stopped sweep leaves them)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from test_sweep import PK, _record_lines, page, q, run, write_csv

from diagnose.core.partnerstack import encode_partner_key
from diagnose.demo.site import Page, partnerstack_snippet, redirect
from diagnose.pipeline.sweep_baseline import Baseline


def _by_name(output: str) -> dict[str, dict]:
    return {rec["labels"]["name"]: rec for rec in map(json.loads, _record_lines(output))}


def _night_one(site, tmp_path: Path) -> tuple[Path, Path]:
    """Five links and their first sweep, saved as the baseline."""
    site.add("/welcome", page(partnerstack_snippet(f"'{PK}'")))
    site.add("/pricing", page())  # no snippet
    site.add("/gone", Page("not here", 404))
    site.add("/go/loop", redirect("/gone?" + q("ann")))  # a 404 tonight, a redirect loop tomorrow
    site.add("/go/snippet", redirect("/pricing?" + q("someone")))  # no snippet and another partner's key
    site.add("/go/key", redirect("/welcome?" + q("someone")))  # another partner's key
    site.add("/go/nokey", redirect("/gone"))  # a 404 that lands without a partner key
    site.add("/go/ok", redirect("/welcome?" + q("olga")))
    rows = [[site.url("/go/loop"), "ann", "loop"], [site.url("/go/snippet"), "bob", "snippet"],
            [site.url("/go/key"), "eve", "key"], [site.url("/go/nokey"), "", "nokey"],
            [site.url("/go/ok"), "olga", "ok"]]
    links = write_csv(tmp_path / "links.csv", rows)
    base = tmp_path / "base.json"
    r = run(str(links), "--save", str(base))
    assert r.exit_code == 1, r.output
    codes = {name: {p["code"] for p in rec["problems"] if p["severity"] != "warn"}
             for name, rec in _by_name(base.read_text()).items()}
    assert codes == {"loop": {"http-error"}, "snippet": {"no-snippet", "partner-mismatch"},
                     "key": {"partner-mismatch"}, "nokey": {"http-error", "no-partner-key"}, "ok": set()}
    return links, base


def test_a_link_broken_by_another_cause_of_the_same_check_is_changed_not_fixed(site, tmp_path):
    links, base = _night_one(site, tmp_path)
    # the next night: the 404 is a redirect loop (the link check again); /pricing has its snippet back
    # but bob's link still carries another partner's key; eve's key cannot be decoded any more (the link
    # check names it first, the partner-key check finds it too); /gone is back, still without a key
    site.add("/go/loop", redirect("/loop2"))
    site.add("/loop2", redirect("/go/loop"))
    site.add("/pricing", page(partnerstack_snippet(f"'{PK}'")))
    site.add("/go/key", redirect("/welcome?gspk=!!!&gsxid=x"))
    site.add("/gone", page(partnerstack_snippet(f"'{PK}'")))
    html = tmp_path / "r.html"
    out_csv = tmp_path / "r.csv"
    r = run(str(links), "--baseline", str(base), "--json", "--html", str(html), "--csv", str(out_csv))
    assert r.exit_code == 1, r.output  # new breakages (the loop, the undecodable key)
    recs = _by_name(r.output)
    per_link = {name: (rec["new"], rec["fixed"], rec["changed"], rec["not_compared"]) for name, rec in recs.items()}
    assert per_link == {
        "loop": (["redirect-loop"], [], [{"code": "http-error", "now": ["redirect-loop"]}], []),
        "snippet": ([], ["no-snippet"], [], []),  # fixed: the partner key is another check's problem
        "key": (["invalid-gspk"], [], [{"code": "partner-mismatch", "now": ["invalid-gspk"]}], []),
        "nokey": ([], ["http-error"], [], []),  # the page is back; the missing key was already there
        "ok": ([], [], [], []),
    }
    ch = json.loads(r.output)["changes"]
    assert {k: ch[k] for k in ("new", "new_links", "fixed", "fixed_links", "changed", "changed_links",
                               "not_compared", "still_broken_links")} == {
        "new": 2, "new_links": 2, "fixed": 2, "fixed_links": 2, "changed": 2, "changed_links": 2,
        "not_compared": 0, "still_broken_links": 2}  # snippet, nokey: broken as before; loop, key: new
    doc = json.loads(r.output)
    broken = doc["counts"]["broken"] + doc["counts"]["bad-input"] + doc["counts"]["error"]
    assert ch["new_links"] + ch["not_compared_links"] + ch["still_broken_links"] == broken == 4  # they add up
    assert {(g["code"], tuple(g["now"])) for g in ch["changed_groups"]} == {
        ("http-error", ("redirect-loop",)), ("partner-mismatch", ("invalid-gspk",))}
    loop = next(g for g in ch["changed_groups"] if g["code"] == "http-error")
    assert loop["change"] == "now link-broken (redirect-loop), was link-broken (http-error)"
    # the cause shown is tonight's (the loop), the baseline's is kept apart
    assert loop["cause"] == f"a redirect loop at {site.url('/go/loop')}"
    assert loop["was_cause"] == f"{site.url('/gone')} answers with an HTTP error"
    assert loop["message"].startswith("the chain comes back to")
    assert {g["code"] for g in ch["fixed_groups"]} == {"no-snippet", "http-error"}
    # the terminal
    text = run(str(links), "--baseline", str(base)).output
    assert ("2 new breakages on 2 links, 2 fixed on 2 links, 2 changed on 2 links (still broken, by another cause, "
            "counted among the new), 2 links still broken as before.") in text
    changed = text[text.index("Changed (still broken, by another cause of the same check; not fixed):"):
                   text.index("Fixed:")]
    assert "now link-broken (redirect-loop), was link-broken (http-error)" in changed
    assert "now params-dropped (invalid-gspk), was wrong-partner-key (partner-mismatch)" in changed
    assert f"a redirect loop at {site.url('/go/loop')}" in changed and "answers with an HTTP error" not in changed
    fixed = text[text.index("Fixed:"):]
    assert "http-error" in fixed and "no-snippet" in fixed and "redirect-loop" not in fixed
    # the HTML and the CSV
    page_html = html.read_text()
    assert "2 changed on 2 links" in page_html and "2 links still broken as before" in page_html
    assert "now link-broken (redirect-loop), was link-broken (http-error)" in page_html
    assert "changed: now redirect-loop, was http-error" in page_html
    rows = {row["name"]: row for row in csv.DictReader(out_csv.open(encoding="utf-8"))}
    assert (rows["loop"]["fixed"], rows["loop"]["changed"]) == ("", "http-error (now redirect-loop)")
    assert rows["snippet"]["fixed"] == "no-snippet"


def test_a_fix_that_leaves_nothing_of_its_check_is_fixed_and_the_exit_code_follows_new_only(site, tmp_path):
    links, base = _night_one(site, tmp_path)
    site.add("/go/loop", redirect("/welcome?" + q("ann")))  # repaired: its link check finds nothing
    site.add("/go/key", redirect("/welcome?" + q("eve")))  # eve's own key now
    r = run(str(links), "--baseline", str(base), "--json")
    assert r.exit_code == 0, r.output  # nothing new
    recs = _by_name(r.output)
    assert (recs["loop"]["fixed"], recs["loop"]["changed"]) == (["http-error"], [])
    assert (recs["key"]["fixed"], recs["key"]["changed"]) == (["partner-mismatch"], [])
    ch = json.loads(r.output)["changes"]
    assert (ch["new"], ch["fixed"], ch["changed"], ch["not_compared"]) == (0, 2, 0, 0)


def _stopped(base: Path, keep: set[str], complete: bool | None) -> Path:
    """The baseline as a sweep stopped early leaves it: only the links it reached, ``complete`` false
    (or, for None, no closing line at all: the file of a sweep that was killed)."""
    lines = base.read_text(encoding="utf-8").splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("]"))
    kept = [line for line in lines[1:end] if json.loads(line.lstrip(","))["labels"]["name"] in keep]
    kept = [kept[0].lstrip(","), *("," + line.lstrip(",") for line in kept[1:])]
    tail = lines[end].replace('"complete": true', f'"complete": {json.dumps(complete)}')
    assert complete is not False or tail != lines[end]
    out = base.with_name(f"stopped-{complete}.json")
    out.write_text("\n".join([lines[0], *kept, *([tail] if complete is not None else [])]) + "\n", encoding="utf-8")
    return out


def test_links_an_incomplete_baseline_never_reached_are_not_compared_but_still_count(site, tmp_path):
    links, base = _night_one(site, tmp_path)
    stopped = _stopped(base, {"loop", "ok"}, complete=False)  # the sweep stopped after two links
    assert Baseline.load(stopped).complete is False
    html = tmp_path / "r.html"
    r = run(str(links), "--baseline", str(stopped), "--json", "--html", str(html))
    assert r.exit_code == 1, r.output  # breakages the baseline cannot vouch for are never dropped
    recs = _by_name(r.output)
    assert {name: (rec["new"], sorted(rec["not_compared"])) for name, rec in recs.items()} == {
        "loop": ([], []), "ok": ([], []),  # in the baseline: compared (the 404 is still there)
        "snippet": ([], ["no-snippet", "partner-mismatch"]), "key": ([], ["partner-mismatch"]),
        "nokey": ([], ["http-error", "no-partner-key"])}
    ch = json.loads(r.output)["changes"]
    assert (ch["new"], ch["new_links"], ch["not_compared"], ch["not_compared_links"]) == (0, 0, 5, 3)
    assert ch["not_compared_why"] == "not in the baseline: its sweep stopped before these links"
    assert sum(g["count"] for g in ch["not_compared_groups"]) == 5 and ch["new_groups"] == []
    text = run(str(links), "--baseline", str(stopped)).output
    assert "The baseline's sweep was stopped before the end" in text
    assert "0 new breakages on 0 links, 5 breakages on 3 links not in the baseline (not compared)" in text
    assert "New (not in the baseline: its sweep stopped before these links):" in text
    assert "New breakages:" not in text and "Nothing changed." not in text
    page_html = html.read_text()
    assert "5 breakages on 3 links not in the baseline" in page_html
    assert "(not in the baseline: its sweep stopped before this link)" in page_html
    # only the links it had: nothing not compared, nothing new, exit 0
    only = tmp_path / "only.csv"
    only.write_text("\n".join(line for line in links.read_text().splitlines() if "/go/snippet" not in line
                              and "/go/key" not in line and "/go/nokey" not in line) + "\n")
    assert run(str(only), "--baseline", str(stopped)).exit_code == 0


def test_a_baseline_that_does_not_say_it_finished_is_incomplete_and_a_complete_one_makes_new(site, tmp_path):
    links, base = _night_one(site, tmp_path)
    killed = _stopped(base, {"loop", "ok"}, complete=None)
    assert Baseline.load(killed).complete is None
    r = run(str(links), "--baseline", str(killed))
    assert r.exit_code == 1
    assert "The baseline's sweep does not say that it finished" in r.output
    assert "5 breakages on 3 links not in the baseline (not compared)" in r.output
    assert "New (not in the baseline, which does not say that its sweep finished" in r.output
    # the same links missing from a whole sweep (links added to the list since): plainly new
    whole = _stopped(base, {"loop", "ok"}, complete=True)
    r = run(str(links), "--baseline", str(whole), "--json")
    assert r.exit_code == 1
    ch = json.loads(r.output)["changes"]
    assert (ch["new"], ch["new_links"], ch["not_compared"], ch["not_compared_why"]) == (5, 3, 0, None)
    assert _by_name(r.output)["key"]["new"] == ["partner-mismatch"]


def test_a_crashed_check_gives_way_to_what_the_link_shows_now(site, tmp_path):
    site.add("/gone", Page("not here", 404))
    site.add("/welcome", page(partnerstack_snippet(f"'{PK}'")))
    links = tmp_path / "l.txt"
    links.write_text(site.url("/gone") + "\n" + site.url("/welcome?gspk=" + encode_partner_key("x")) + "\n")
    first = run(str(links), "--json")
    lines = first.output.splitlines()
    # last night both checks crashed (a bug since fixed): check-failed, of the check "sweep"
    crashed = [json.loads(line.lstrip(",")) for line in lines[1:3]]
    for rec in crashed:
        rec.update(status="error", checks=[], problems=[{"code": "check-failed", "severity": "error",
                                                         "check": "sweep", "message": "boom", "where": "KeyError"}])
    base = tmp_path / "crashed.json"
    base.write_text("\n".join([lines[0], json.dumps(crashed[0]), "," + json.dumps(crashed[1]), *lines[3:]]) + "\n")
    r = run(str(links), "--baseline", str(base), "--json")
    recs = {rec["link"]: rec for rec in map(json.loads, _record_lines(r.output))}
    gone, ok = recs[site.url("/gone")], recs[site.url("/welcome?gspk=" + encode_partner_key("x"))]
    assert gone["changed"] == [{"code": "check-failed", "now": ["http-error"]}] and gone["fixed"] == []
    assert ok["fixed"] == ["check-failed"] and ok["changed"] == []
    ch = json.loads(r.output)["changes"]
    assert (ch["fixed"], ch["changed"], ch["unverified"], ch["new"]) == (1, 1, 0, 1)
