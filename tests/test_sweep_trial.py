"""`diagnose sweep --baseline` as a new user met it (trial s13): links not re-checked and links no
longer in the list are named, not only counted; an interrupted sweep says where its results are (not
in a --save that was held back) and what its comparison covers; a damaged baseline is bad input, not
"no problems"; the wording counts and pluralises right. Real local servers, the real command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_sweep import PK, _record_lines, page, q, run, write_csv

from diagnose.core.errors import BadInput
from diagnose.demo.site import Page, partnerstack_snippet, redirect
from diagnose.pipeline.sweep_baseline import Baseline
from diagnose.report.sweep import cause


def _three_links(site, tmp_path: Path) -> tuple[Path, Path]:
    """Night one: /go/a lands on /pricing (no snippet), /go/b is a 404, /go/c lands on /bare (no snippet)."""
    site.add("/pricing", page())
    site.add("/bare", page())
    site.add("/go/a", redirect("/pricing?" + q("a")))
    site.add("/go/b", Page("gone", 404))
    site.add("/go/c", redirect("/bare?" + q("c")))
    rows = [[site.url("/go/a"), "a", "A"], [site.url("/go/b"), "b", "B"], [site.url("/go/c"), "c", "C"]]
    links = write_csv(tmp_path / "links.csv", rows)
    base = tmp_path / "base.json"
    assert run(str(links), "--save", str(base)).exit_code == 1
    return links, base


def test_links_not_re_checked_and_links_no_longer_in_the_list_are_named(site, tmp_path):
    _, base = _three_links(site, tmp_path)
    # night two: /pricing cannot be read (a's snippet check cannot run), b is removed from the list,
    # /bare has its snippet back (c is fixed)
    site.add("/pricing", Page("down", 503))
    site.add("/bare", page(partnerstack_snippet(f"'{PK}'")))
    tonight = write_csv(tmp_path / "tonight.csv", [[site.url("/go/a"), "a", "A"], [site.url("/go/c"), "c", "C"]])
    html = tmp_path / "r.html"
    r = run(str(tonight), "--baseline", str(base), "--json", "--html", str(html))
    doc = json.loads(r.output)
    ch = doc["changes"]
    assert (ch["unverified"], ch["unverified_links"], ch["not_in_sweep"], ch["fixed"]) == (1, 1, 1, 1)
    (unverified,) = ch["unverified_groups"]
    assert unverified["code"] == "no-snippet" and unverified["examples"] == [{"line": 2, "link": site.url("/go/a")}]
    (dropped,) = ch["not_in_sweep_groups"]
    assert dropped["code"] == "http-error" and dropped["examples"] == [{"baseline_line": 3, "link": site.url("/go/b")}]
    assert ch["not_in_sweep_links"] == [{"baseline_line": 3, "link": site.url("/go/b"), "codes": ["http-error"]}]  # kept
    recs = {rec["link"]: rec for rec in map(json.loads, _record_lines(r.output))}
    assert recs[site.url("/go/a")]["unverified"] == ["no-snippet"] and recs[site.url("/go/c")]["unverified"] == []
    # the terminal: each in its own list, with the link and the baseline's problem
    text = run(str(tonight), "--baseline", str(base)).output
    assert ("1 breakage on 1 link not re-checked (the check could not run), "
            "1 breakage on 1 link no longer in the list (not checked).") in text
    rechecked = text[text.index("Not re-checked"):text.index("Not checked")]
    assert site.url("/go/a") in rechecked and "no-snippet" in rechecked and site.url("/go/b") not in rechecked
    gone = text[text.index("Not checked"):]
    assert site.url("/go/b") in gone and "http-error" in gone
    # the HTML: the same lists, plurals right
    page_html = html.read_text()
    for needle in ("Not re-checked (the check could not run this time", "Not checked (the links are no longer",
                   site.url("/go/b"), "not re-checked: no-snippet", "1 fixed on 1 link,", "3 links)"):
        assert needle in page_html, needle
    assert "1 links" not in page_html and "1 rows" not in page_html


def test_an_interrupted_sweep_says_where_its_results_are_and_what_it_compared(site, tmp_path):
    site.add("/welcome", page(partnerstack_snippet(f"'{PK}'")))
    site.add("/pricing", page())
    site.add("/go/first", redirect("/welcome?" + q("first")))
    for name in ("s1", "s2", "s3"):
        site.add(f"/go/{name}", redirect("/pricing?" + q(name)))
    rows = [[site.url(f"/go/{n}"), n, n] for n in ("first", "s1", "s2", "s3")]
    links = write_csv(tmp_path / "links.csv", rows)
    rolling = tmp_path / "rolling.json"
    assert run(str(links), "--save", str(rolling)).exit_code == 1  # s1-s3 broken: the baseline
    saved = rolling.read_bytes()
    reached = threading.Event()

    def slow(request) -> Page:  # the second link: the first one is done by now
        reached.set()
        time.sleep(3)
        return redirect("/pricing?" + q("s1"))

    site.add("/go/s1", slow)
    code, out, err = interrupted_sweep(links, rolling, reached)
    assert code == 130, (out, err)
    assert rolling.read_bytes() == saved and "was not replaced" in err
    error = err.strip().splitlines()[-1]
    assert error.startswith("Error: interrupted after 1 of 4 rows;"), error
    assert "written" not in error and "only in the summary above" in error and str(rolling) in error
    assert "1 of 4 rows in" in out
    assert "Nothing changed." not in out
    assert "Nothing changed on the 1 row reached before the stop (the comparison covers only them)." in out
    assert "3 breakages of the baseline on 3 links the stopped sweep did not reach" in out
    # with other outputs, the error line names them (and still not the held-back --save)
    site.add("/go/s1", slow)
    reached.clear()
    out_csv = tmp_path / "o.csv"
    code, out, err = interrupted_sweep(links, rolling, reached, "--csv", str(out_csv))
    error = err.strip().splitlines()[-1]
    assert f"the results so far are written to {out_csv} (\"complete\": false)" in error, error
    assert str(rolling) not in error


def _edit_line(base: Path, number: int, edit) -> Path:
    lines = base.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = edit(lines[number - 1])
    out = base.with_name(f"edited-{number}.json")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _record_edit(change):
    def edit(line: str) -> str:
        comma = "," if line.startswith(",") else ""
        rec = json.loads(line.lstrip(","))
        change(rec)
        return comma + json.dumps(rec)
    return edit


@pytest.mark.parametrize("change, needle", [
    (lambda rec: rec.update(problems=[{"code": None, "severity": "fail"}]), "has no code or severity"),
    (lambda rec: rec.update(problems=[{"code": "no-snippet"}]), "has no code or severity"),
    (lambda rec: rec.pop("problems"), "has no list of problems"),
    (lambda rec: rec.update(problems="none"), "has no list of problems"),
])
def test_a_damaged_baseline_record_is_bad_input_naming_its_line(site, tmp_path, change, needle):
    links, base = _three_links(site, tmp_path)
    damaged = _edit_line(base, 2, _record_edit(change))
    with pytest.raises(BadInput, match=f"line 2: .*{needle}"):
        Baseline.load(damaged)
    r = run(str(links), "--baseline", str(damaged))
    assert r.exit_code == 2 and str(damaged) in r.output and "line 2" in r.output and "Traceback" not in r.output
    # the same reformatted (read whole): named by its place in the list
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(damaged.read_text()), indent=2))
    with pytest.raises(BadInput, match=f"link 1 of the list: .*{needle}"):
        Baseline.load(pretty)


def test_complete_must_be_true_or_false_and_a_cut_line_names_its_column(site, tmp_path):
    _, base = _three_links(site, tmp_path)
    end = len(base.read_text().splitlines())
    bad = _edit_line(base, end, lambda line: line.replace('"complete": true', '"complete": "yes"'))
    with pytest.raises(BadInput, match=f"line {end}: \"complete\" is \"yes\", not true or false"):
        Baseline.load(bad)
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps({**json.loads(base.read_text()), "complete": "yes"}, indent=2))
    with pytest.raises(BadInput, match="not true or false"):
        Baseline.load(pretty)
    lines = base.read_text().splitlines()
    cut = base.with_name("cut.json")
    cut.write_text("\n".join([*lines[:2], lines[2][:120]]) + "\n")  # a disk that filled mid-line
    with pytest.raises(BadInput) as err:
        Baseline.load(cut)
    assert "line 3 is not valid JSON" in str(err.value) and "column" in str(err.value)
    assert "line 1" not in str(err.value)


def test_every_record_a_sweep_writes_loads_as_a_baseline(site, tmp_path):
    site.add("/pricing", page())
    site.add("/go/a", redirect("/pricing?" + q("a")))
    links = tmp_path / "l.txt"  # a bad row, a duplicate, a broken link
    links.write_text(f"{site.url('/go/a')}\nnot a url\n{site.url('/go/a')}\nftp://x.example/f\n")
    base = tmp_path / "b.json"
    run(str(links), "--save", str(base))
    statuses = {json.loads(line.lstrip(","))["status"] for line in _record_lines(base.read_text())}
    assert statuses == {"broken", "bad-input", "duplicate"}
    loaded = Baseline.load(base)
    assert len(loaded.broken) == 3  # the link and the two bad rows
    # a crashed check (status error, check-failed) loads too
    crashed = _edit_line(base, 2, _record_edit(lambda rec: rec.update(
        status="error", checks=[], problems=[{"code": "check-failed", "severity": "error", "check": "sweep",
                                              "message": "boom", "where": "KeyError"}])))
    assert set(Baseline.load(crashed).broken[json.loads(crashed.read_text().splitlines()[1])["id"]]) == {"check-failed"}


def test_words_for_one_link_and_for_a_line_that_is_not_a_url(site, tmp_path):
    assert cause("partner-mismatch", "gspk", "mallory", 1) == "the link carries partner key mallory, not its row's partner"
    assert cause("partner-mismatch", "gspk", "mallory", 2) == "the links carry partner key mallory, not their row's partner"
    site.add("/welcome", page(partnerstack_snippet(f"'{PK}'")))
    links = tmp_path / "l.txt"
    links.write_text(f"{site.url('/welcome?' + q('x'))}\nnot a url\n{site.url('/a')} {site.url('/b')}\n")
    r = run(str(links), "--json")
    causes = {g["cause"] for g in json.loads(r.output)["groups"]}
    assert causes == {"a row that is not a usable link: not a web address",
                      "a row that is not a usable link: more than one value"}


def interrupted_sweep(links, rolling, reached: threading.Event, *more: str) -> tuple[int, str, str]:
    """`diagnose sweep LINKS --jobs 1 --baseline ROLLING --save ROLLING MORE...` as a new process,
    stopped with SIGINT once ``reached`` says its slow link is being fetched: (exit code, stdout, stderr)."""
    env = {**os.environ, "DIAGNOSE_ALLOW_PRIVATE_NETWORK": "1", "COLUMNS": "300"}
    proc = subprocess.Popen([sys.executable, "-m", "diagnose", "sweep", str(links), "--jobs", "1", "--baseline",
                             str(rolling), "--save", str(rolling), *more], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert reached.wait(20)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, out, err
