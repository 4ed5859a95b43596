"""`diagnose sweep`: many links against real local HTTP servers - grouping, the baseline diff, the
per-host cap, hostile rows, the output files and the exit codes."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.cli import cli
from diagnose.core.errors import BadInput
from diagnose.core.partnerstack import encode_partner_key
from diagnose.demo.site import Page, partnerstack_snippet, redirect
from diagnose.pipeline.sweep import SweepOptions, run_sweep
from diagnose.pipeline.sweep_baseline import Baseline
from diagnose.pipeline.sweep_input import MAX_LINE, LinkSource
from diagnose.web.policy import NetPolicy

PK = "pk_" + "A1b2C3d4" * 4
OTHER_PK = "pk_" + "Z9y8X7w6" * 4
POLICY = NetPolicy(timeout=2.0, allow_private=True)
TEXT = "<p>" + "Welcome to Acme. " * 20 + "</p>"


def page(head: str = "", title: str = "Acme") -> Page:
    return Page(f"<!doctype html><html><head><title>{title}</title>{head}</head><body>{TEXT}</body></html>")


def q(partner: str) -> str:
    return f"gspk={encode_partner_key(partner)}&gsxid=click{partner}"


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["sweep", *args, "--allow-private-network", "--timeout", "2"], input=stdin,
                              env={"COLUMNS": "300"})  # a wide terminal: no cell wraps


def write_csv(path: Path, rows: list[list[str]], header=("link", "partner_key", "name")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def program(site, partners: int = 6, broken: int = 5):
    """A program's links: ``partners`` healthy ones (-> /welcome with the snippet), ``broken`` landing
    on /pricing (no snippet); each link /go/NAME redirects to its landing page with its key."""
    site.add("/welcome", page(partnerstack_snippet(f"'{PK}'")))
    site.add("/pricing", page())
    rows = []
    for i in range(partners + broken):
        name = f"p{i}"
        target = "/welcome" if i < partners else "/pricing"
        site.add(f"/go/{name}", redirect(f"{target}?{q(name)}"))
        rows.append([site.url(f"/go/{name}"), name, f"Partner {i}"])
    return rows


def sweep_records(rows, **options) -> list:
    out: list = []
    run_sweep(rows, SweepOptions(POLICY, **options), out.append)
    return out


# -- what is broken, grouped -----------------------------------------------------------------------

def test_links_landing_on_one_page_without_snippet_are_one_group(site, tmp_path):
    links = write_csv(tmp_path / "links.csv", program(site, partners=3, broken=12))
    r = run(str(links), "--json", "--expect-key", PK, "--per-host", "8")
    assert r.exit_code == 1, r.output
    doc = json.loads(r.output)
    assert doc["counts"]["broken"] == 12 and doc["counts"]["ok"] == 3
    groups = [g for g in doc["groups"] if g["code"] == "no-snippet"]
    assert len(groups) == 1
    assert groups[0]["count"] == 12 and groups[0]["where"] == site.url("/pricing")
    assert groups[0]["cause"] == f"landing page {site.url('/pricing')} has no snippet"
    assert len(groups[0]["examples"]) == 5  # a few examples, not every row
    text = run(str(links), "--expect-key", PK, "--per-host", "8")
    assert f"landing page {site.url('/pricing')} has no snippet" in text.output
    assert text.output.count("has no snippet") == 1  # named once


def test_what_is_broken_per_link(site, tmp_path):
    site.add("/welcome", page(partnerstack_snippet(f"'{PK}'")))
    site.add("/other", page(partnerstack_snippet(f"'{OTHER_PK}'")))
    site.add("/template", page(partnerstack_snippet("'{{ public_key }}'")))
    site.add("/canonical", redirect("/welcome", 301))  # a redirect that loses the query
    site.add("/a", redirect("/b"))
    site.add("/b", redirect("/a"))
    site.add("/gone", Page("not here", 404))
    rows = [
        [site.url("/welcome?" + q("jane")), "jane", "ok"],
        [site.url("/welcome?" + q("jane")), "bob", "wrong partner"],
        [site.url("/canonical?" + q("kim")), "kim", "dropped"],
        [site.url("/other?" + q("lee")), "lee", "mismatch"],
        [site.url("/template?" + q("max")), "max", "placeholder"],
        [site.url("/a"), "", "loop"],
        [site.url("/gone?" + q("ann")), "ann", "404"],
    ]
    links = write_csv(tmp_path / "links.csv", rows)
    r = run(str(links), "--json", "--expect-key", PK, "--csv", str(tmp_path / "out.csv"))
    by_name = {rec["labels"]["name"]: rec for rec in map(json.loads, _record_lines(r.output))}
    codes = {name: {p["code"] for p in rec["problems"] if p["severity"] != "warn"} for name, rec in by_name.items()}
    assert codes == {"ok": set(), "wrong partner": {"partner-mismatch"}, "dropped": {"params-dropped"},
                     "mismatch": {"public-key-mismatch"}, "placeholder": {"public-key-placeholder"},
                     "loop": {"redirect-loop"}, "404": {"http-error"}}
    dropped = next(p for p in by_name["dropped"]["problems"] if p["code"] == "params-dropped")
    assert dropped["where"] == site.url("/canonical")  # the hop that dropped them
    rows_out = {row["name"]: row for row in csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8"))}
    assert rows_out["loop"]["what"] == "link-broken (redirect-loop)"
    assert rows_out["wrong partner"]["what"] == "wrong-partner-key (partner-mismatch)"
    assert rows_out["404"]["status"] == "broken" and rows_out["ok"]["status"] == "ok"


def _record_lines(output: str) -> list[str]:
    lines = output.splitlines()
    assert lines[0].startswith('{"format": "diagnose-sweep", "version": 1') and lines[0].endswith('"links": [')
    end = next(i for i, line in enumerate(lines) if line.startswith("]"))
    return [line.lstrip(",") for line in lines[1:end]]


def test_a_landing_page_given_as_such_needs_no_partner_key(site, tmp_path):
    site.add("/home", page(partnerstack_snippet(f"'{PK}'")))
    site.add("/bare", page())
    links = tmp_path / "pages.txt"
    links.write_text(f"# landing pages\n{site.url('/home')}\n\n{site.url('/bare')}  # the blog\n")
    r = run(str(links), "--json")
    recs = [json.loads(x) for x in _record_lines(r.output)]
    assert {rec["line"]: [p["code"] for p in rec["problems"]] for rec in recs} == {2: [], 4: ["no-snippet"]}
    assert next(rec for rec in recs if rec["line"] == 4)["labels"] == {"comment": "the blog"}


# -- hostile and bad input ----------------------------------------------------------------------------

def test_hostile_rows_are_recorded_never_dropped(site, tmp_path):
    site.add("/ok", page(partnerstack_snippet(f"'{PK}'")))
    good = site.url("/ok?" + q("jane"))
    raw = (
        "link,partner_key,expected_public_key,note\n"
        f"{good},jane,,=HYPERLINK(\"http://evil\")\n"
        "javascript:alert(1),,,js\n"
        "not a url,,,words\n"
        f"{good},jane bob,,bad partner\n"
        f"{good},jane,pk_short,bad key\n"
        f"{'https://x.example/' + 'a' * 9000},,,huge\n"
        f"{good}\x00,,,nul\n"
        f"http://[::1,,,bracket\n"
        f"{'y' * (MAX_LINE + 10)}\n"
        f"{good},jane,,dup\n"
        f"\"{good},,,unclosed\n"
        "x,,,\n"
    )
    links = tmp_path / "links.csv"
    links.write_text(raw, encoding="utf-8")
    out = tmp_path / "out.csv"
    r = run(str(links), "--csv", str(out), "--save", str(tmp_path / "s.json"))
    assert r.exit_code == 1, r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    statuses = sorted((int(row["line"]), row["status"]) for row in rows)
    assert statuses == [(2, "ok"), (3, "bad-input"), (4, "bad-input"), (5, "bad-input"), (6, "bad-input"),
                        (7, "bad-input"), (8, "bad-input"), (9, "bad-input"), (10, "bad-input"), (11, "duplicate"),
                        (12, "bad-input")]  # the unclosed quote swallows the last line, and says so
    by_line = {int(row["line"]): row for row in rows}
    assert "longer than 64 KB" in by_line[10]["message"]
    assert "closed only on line" in by_line[12]["message"] or "unreadable" in by_line[12]["message"]
    assert by_line[2]["note"] == "'=HYPERLINK(\"http://evil\")"  # no formula in a spreadsheet
    assert "javascript" in by_line[3]["message"]
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["counts"]["rows"] == 11 and saved["counts"]["bad-input"] == 9


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_encodings_and_delimiters(site, tmp_path, encoding):
    site.add("/ok", page(partnerstack_snippet(f"'{PK}'")))
    text = f"URL;Partner Key;Café\n{site.url('/ok?' + q('jane'))};jane;Zoë\n"
    links = tmp_path / "links.csv"
    links.write_bytes(text.encode(encoding))
    source = LinkSource(str(links))
    (row,) = list(source.rows())
    source.close()
    assert (row.url, row.partner_key, row.labels) == (site.url("/ok?" + q("jane")), "jane", {"Café": "Zoë"})


def test_standard_input_and_bad_files(site, tmp_path):
    site.add("/ok", page(partnerstack_snippet(f"'{PK}'")))
    r = run("-", stdin=site.url("/ok?" + q("jane")) + "\n")
    assert r.exit_code == 0, r.output
    assert "1 row in" in r.output and "1 ok" in r.output
    nocol = tmp_path / "x.csv"
    nocol.write_text("name,partner\njane,jane\n")
    noheader = tmp_path / "y.csv"
    noheader.write_text("https://acme.example/a,jane\n")
    for args, needle in [((str(nocol),), "no column named link or url"),
                         ((str(noheader),), "without a header row"),
                         ((str(tmp_path),), "is a directory"),
                         (("/dev/zero",), "is not a regular file"),
                         ((str(tmp_path / "missing.txt"),), "cannot read LINKS"),
                         (("-",), "holds no links"),
                         ((str(nocol), "--expect-key", "pk_x"), "not a public key")]:
        r = run(*args, stdin="")
        assert r.exit_code == 2, (args, r.output)
        assert needle in r.output and "Traceback" not in r.output


def test_a_private_address_is_refused_without_the_flag(site, tmp_path):
    site.add("/ok", page(partnerstack_snippet(f"'{PK}'")))
    links = tmp_path / "l.txt"
    links.write_text(site.url("/ok?" + q("jane")) + "\n")
    r = CliRunner().invoke(cli, ["sweep", str(links), "--json"], env={"DIAGNOSE_ALLOW_PRIVATE_NETWORK": ""})
    (rec,) = [json.loads(x) for x in _record_lines(r.output)]
    assert [p["code"] for p in rec["problems"]] == ["private-network"]
    assert not site.hits  # never requested


# -- politeness -------------------------------------------------------------------------------------

class Counting:
    """A route that counts the requests in flight on its server (and keeps the peak)."""

    def __init__(self, page_: Page, delay: float = 0.02):
        self.page, self.delay = page_, delay
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, request) -> Page:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(self.delay)
        with self.lock:
            self.now -= 1
        return self.page


@pytest.mark.parametrize("per_host,processes", [(2, 1), (1, 1), (2, 2)])
def test_no_host_sees_more_than_per_host_requests(site, tmp_path, per_host, processes):
    landing = Counting(page(partnerstack_snippet(f"'{PK}'")))
    hop = Counting(redirect("/landing"))
    site.add("/landing", landing)
    site.add("/hop", hop)
    redirector = Counting(redirect(site.url("/hop")))  # every link: redirector -> /hop -> /landing
    from diagnose.demo.site import LocalSite

    with LocalSite(host="127.0.0.2") as other:  # another host name: its own cap
        other.add("/r", redirector)
        links = tmp_path / "l.txt"
        links.write_text("".join(other.url(f"/r?{q(f'p{i}')}&i={i}") + "\n" for i in range(12)))
        source = LinkSource(str(links))
        records = sweep_records(source.rows(), jobs=8, per_host=per_host, processes=processes)
        source.close()
    assert len(records) == 12 and {r.status for r in records} == {"broken"}  # /landing has no gspk: params-dropped
    # the two hosts: 127.0.0.1 serves /hop and /landing (one cap for both), 127.0.0.2 the redirector
    assert redirector.peak == per_host
    assert max(hop.peak, landing.peak) <= per_host
    assert hop.now + landing.now + redirector.now == 0


def test_worker_processes_of_the_command(site, tmp_path):
    """--processes 2 from the command (forked workers on Linux): every link checked once, the per-host
    cap held across the workers, and nothing the parent had written before the fork written again."""
    landing = Counting(page(partnerstack_snippet(f"'{PK}'")), delay=0.05)
    site.add("/landing", landing)
    links = tmp_path / "l.txt"
    links.write_text("".join(site.url(f"/landing?{q(f'p{i}')}&i={i}") + "\n" for i in range(30)))
    env = {**os.environ, "DIAGNOSE_ALLOW_PRIVATE_NETWORK": "1"}
    done = subprocess.run([sys.executable, "-m", "diagnose", "sweep", str(links), "--jobs", "6", "--per-host", "2",
                           "--processes", "2", "--json", "--expect-key", PK], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # one document: the header the parent streamed before the fork, once
    assert sorted(link["line"] for link in doc["links"]) == list(range(1, 31))
    assert {link["status"] for link in doc["links"]} == {"ok"}
    assert landing.peak == 2


@pytest.mark.parametrize("threads, method", [(0, "fork"), (1, "spawn")])
def test_workers_are_forked_only_from_one_thread(threads, method):
    if not sys.platform.startswith("linux"):
        method = "spawn"
    code = ("import threading, time\n"
            f"for _ in range({threads}): threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
            "from diagnose.pipeline.sweep_procs import _context\n"
            "print(_context().get_start_method())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.split() == [method], done.stderr


@pytest.mark.parametrize("jobs, processes", [(3, 1), (3, 2), (5, 2), (1, 2)])
def test_no_more_links_in_flight_than_jobs(site, tmp_path, jobs, processes):
    """The worker processes' threads are --jobs in all, whatever rows the dispatcher queues ahead."""
    landing = Counting(page(partnerstack_snippet(f"'{PK}'")), delay=0.1)
    site.add("/landing", landing)
    links = tmp_path / "l.txt"
    links.write_text("".join(site.url(f"/landing?{q(f'p{i}')}&i={i}") + "\n" for i in range(4 * jobs + 2)))
    source = LinkSource(str(links))
    records = sweep_records(source.rows(), jobs=jobs, per_host=10, processes=processes)
    source.close()
    assert len(records) == 4 * jobs + 2 and {r.status for r in records} == {"ok"}
    assert landing.peak == jobs


def test_a_stopped_sweep_leaves_the_rest(site, tmp_path):
    site.add("/slow", Counting(page(partnerstack_snippet(f"'{PK}'")), delay=0.05))
    links = tmp_path / "l.txt"
    links.write_text("".join(site.url(f"/slow?{q(f'p{i}')}") + "\n" for i in range(40)))
    stop = threading.Event()
    seen: list = []

    def on_record(record):
        seen.append(record)
        if len(seen) == 3:
            stop.set()

    source = LinkSource(str(links))
    run_sweep(source.rows(), SweepOptions(POLICY, jobs=2, per_host=2), on_record, stop)
    source.close()
    assert 3 <= len(seen) < 10


# -- the baseline ----------------------------------------------------------------------------------

def test_baseline_names_exactly_the_new_and_the_fixed(site, tmp_path):
    rows = program(site, partners=4, broken=3)
    site.add("/welcome2", page(partnerstack_snippet(f"'{PK}'")))
    site.add("/go/moved", redirect("/welcome2?" + q("moved")))
    rows.append([site.url("/go/moved"), "moved", "Moved"])
    links = write_csv(tmp_path / "links.csv", rows)
    first = tmp_path / "first.json"
    r1 = run(str(links), "--save", str(first))
    assert r1.exit_code == 1  # 3 links broken
    # the next day: /pricing gets its snippet (3 links fixed), /welcome2 loses it (1 new), p0 is renamed
    site.add("/pricing", page(partnerstack_snippet(f"'{PK}'")))
    site.add("/welcome2", page())
    site.add("/go/p1", redirect("/welcome?" + q("someone-else")))
    r2 = run(str(links), "--baseline", str(first), "--json")
    assert r2.exit_code == 1, r2.output
    doc = json.loads(r2.output)
    ch = doc["changes"]
    new = {(rec["labels"]["name"], c) for rec in map(json.loads, _record_lines(r2.output)) for c in rec["new"]}
    fixed = {(rec["labels"]["name"], c) for rec in map(json.loads, _record_lines(r2.output)) for c in rec["fixed"]}
    assert new == {("Moved", "no-snippet"), ("Partner 1", "partner-mismatch")}
    assert fixed == {("Partner 4", "no-snippet"), ("Partner 5", "no-snippet"), ("Partner 6", "no-snippet")}
    assert (ch["new"], ch["new_links"], ch["fixed"], ch["fixed_links"], ch["still_broken_links"]) == (2, 2, 3, 3, 0)
    assert {g["cause"] for g in ch["fixed_groups"]} == {f"landing page {site.url('/pricing')} has no snippet"}
    assert [g["count"] for g in ch["fixed_groups"]] == [3]
    text = run(str(links), "--baseline", str(first)).output
    assert "2 new breakages on 2 links, 3 fixed on 3 links" in text
    assert f"landing page {site.url('/welcome2')} has no snippet" in text
    # the same again against today's sweep: nothing new broke
    today = tmp_path / "today.json"
    today.write_text(r2.output)
    r3 = run(str(links), "--baseline", str(today), "--save", str(today))  # --save may replace the baseline
    assert r3.exit_code == 0, r3.output
    assert "0 new breakages" in r3.output and "Nothing changed." in r3.output
    assert Baseline.load(today).complete is True


def test_a_check_that_could_not_run_is_not_fixed(site, tmp_path):
    site.add("/pricing", page())
    site.add("/go/a", redirect("/pricing?" + q("a")))
    links = tmp_path / "l.txt"
    links.write_text(site.url("/go/a") + "\n")
    base = tmp_path / "b.json"
    run(str(links), "--save", str(base))
    site.add("/pricing", Page("down", 503))  # now the page cannot be read: its snippet is not "fixed"
    doc = json.loads(run(str(links), "--baseline", str(base), "--json").output)
    assert doc["changes"]["fixed"] == 0 and doc["changes"]["unverified"] == 1 and doc["changes"]["new"] == 1
    site.add("/go/a", redirect("/go/a"))  # a loop now; then the site is gone: the loop is not "fixed" either
    run(str(links), "--save", str(base))
    site.close()
    doc = json.loads(run(str(links), "--baseline", str(base), "--json").output)
    (rec,) = doc["links"]
    assert (rec["new"], rec["fixed"]) == (["connection-error"], [])
    assert doc["changes"]["unverified"] == 1


def test_baseline_reformatted_or_wrong(site, tmp_path):
    links = write_csv(tmp_path / "links.csv", program(site, partners=1, broken=1))
    base = tmp_path / "b.json"
    run(str(links), "--save", str(base))
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(base.read_text()), indent=2))  # e.g. through jq
    a, b = Baseline.load(base), Baseline.load(pretty)
    assert a.broken == b.broken and a.links == b.links and len(a.broken) == 1
    for content, needle in [('{"format": "other"}', "is not the JSON of a sweep"),
                            ('{"format": "diagnose-sweep", "version": 99, "links": []}', "format version 99"),
                            ("not json", "not valid JSON")]:
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        with pytest.raises(BadInput, match=needle):
            Baseline.load(bad)
        r = run(str(links), "--baseline", str(bad))
        assert r.exit_code == 2 and needle in r.output


# -- outputs and exit codes ----------------------------------------------------------------------

def test_html_is_self_contained_and_escaped(site, tmp_path):
    site.add("/x", page(title="<script>alert(1)</script>"))
    rows = [[site.url("/x?" + q("a")), "a", "<img src=x onerror=alert(1)>"]]
    links = write_csv(tmp_path / "links.csv", rows)
    out = tmp_path / "r.html"
    r = run(str(links), "--html", str(out))
    assert r.exit_code == 1
    html = out.read_text()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "has no snippet" in html and html.rstrip().endswith("</html>")


def test_exit_codes(site, tmp_path):
    site.add("/ok", page(partnerstack_snippet(f"'{PK}'")))
    ok = tmp_path / "ok.txt"
    ok.write_text(site.url("/ok?" + q("jane")) + "\n")
    assert run(str(ok)).exit_code == 0
    down = tmp_path / "down.txt"
    down.write_text("http://127.0.0.1:1/a\nhttp://127.0.0.1:1/b\n")  # nothing listens: the network, not the links
    r = run(str(down))
    assert r.exit_code == 3 and "No link's first host answered" in r.output


def test_ctrl_c_keeps_the_results(site, tmp_path):
    site.add("/slow", Counting(page(partnerstack_snippet(f"'{PK}'")), delay=0.3))
    links = tmp_path / "l.txt"
    links.write_text("".join(site.url(f"/slow?{q(f'p{i}')}") + "\n" for i in range(60)))
    saved = tmp_path / "s.json"
    env = {**os.environ, "DIAGNOSE_ALLOW_PRIVATE_NETWORK": "1"}
    errors = (tmp_path / "stderr").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "diagnose", "sweep", str(links), "--jobs", "2", "--save", str(saved),
                             "--csv", str(tmp_path / "o.csv"), "--json"], env=env, stdout=subprocess.PIPE,
                            stderr=errors, text=True)
    header = proc.stdout.readline()  # --json streams: the header, then a line per finished link
    first = proc.stdout.readline()
    assert header.startswith('{"format"') and first.startswith('{"id"'), (header, first)
    proc.send_signal(signal.SIGINT)
    out = proc.stdout.read()  # the same buffered reader (communicate() would skip what it holds)
    proc.wait(20)
    errors.seek(0)
    err = errors.read()
    assert proc.returncode == 130, (out, err)
    assert "interrupted after" in err and "Traceback" not in err
    streamed = json.loads(header + first + out)  # the stream is closed properly too
    doc = json.loads(saved.read_text())
    assert doc["complete"] is False and streamed["complete"] is False
    assert 0 < doc["counts"]["rows"] < 60 and len(streamed["links"]) == doc["counts"]["rows"]
    assert len(list(csv.DictReader((tmp_path / "o.csv").open()))) == doc["counts"]["rows"]
    assert Baseline.load(saved).complete is False


def test_cookie_in_the_browser(browser_session, ps_site):
    from diagnose.pipeline.sweep_input import LinkRow

    ps_site.add("/sweep-good", page(partnerstack_snippet(f"'{PK}'")))
    ps_site.add("/sweep-bare", page())
    urls = (ps_site.url("/sweep-good?" + q("jane")), ps_site.url("/sweep-bare?" + q("bob")))
    rows = [LinkRow(i + 1, u, u) for i, u in enumerate(urls)]
    records = {r.row.line: r for r in sweep_records(rows, session=browser_session, jobs=2)}
    good, bare = records[1], records[2]
    assert good.cookie_set is True and "cookie" in good.checks and good.status == "ok", good.findings
    assert bare.cookie_set is False
    assert {"no-snippet", "no-partner-cookie"} <= {f.code for f in bare.findings}


def test_groups_keep_counts_and_a_few_examples_within_a_bound(monkeypatch):
    from diagnose.pipeline.sweep_check import Finding
    from diagnose.report import sweep as report

    monkeypatch.setattr(report, "MAX_GROUPS", 3)
    groups = report.Groups()
    for i in range(50):  # 50 links on 10 pages: 3 groups of their own, the rest "(other places)"
        groups.add(Finding("no-snippet", "fail", "snippet", "no snippet", f"https://acme.example/p{i % 10}"), i, f"l{i}")
    ranked = groups.ranked()
    assert len(groups) == 4 and sum(g.count for g in ranked) == 50
    assert ranked[0].where == "(other places)" and ranked[0].count == 35
    assert all(len(g.examples) <= report.EXAMPLES for g in ranked)


def test_a_browser_finding_explained_by_a_page_finding_is_not_a_cause_of_its_own():
    from diagnose.pipeline.sweep_check import Finding, LinkRecord
    from diagnose.pipeline.sweep_input import LinkRow
    from diagnose.report.sweep import SweepSummary

    landing = "https://www.acme.example/pricing"
    nosnippet = Finding("no-snippet", "fail", "snippet", "no snippet", landing)
    nocookie = Finding("no-partner-cookie", "fail", "cookie", "no cookie", landing)
    summary = SweepSummary("links.csv")
    summary.add(LinkRecord(LinkRow(2, "a", "https://a.example/"), "broken", [nosnippet, nocookie]))
    summary.add(LinkRecord(LinkRow(3, "b", "https://b.example/"), "broken", [nocookie]))  # a runtime cause
    groups = {(g.code, g.count) for g in summary.groups.ranked()}
    assert groups == {("no-snippet", 1), ("no-partner-cookie", 1)}
    assert summary.by_code["no-partner-cookie"] == 2  # still counted per link


def test_lists_as_people_make_them(tmp_path):
    excel = tmp_path / "export.csv"  # a spreadsheet's export: ';', CRLF, no scheme, empty trailing columns
    excel.write_bytes(b'Partner Name;Partner Link;Partner Key;;\r\nJane;acme.partnerlinks.io/jane;jane;;\r\n'
                      b'Bob;"https://acme.partnerlinks.io/bob";bob;;\r\n')
    pasted = tmp_path / "pasted.txt"  # links pasted from a document or a mail
    pasted.write_bytes(b'"https://a.example/x"\r\n<https://b.example/y>\r\n\r\n# done\r\n')
    rows = list(LinkSource(str(excel)).rows())
    assert [(r.url, r.partner_key, r.labels) for r in rows] == [
        ("https://acme.partnerlinks.io/jane", "jane", {"Partner Name": "Jane"}),
        ("https://acme.partnerlinks.io/bob", "bob", {"Partner Name": "Bob"})]
    assert [r.url for r in LinkSource(str(pasted)).rows()] == ["https://a.example/x", "https://b.example/y"]


def test_the_cron_line_works_from_the_first_night_and_keeps_its_baseline_through_an_outage(site, tmp_path):
    # found by a new user: with the README's cron line a missing baseline failed every night (exit 2,
    # nothing saved), and a night without network replaced the baseline, so that the next night called
    # every old breakage "new"
    links = write_csv(tmp_path / "links.csv", program(site, partners=2, broken=2))
    night = tmp_path / "sweep.json"
    first = run(str(links), "--baseline", str(night), "--save", str(night))
    assert first.exit_code == 1, first.output  # the first night reports every breakage
    assert "no --baseline" in first.stderr and "is the first" in first.stderr
    assert Baseline.load(night).complete is True and len(Baseline.load(night).broken) == 2
    second = run(str(links), "--baseline", str(night), "--save", str(night))
    assert second.exit_code == 0, second.output  # nothing new broke
    saved = night.read_bytes()
    with socket.socket() as s:  # a port nothing listens on: no host answers (the machine's network is down)
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    down = write_csv(tmp_path / "down.csv", [[f"http://127.0.0.1:{dead}/go/p{i}", f"p{i}", f"Partner {i}"]
                                              for i in range(4)])
    outage = run(str(down), "--baseline", str(night), "--save", str(night))
    assert outage.exit_code == 3, outage.output
    assert night.read_bytes() == saved  # the last whole sweep stays the baseline
    assert "was not replaced" in outage.stderr
    other = tmp_path / "outage.json"
    assert run(str(down), "--baseline", str(night), "--save", str(other)).exit_code == 3
    assert other.exists()  # saved elsewhere, as asked: only the baseline itself is kept
