"""`diagnose sweep --baseline`, a second new-user trial (s13): a hand-edited baseline with a repeated
link or a made-up severity is bad input; a link no longer in the list is named by its line in the
baseline, never as a line of tonight's list; a stopped sweep tells removed links from unreached ones;
the HTML's last line says what this run wrote; a changed group's place is tonight's. Real local
servers, the real command."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from test_sweep import PK, page, q, run, write_csv
from test_sweep_trial import _three_links, interrupted_sweep

from diagnose.core.errors import BadInput
from diagnose.demo.site import Page, partnerstack_snippet, redirect
from diagnose.pipeline.sweep_baseline import Baseline
from diagnose.report.sweep import SweepSummary
from diagnose.report.sweep_text import since_baseline


def _lines(base: Path) -> list[str]:
    return base.read_text(encoding="utf-8").splitlines()


def _write(base: Path, lines: list[str], name: str) -> Path:
    out = base.with_name(name)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def test_a_repeated_link_or_a_made_up_severity_in_a_baseline_is_bad_input(site, tmp_path):
    links, base = _three_links(site, tmp_path)
    lines = _lines(base)
    assert Baseline.load(base).describe()["links"] == 3
    # a second record of line 2's link (as a hand edit makes it), after line 4
    dup = _write(base, [*lines[:4], "," + lines[1].lstrip(","), *lines[4:]], "dup.json")
    with pytest.raises(BadInput, match=r"dup\.json.* line 5: the same link \(id\) as line 2: a damaged baseline"):
        Baseline.load(dup)
    r = run(str(links), "--baseline", str(dup))
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and "line 5" in r.output
    # a severity no sweep writes
    broken = next(i for i, line in enumerate(lines) if '"severity": "fail"' in line)
    bogus = _write(base, [*lines[:broken], lines[broken].replace('"severity": "fail"', '"severity": "bogus"', 1),
                          *lines[broken + 1:]], "sev.json")
    with pytest.raises(BadInput, match=rf"sev\.json.* line {broken + 1}: .*severity \"bogus\""):
        Baseline.load(bogus)
    assert run(str(links), "--baseline", str(bogus)).exit_code == 2
    # a started that is not a date is unknown, not printed
    head = json.loads(lines[0] + "]}")
    numbered = _write(base, [lines[0].replace(json.dumps(head["started"]), "5", 1), *lines[1:]], "started.json")
    assert Baseline.load(numbered).describe()["started"] is None
    text = run(str(links), "--baseline", str(numbered)).output
    assert "started.json, date unknown, 3 links)" in text and ", 5, " not in text


def test_every_record_a_sweep_writes_still_loads(site, tmp_path):
    """Repeated links (status duplicate) and repeated bad rows (the same bad-input id) are written by a sweep."""
    site.add("/home", page())
    rows = [[site.url("/home"), "a", ""], [site.url("/home"), "a", ""], ["not a link", "", ""], ["not a link", "", ""],
            ["", "", "x"], ["", "", "y"]]
    links = write_csv(tmp_path / "l.csv", rows)
    base = tmp_path / "b.json"
    assert run(str(links), "--save", str(base)).exit_code == 1
    statuses = [json.loads(line.lstrip(","))["status"] for line in _lines(base)[1:7]]
    assert sorted(statuses) == sorted(["broken", "duplicate", *["bad-input"] * 4])
    assert Baseline.load(base).describe()["links"] == 3  # the link, and two distinct bad rows
    assert run(str(links), "--baseline", str(base)).exit_code == 0


def test_a_link_no_longer_in_the_list_is_named_by_its_baseline_line(site, tmp_path):
    _, base = _three_links(site, tmp_path)  # /go/b is line 3 of night one
    tonight = write_csv(tmp_path / "t.csv", [[site.url("/go/c"), "c", "C"], [site.url("/go/a"), "a", "A"],
                                             [site.url("/go/x"), "x", "X"]])
    site.add("/go/x", redirect("/pricing?" + q("x")))
    html = tmp_path / "r.html"
    text = run(str(tonight), "--baseline", str(base), "--html", str(html)).output
    gone = text[text.index("Not checked"):]
    assert f"line 3 of the baseline: {site.url('/go/b')}" in gone and f"line 3: {site.url('/go/b')}" not in text
    assert f"line 3 of the baseline: {site.url('/go/b')}" in html.read_text()
    doc = json.loads(run(str(tonight), "--baseline", str(base), "--json").output)
    (group,) = doc["changes"]["not_in_sweep_groups"]
    assert group["examples"] == [{"baseline_line": 3, "link": site.url("/go/b")}]


def test_a_changed_group_names_tonights_place_and_the_row_says_it_did_not_land(site, tmp_path):
    links, base = _three_links(site, tmp_path)  # /go/b: a 404 at /go/b
    site.add("/go/b", redirect("/loop1"))
    site.add("/loop1", redirect("/loop2"))
    site.add("/loop2", redirect("/loop1"))
    html = tmp_path / "r.html"
    doc = json.loads(run(str(links), "--baseline", str(base), "--json", "--html", str(html)).output)
    (changed,) = doc["changes"]["changed_groups"]
    assert changed["code"] == "http-error" and changed["now"] == ["redirect-loop"]
    assert changed["where"] != changed["was_where"] and changed["where"] in changed["cause"]
    assert changed["was_where"] in changed["was_cause"] and "/loop" in changed["where"]
    row = html.read_text().split(f'class="url">{site.url("/go/b")}</td>')[1].split("</tr>")[0]
    assert "did not land: a redirect loop at" in row


def test_the_html_footer_names_what_was_written(site, tmp_path):
    links, _ = _three_links(site, tmp_path)
    html, out_csv = tmp_path / "r.html", tmp_path / "o.csv"
    run(str(links), "--html", str(html), "--csv", str(out_csv))
    foot = html.read_text()
    assert f"Every link is in the CSV ({out_csv})." in foot and "--save)" not in foot
    run(str(links), "--html", str(html))
    assert "Every link is in" not in html.read_text()


def test_unknown_list_counts_every_unseen_link_unreached_and_says_so(site, tmp_path):
    _, base = _three_links(site, tmp_path)
    summary = SweepSummary("t.csv", 3, Baseline.load(base))
    summary.finish(False, None)
    ch = summary.to_dict()["changes"]
    assert ch["not_reached_links"] == 3 and ch["list_known"] is False and "could not be read again" in since_baseline(ch)
    summary = SweepSummary("t.csv", 3, Baseline.load(base))
    summary.finish(False, {Baseline.load(base).not_checked()[0][0]})
    ch = summary.to_dict()["changes"]
    assert (ch["not_reached_links"], len(ch["not_in_sweep_links"]), ch["list_known"]) == (1, 2, True)


def test_a_stopped_sweep_tells_removed_links_from_unreached_ones(site, tmp_path):
    site.add("/welcome", page(partnerstack_snippet(f"'{PK}'")))
    site.add("/pricing", page())
    site.add("/go/first", redirect("/welcome?" + q("first")))
    for name in ("s1", "s2", "s3", "gone"):
        site.add(f"/go/{name}", redirect("/pricing?" + q(name)))
    names = ("first", "s1", "s2", "s3")
    night1 = write_csv(tmp_path / "n1.csv", [[site.url(f"/go/{n}"), n, n] for n in (*names, "gone")])
    rolling = tmp_path / "rolling.json"
    assert run(str(night1), "--save", str(rolling)).exit_code == 1  # s1-s3 and gone broken: the baseline
    links = write_csv(tmp_path / "n2.csv", [[site.url(f"/go/{n}"), n, n] for n in names])  # gone removed
    reached = threading.Event()

    def slow(request) -> Page:
        reached.set()
        time.sleep(3)
        return redirect("/pricing?" + q("s1"))

    site.add("/go/s1", slow)
    html = tmp_path / "r.html"
    code, out, err = interrupted_sweep(links, rolling, reached, "--html", str(html))
    assert code == 130, (out, err)
    assert "3 breakages of the baseline on 3 links the stopped sweep did not reach" in out
    assert "1 breakage on 1 link no longer in the list (not checked)" in out
    gone = out[out.index("Not checked"):]
    assert site.url("/go/gone") in gone and site.url("/go/s2") not in gone
    foot = html.read_text().rsplit("<p class=\"muted\">", 1)[1]
    assert "Every link is in" not in foot and "stopped after 1 of 4 rows" in foot
    assert f"--save {rolling} was not replaced" in foot
