"""diagnose batch: a queue of tickets in one run (files, folders, globs, a CSV / JSONL table), results
written as tickets finish, failures recorded, Ctrl-C and --resume, each export read once, the
per-host cap. Most run without the browser (--no-browser) on the demo's local site."""

from __future__ import annotations

import _thread
import csv
import json
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from diagnose.cli import cli
from diagnose.demo.run import DATA, site_routes
from diagnose.demo.site import LocalSite, Page

PARTNER = "a1b2c3d4e5f6"


@pytest.fixture(scope="module")
def demo():
    with LocalSite(site_routes()) as site:
        site.add("/slow", Page("<html><head><title>slow</title></head><body>slow</body></html>", delay=0.3))
        yield site


def ticket(demo: LocalSite, email: str, path: str = "/go/jane", **extra) -> dict:
    return {"partner_key": PARTNER, "link": demo.url(path), "customer_email": email,
            "dashboard": str(DATA / "dashboard.csv"), "internal": str(DATA / "internal.csv"), **extra}


def queue(folder: Path, tickets: dict[str, dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in tickets.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


def run(*args: str):
    return CliRunner().invoke(cli, ["batch", *args], catch_exceptions=False)


def results(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


def summary(out: Path) -> list[dict]:
    with open(out / "summary.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_folder_of_tickets_gives_every_result_file(demo, tmp_path):
    q = queue(tmp_path / "q", {
        "case-7": ticket(demo, "hugo.overwrite@example.com", "/go/jane-overwrite"),
        "case-1": ticket(demo, "ben.other@example.com"),
        "tracked": ticket(demo, "tess.tracked@example.com"),
    })
    out = tmp_path / "out"
    r = run(str(q), "--out", str(out), "--no-browser", "--allow-private-network")
    assert r.exit_code == 1, r.output  # problems found, every ticket complete
    rows = {row["ticket"]: row for row in summary(out)}
    assert list(rows) == ["case-1", "case-7", "tracked"]  # the folder's order
    assert rows["case-1"]["finding_id"] == "case-1" and rows["case-1"]["case"] == "1"
    assert rows["case-1"]["customer"] == "ben.other@example.com" and rows["case-1"]["status"] == "problem"
    assert rows["case-1"]["next_step"]  # the first next step of the top finding
    assert rows["tracked"]["finding_id"] == "already-tracked" and rows["tracked"]["status"] == "ok"
    for row in rows.values():
        report = out / row["report"]
        assert report.is_file() and "<html" in report.read_text(encoding="utf-8")
        evidence = json.loads((out / "tickets" / f"{row['ticket']}.evidence.json").read_text(encoding="utf-8"))
        assert evidence["format"] == "diagnose-evidence/1" and "link" in evidence["evidence"]
        reply = (out / row["reply"]).read_text(encoding="utf-8")  # the partner's reply beside the report
        assert reply.startswith("Hello,") and "ben.other@example.com" not in reply
    assert "another partner's link" in (out / rows["case-1"]["reply"]).read_text(encoding="utf-8")
    assert {r["ticket"] for r in results(out)} == set(rows)
    assert "3 ticket(s)" in r.output and "2 problem" in r.output and "1 ok" in r.output


def test_the_index_sorts_by_column_with_a_script_its_policy_allows(demo, tmp_path):
    q = queue(tmp_path / "q", {"a": ticket(demo, "ben.other@example.com"),
                               "b": ticket(demo, "tess.tracked@example.com")})
    out = tmp_path / "out"
    run(str(q), "--out", str(out), "--no-browser", "--allow-private-network")
    page = (out / "index.html").read_text(encoding="utf-8")
    import base64
    import hashlib

    script = re.search(r"<script>(.*?)</script>", page, re.DOTALL).group(1)
    allowed = re.search(r"script-src '(sha256-[^']+)'", page).group(1)
    assert allowed == "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert page.count('data-col="') == 7 and "addEventListener('click'" in script
    assert 'href="tickets/a.html"' in page
    # a status (already tracked) is not shown in a cause's colours
    tracked = page[page.index('tickets/b.html'):].split("</tr>")[0]
    assert "v-status" in tracked and "v-confirmed" not in tracked


def test_a_bad_ticket_is_recorded_and_the_batch_goes_on(demo, tmp_path):
    q = queue(tmp_path / "q", {"good": ticket(demo, "tess.tracked@example.com")})
    (q / "broken.yaml").write_text("link: [\n", encoding="utf-8")
    (q / "wrong-key.json").write_text('{"colour": "blue"}', encoding="utf-8")
    out = tmp_path / "out"
    r = run(str(q), "--out", str(out), "--no-browser", "--allow-private-network")
    assert r.exit_code == 3  # some ticket could not be run
    rows = {row["ticket"]: row for row in summary(out)}
    assert rows["good"]["status"] == "ok"
    assert rows["broken"]["status"] == "failed" and "not valid YAML" in rows["broken"]["error"]
    assert rows["wrong-key"]["status"] == "failed" and "unknown ticket key 'colour'" in rows["wrong-key"]["error"]
    assert not rows["broken"]["report"] and not (out / "tickets" / "broken.html").exists()


def test_an_unreachable_site_and_a_crashing_check_do_not_stop_the_batch(demo, tmp_path, monkeypatch):
    import socket

    from diagnose.checks import registry

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    original = registry._snippet

    def crash(t, ctx):
        if t.customer_email == "crash@example.com":
            raise RuntimeError("boom")
        return original(t, ctx)

    checks = tuple(registry.Check(c.name, c.needs, crash, c.browser, c.evidence, c.api) if c.name == "snippet" else c
                   for c in registry.CHECKS)
    monkeypatch.setattr(registry, "CHECKS", checks)
    monkeypatch.setattr("diagnose.pipeline.gather.CHECKS", checks)
    q = queue(tmp_path / "q", {
        "down": {"partner_key": PARTNER, "link": f"http://127.0.0.1:{closed}/go", "customer_email": "x@example.com"},
        "crash": ticket(demo, "crash@example.com"),
        "fine": ticket(demo, "ben.other@example.com"),
    })
    out = tmp_path / "out"
    r = run(str(q), "--out", str(out), "--no-browser", "--allow-private-network", "--timeout", "1")
    assert r.exit_code == 3
    rows = {row["ticket"]: row for row in summary(out)}
    assert rows["down"]["status"] == "incomplete" and rows["down"]["report"]  # diagnosed, the link cannot-tell
    assert rows["down"]["error"].startswith("link: cannot connect to 127.0.0.1")  # and why
    assert not rows["fine"]["error"]
    assert rows["crash"]["status"] == "failed" and rows["crash"]["error"] == "RuntimeError: boom"
    assert rows["fine"]["status"] == "problem"


def test_a_csv_table_of_tickets(demo, tmp_path):
    exports = tmp_path / "exports"
    shutil.copytree(DATA, exports)
    table = tmp_path / "queue.csv"
    with open(table, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ticket", "Partner Key", "link", "customer_email", "dashboard", "internal", "click_date"])
        w.writerow(["T-100", PARTNER, demo.url("/go/jane"), "ben.other@example.com", "exports/dashboard.csv",
                    "exports/internal.csv", ""])
        w.writerow(["T-101", PARTNER, demo.url("/go/jane"), "tess.tracked@example.com", "exports/dashboard.csv",
                    "exports/internal.csv", "not a date"])
        w.writerow(["", PARTNER, "", "=HYPERLINK(\"x\")@example.com", "exports/dashboard.csv", "exports/internal.csv", ""])
        w.writerow([])
    out = tmp_path / "out"
    r = run(str(table), "--out", str(out), "--no-browser", "--allow-private-network")
    assert r.exit_code == 3, r.output
    rows = summary(out)
    assert [row["ticket"] for row in rows] == ["t-100", "t-101", "queue-3"]
    assert rows[0]["finding_id"] == "case-1" and rows[0]["source"] == "queue.csv row 1"
    assert rows[1]["status"] == "failed" and "'click_date'" in rows[1]["error"]  # a bad row, not a crash
    assert rows[2]["customer"] == "'=HYPERLINK(\"x\")@example.com"  # spreadsheet-safe
    evidence = json.loads((out / "tickets" / "t-100.evidence.json").read_text(encoding="utf-8"))
    assert evidence["ticket"]["dashboard"] == str((exports / "dashboard.csv").resolve())  # relative to the table


def test_a_table_as_a_spreadsheet_saves_it(demo, tmp_path):
    table = tmp_path / "queue.csv"  # a byte-order mark, ';' between cells, headers as people write them
    table.write_bytes(("\ufeffTicket;Customer Email;Partner Key;Dashboard;Internal\r\n"
                       f"A-1;ben.other@example.com;{PARTNER};{DATA / 'dashboard.csv'};{DATA / 'internal.csv'}\r\n")
                      .encode())
    out = tmp_path / "out"
    r = run(str(table), "--out", str(out), "--no-browser")
    assert r.exit_code == 1, r.output
    assert [(row["ticket"], row["finding_id"]) for row in summary(out)] == [("a-1", "case-1")]


def test_a_table_with_an_unknown_column_is_refused_before_any_ticket(demo, tmp_path):
    table = tmp_path / "queue.csv"
    table.write_text(f"link,colour,customer_emial\n{demo.url('/go/jane')},blue,a@example.com\n", encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["batch", str(table), "--out", str(out), "--no-browser"])
    assert r.exit_code == 2
    message = r.output.strip()
    assert "\n" not in message and "'colour'" in message and "'customer_emial'" in message
    assert not (out / "results.jsonl").exists()


def test_a_jsonl_table_keeps_going_past_a_bad_line(demo, tmp_path):
    table = tmp_path / "queue.jsonl"
    good = {"ticket": "J-1", "customer_email": "tess.tracked@example.com", "partner_key": PARTNER,
            "dashboard": str(DATA / "dashboard.csv"), "internal": str(DATA / "internal.csv")}
    table.write_text(json.dumps(good) + "\n{not json\n[1, 2]\n", encoding="utf-8")
    out = tmp_path / "out"
    r = run(str(table), "--out", str(out), "--no-browser")
    assert r.exit_code == 3
    rows = summary(out)
    assert [row["status"] for row in rows] == ["ok", "failed", "failed"]
    assert "not valid JSON" in rows[1]["error"] and "not an object" in rows[2]["error"]


@pytest.mark.parametrize("args, needle", [
    ([], "give ticket files"),
    (["nowhere/t.yaml"], "no such file or folder"),
    (["nowhere/*.yaml"], "no ticket file"),
])
def test_bad_arguments_are_one_line_exit_2(tmp_path, args, needle):
    r = CliRunner().invoke(cli, ["batch", *args, "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and needle in r.output and len(r.output.strip().splitlines()) == 1


def test_globs_and_files_together_once_each(demo, tmp_path):
    q = queue(tmp_path / "q", {"a": ticket(demo, "ben.other@example.com"),
                               "b": ticket(demo, "tess.tracked@example.com")})
    out = tmp_path / "out"
    r = run(str(q / "*.yaml"), str(q / "a.yaml"), "--out", str(out), "--no-browser", "--allow-private-network")
    assert r.exit_code == 1
    assert [row["ticket"] for row in summary(out)] == ["a", "b"]


def test_outputs_are_checked_before_any_work(demo, tmp_path):
    q = queue(tmp_path / "q", {"a": ticket(demo, "ben.other@example.com")})
    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    assert CliRunner().invoke(cli, ["batch", str(q), "--out", str(a_file)]).exit_code == 2
    table = tmp_path / "out" / "summary.csv"  # the table would be overwritten by the summary
    table.parent.mkdir()
    table.write_text("link\nhttp://example.com/\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["batch", str(table), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and "input file" in r.output
    out = tmp_path / "done"
    run(str(q), "--out", str(out), "--no-browser", "--allow-private-network")
    again = CliRunner().invoke(cli, ["batch", str(q), "--out", str(out), "--no-browser"])
    assert again.exit_code == 2 and "--resume" in again.output  # an earlier batch is never overwritten


def test_interrupted_then_resumed(demo, tmp_path, monkeypatch):
    from diagnose.report import batch as report_batch

    emails = ["ben.other@example.com", "tess.tracked@example.com", "hugo.overwrite@example.com",
              "cora.cleared@example.com", "dan.blocks@example.com"]
    q = queue(tmp_path / "q", {f"t{i}": ticket(demo, e) for i, e in enumerate(emails)})
    out = tmp_path / "out"
    finished = report_batch.finish_ticket
    calls = []

    def stop_after_two(gathered, files, redact=False):
        calls.append(gathered.item.name)
        if len(calls) == 3:
            _thread.interrupt_main()  # Ctrl-C, as the terminal sends it, while the third ticket finishes
            time.sleep(0.2)
        return finished(gathered, files, redact)

    monkeypatch.setattr(report_batch, "finish_ticket", stop_after_two)
    args = [str(q), "--out", str(out), "--no-browser", "--allow-private-network", "--jobs", "1"]
    first = CliRunner().invoke(cli, ["batch", *args])
    assert first.exit_code == 130 and "--resume" in first.output
    kept = [r["ticket"] for r in results(out)]
    assert 2 <= len(kept) <= 4 and len(summary(out)) == len(kept)  # every finished result is kept
    assert (out / "index.html").is_file()

    seen = []
    monkeypatch.setattr(report_batch, "finish_ticket", lambda g, f, r=False: seen.append(g.item.name) or finished(g, f, r))
    second = run(*args, "--resume")
    assert second.exit_code == 1, second.output
    assert sorted(seen) == sorted({f"t{i}" for i in range(5)} - set(kept))  # only what was left
    assert [row["ticket"] for row in summary(out)] == [f"t{i}" for i in range(5)]
    assert "done before, skipped" in second.output


def test_resume_runs_a_failed_or_changed_ticket_again(demo, tmp_path):
    q = queue(tmp_path / "q", {"a": ticket(demo, "ben.other@example.com"),
                               "b": ticket(demo, "tess.tracked@example.com")})
    (q / "c.yaml").write_text("link: [\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run(str(q), "--out", str(out), "--no-browser", "--allow-private-network").exit_code == 3
    (q / "c.yaml").write_text(yaml.safe_dump(ticket(demo, "cora.cleared@example.com")), encoding="utf-8")
    (q / "b.yaml").write_text(yaml.safe_dump(ticket(demo, "dan.blocks@example.com")), encoding="utf-8")
    r = run(str(q), "--out", str(out), "--no-browser", "--allow-private-network", "--resume")
    assert r.exit_code == 1
    lines = results(out)
    assert [x["ticket"] for x in lines] == ["a", "b", "c", "b", "c"] or \
        sorted(x["ticket"] for x in lines[3:]) == ["b", "c"]
    rows = {row["ticket"]: row for row in summary(out)}
    assert rows["c"]["status"] != "failed" and rows["b"]["customer"] == "dan.blocks@example.com"


def test_each_export_is_read_once_per_batch(demo, tmp_path, monkeypatch):
    from diagnose.checks.reconcile import check

    reads = []
    real = check.read_table

    def counting(path, side, *a, **k):
        reads.append((Path(path).name, side))
        return real(path, side, *a, **k)

    monkeypatch.setattr(check, "read_table", counting)
    emails = ["ben.other@example.com", "tess.tracked@example.com", "hugo.overwrite@example.com",
              "cora.cleared@example.com", "dan.blocks@example.com", "nobody@example.com"]
    q = queue(tmp_path / "q", {f"t{i}": ticket(demo, e) for i, e in enumerate(emails)})
    out = tmp_path / "out"
    r = run(str(q), "--out", str(out), "--no-browser", "--allow-private-network", "--jobs", "3")
    assert r.exit_code == 1
    assert sorted(reads) == [("dashboard.csv", "dashboard"), ("internal.csv", "internal")]
    assert all(row["status"] != "failed" for row in summary(out))
    # and a single ticket still reads its files every time
    from diagnose.checks.reconcile import reconcile_files

    reconcile_files(DATA / "dashboard.csv", DATA / "internal.csv", rows=False)
    assert len(reads) == 4


def test_the_cache_reads_a_changed_file_again(tmp_path):
    from diagnose.checks.reconcile.cache import cached_read, shared_reads

    f = tmp_path / "x.csv"
    f.write_text("email\na@example.com\n", encoding="utf-8")
    count = []

    def read():
        count.append(1)
        return f.read_text(encoding="utf-8")

    assert cached_read(f, "internal", {}, read) and len(count) == 1  # no batch: no cache
    with shared_reads() as cache:
        first = cached_read(f, "internal", {}, read)
        assert cached_read(f, "internal", {}, read) == first and cache.reads == 1 and cache.hits == 1
        cached_read(f, "dashboard", {}, read)  # another side is another read
        f.write_text("email\nb@example.com\nc@example.com\n", encoding="utf-8")
        assert "b@example.com" in cached_read(f, "internal", {}, read)
        assert len(count) == 4

        def fail():
            raise ValueError("unreadable")

        g = tmp_path / "y.csv"
        g.write_text("x", encoding="utf-8")
        for _ in range(2):  # a failed read is not kept
            with pytest.raises(ValueError):
                cached_read(g, "internal", {}, fail)
        assert cache.reads == 5
    with shared_reads(max_entries=2) as small:  # the least recently used goes first
        files = []
        for i in range(3):
            files.append(tmp_path / f"f{i}.csv")
            files[-1].write_text(f"email\n{i}@example.com\n", encoding="utf-8")
        for p in (*files, files[2], files[0]):
            cached_read(p, "internal", {}, lambda p=p: p.read_text(encoding="utf-8"))
        assert small.reads == 4 and small.hits == 1


def test_at_most_per_host_tickets_at_once_on_one_host(demo, tmp_path):
    from diagnose.pipeline.batch import BatchOptions, run_batch
    from diagnose.pipeline.batch_input import plan
    from diagnose.pipeline.gather import GatherOptions
    from diagnose.web.policy import NetPolicy

    other = LocalSite({"/slow": Page("<html><body>other</body></html>", delay=0.3)}, host="127.0.0.1").start()
    try:
        links = [demo.url("/slow")] * 6 + [other.url("/slow").replace("127.0.0.1", "localhost")] * 2
        q = queue(tmp_path / "q", {f"t{i}": {"link": link} for i, link in enumerate(links)})
        active, peak, lock = [], [0], threading.Lock()
        options = BatchOptions(GatherOptions(policy=NetPolicy(timeout=5, allow_private=True), use_browser=False),
                               jobs=4, per_host=2, workers=8)
        began = time.monotonic()
        run = run_batch(plan([str(q)]).items(), options, lambda g: g, lambda g: active.append(g))
        elapsed = time.monotonic() - began
    finally:
        other.close()
    assert run.recorded == 8 and all(g.error is None for g in active)
    assert run.peak_per_host == {"127.0.0.1": 2, "localhost": 2}
    assert elapsed >= 0.9  # 6 slow pages, 2 at a time: 3 rounds of 0.3 s at least
    del peak, lock


def test_json_summary_and_exit_code_0_when_all_clear(demo, tmp_path):
    q = queue(tmp_path / "q", {"t": {"customer_email": "tess.tracked@example.com", "partner_key": PARTNER,
                                     "dashboard": str(DATA / "dashboard.csv"), "internal": str(DATA / "internal.csv")}})
    out = tmp_path / "out"
    r = run(str(q), "--out", str(out), "--no-browser", "--json")
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert data["counts"] == {"ok": 1, "problem": 0, "incomplete": 0, "failed": 0} and data["exit_code"] == 0
    assert data["index"] == str(out / "index.html")


def test_defaults_fill_what_a_ticket_lacks(demo, tmp_path):
    q = queue(tmp_path / "q", {"t": {"customer_email": "ben.other@example.com", "partner_key": PARTNER}})
    out = tmp_path / "out"
    r = run(str(q), "--out", str(out), "--no-browser", "--dashboard", str(DATA / "dashboard.csv"),
            "--internal", str(DATA / "internal.csv"))
    assert r.exit_code == 1 and summary(out)[0]["finding_id"] == "case-1"
    bad = CliRunner().invoke(cli, ["batch", str(q), "--out", str(tmp_path / "o2"), "--expected-public-key", "nope"])
    assert bad.exit_code == 2


# -- with the browser --------------------------------------------------------------------------------


@pytest.mark.browser
def test_one_shared_browser_several_contexts_at_once(demo, tmp_path, monkeypatch):
    from diagnose.pipeline import batch_gates
    from diagnose.web.browser import find_browser

    if find_browser() is None:
        pytest.skip("no Chromium")
    sessions = []
    launch = batch_gates.GatedSession.launch.__func__

    def capture(cls, path, jobs):
        sessions.append(launch(cls, path, jobs))
        return sessions[-1]

    monkeypatch.setattr(batch_gates.GatedSession, "launch", classmethod(capture))
    emails = ["hugo.overwrite@example.com", "ben.other@example.com", "ava.healthy@example.com",
              "eve.nosnippet@example.com", "cora.cleared@example.com"]
    paths = ["/go/jane-overwrite", "/go/jane", "/go/jane", "/go/jane-nosnippet", "/go/jane"]
    q = queue(tmp_path / "q", {f"t{i}": ticket(demo, e, p, expected_public_key="pk_DemoAcmeProgram00000000000000001")
                               for i, (e, p) in enumerate(zip(emails, paths))})
    out = tmp_path / "out"
    r = run(str(q), "--out", str(out), "--allow-private-network", "--jobs", "2", "--per-host", "8")
    assert r.exit_code == 1, r.output
    assert len(sessions) == 1 and 1 <= sessions[0].peak <= 2
    rows = {row["ticket"]: row for row in summary(out)}
    assert rows["t0"]["finding_id"] == "case-7" and rows["t3"]["finding_id"] == "case-4"
    evidence = json.loads((out / "tickets" / "t0.evidence.json").read_text(encoding="utf-8"))
    assert evidence["evidence"]["cookie"]["status"] in ("pass", "fail")  # the browser ran
    assert any((out / "screenshots").iterdir())


@pytest.mark.browser
def test_a_browser_crash_is_recorded_and_the_batch_goes_on(demo, tmp_path, monkeypatch):
    from diagnose.pipeline import batch_gates
    from diagnose.web.browser import find_browser

    if find_browser() is None:
        pytest.skip("no Chromium")
    sessions = []
    launch = batch_gates.GatedSession.launch.__func__
    monkeypatch.setattr(batch_gates.GatedSession, "launch",
                        classmethod(lambda cls, p, j: sessions.append(launch(cls, p, j)) or sessions[-1]))
    from diagnose.report import batch as report_batch

    finished = report_batch.finish_ticket

    pids = {}

    def kill_after_first(gathered, files, redact=False):
        row = finished(gathered, files, redact)
        pids[gathered.item.name] = {p.pid for p in sessions[-1].processes()}  # the newest browser
        if gathered.item.name == "t0":
            sessions[0].kill()  # Chromium dies between tickets
        return row

    monkeypatch.setattr(report_batch, "finish_ticket", kill_after_first)
    q = queue(tmp_path / "q", {f"t{i}": ticket(demo, "hugo.overwrite@example.com", "/go/jane-overwrite")
                               for i in range(3)})
    out = tmp_path / "out"
    r = run(str(q), "--out", str(out), "--allow-private-network", "--jobs", "1")
    assert r.exit_code == 1, r.output
    rows = summary(out)
    assert [row["ticket"] for row in rows] == ["t0", "t1", "t2"]  # every ticket recorded
    # the ticket the browser died under ran again on a new browser: every diagnosis as without the crash
    assert [(row["finding_id"], row["status"]) for row in rows] == [("case-7", "problem")] * 3
    assert pids["t0"] and pids["t2"] and not pids["t0"] & pids["t2"]  # a new browser


def test_a_worker_that_cannot_even_record_a_failure_ends_the_batch_with_its_error(demo, tmp_path):
    from diagnose.pipeline.batch import BatchOptions, run_batch
    from diagnose.pipeline.batch_input import plan
    from diagnose.pipeline.gather import GatherOptions

    q = queue(tmp_path / "q", {f"t{i}": {"customer_email": "x@example.com"} for i in range(5)})

    def disk_full(gathered):
        raise OSError(28, "No space left on device")

    began = time.monotonic()
    with pytest.raises(OSError, match="No space left"):
        run_batch(plan([str(q)]).items(), BatchOptions(GatherOptions(use_browser=False), jobs=1),
                  disk_full, lambda outcome: None)
    assert time.monotonic() - began < 10  # no worker left waiting
