"""Benchmark: `diagnose batch` (issue 12, item 4), on the demo's local site that it starts, each ratio
measured against its baseline in the same run.

* batch vs sequential - N tickets (link + gspk + snippet + cookie in the browser + reconcile against
  the demo's shared exports, HTML report and evidence each) as one `python -m diagnose batch DIR`
  process, against N sequential `python -m diagnose ticket T.yaml --html R --save-evidence E`
  processes. Measured on --sample of them (every k-th ticket; --sample N measures all N) and
  scaled to N; the batch runs before and after them and their mean is compared (a machine whose
  load changes meanwhile weighs on both sides). Target: batch >= 8x faster.
* browser part - the batch's browser work: the cookie check of N links through the batch's shared
  session (GatedSession, --jobs contexts at once, a screenshot each as in the batch), against a bare
  loop that opens a fresh context per page (new context, new page, goto(url, wait_until="load"),
  close) at the same concurrency, on the same browser, in alternating chunks. Target: <= 1.3x the
  bare loop. And the same links as whole link-only tickets through run_batch (HTTP checks, rules,
  report files too), shown for reference; and the ceiling of the batch vs sequential ratio: a
  `diagnose ticket` process against the bare loop's time per page (a batch that did nothing else).
* memory - --rss-tickets (1,000) tickets as one batch process: the peak RSS of that process, and the
  peak PSS of its whole process tree (Playwright's driver and the browser included; PSS shares each
  shared page among the processes that map it), sampled every 0.25 s. Target: <= 1 GB (the tree).

Prints each figure (with the machine's 1-minute load average then: other work on the machine slows
the figures) and whether its target is met; exit status 1 when one is missed.

    python benchmarks/batch.py [--tickets 200] [--sample 40] [--jobs N] [--rss-tickets 1000]
                               [--skip-sequential] [--skip-rss]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402

from diagnose.demo.run import DATA, load_scenarios, site_routes  # noqa: E402
from diagnose.demo.site import LocalSite  # noqa: E402

TARGETS = {"speedup": 8.0, "browser": 1.3, "rss_mb": 1024}
PK = "pk_DemoAcmeProgram00000000000000001"


def tickets_for(site: LocalSite, n: int) -> list[dict]:
    """n tickets cycling through the demo's link + records scenarios (all naming the shared exports;
    each link its own, by a query parameter the demo's redirector ignores)."""
    base = [s for s in load_scenarios() if not s.api and "link" in s.ticket and "dashboard" in s.ticket]
    out = []
    for i in range(n):
        sc = base[i % len(base)]
        t = {k: v for k, v in sc.ticket.items() if k not in ("dashboard", "internal")}
        t = {k: (v.replace("{site}", site.origin).replace("{signup_site}", site.origin.replace("127.0.0.1", "localhost"))
                 if isinstance(v, str) else v) for k, v in t.items()}
        t.update(dashboard=str(DATA / "dashboard.csv"), internal=str(DATA / "internal.csv"))
        t["link"] += ("&" if "?" in t["link"] else "?") + f"ticket={i}"
        out.append({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in t.items()})
    return out


def write_queue(folder: Path, tickets: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, t in enumerate(tickets):
        (folder / f"t{i:04d}.yaml").write_text(yaml.safe_dump(t, sort_keys=False), encoding="utf-8")
    return folder


def diagnose(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "diagnose", *args], capture_output=True, text=True, check=False)


def batch_process(queue: Path, out: Path, jobs: int | None) -> float:
    started = time.perf_counter()
    proc = diagnose("batch", str(queue), "--out", str(out), "--allow-private-network",
                    *(("--jobs", str(jobs)) if jobs else ()))
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"batch failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    print("  " + proc.stdout.strip().splitlines()[0])
    return elapsed


def sequential(queue: Path, out: Path, every: int) -> tuple[float, int]:
    """Mean seconds per `diagnose ticket` process over every ``every``-th ticket of the queue."""
    files = sorted(queue.glob("*.yaml"))[::every]
    out.mkdir(parents=True, exist_ok=True)
    times = []
    for f in files:
        started = time.perf_counter()
        proc = diagnose("ticket", str(f), "--allow-private-network", "--html", str(out / f"{f.stem}.html"),
                        "--save-evidence", str(out / f"{f.stem}.json"), "--screenshot-dir", str(out))
        times.append(time.perf_counter() - started)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"ticket {f} failed ({proc.returncode}): {proc.stderr}")
    return sum(times) / len(times), len(times)


def browser_part(links: list[str], jobs: int, rounds: int = 4) -> tuple[float, float]:
    """(the batch's shared-session cookie checks, a bare fresh-context loop), seconds, on one browser:
    the links in ``rounds`` chunks, each chunk run both ways in turn (a busy machine slows both alike)."""
    from diagnose.checks.cookie import check_cookie
    from diagnose.pipeline.batch_gates import GatedSession
    from diagnose.web.fetch import NetPolicy

    policy = NetPolicy(timeout=10, allow_private=True)
    gated = GatedSession.launch(None, jobs)
    gated.start()
    ours = bare = 0.0
    try:
        check_cookie(links[0], net_policy=policy, session=gated, expect_key=PK)  # warm-up, not timed
        _bare_loop(gated, links[:jobs], jobs)
        size = -(-len(links) // rounds)
        for first in range(0, len(links), size):
            chunk = links[first:first + size]
            bare += _bare_loop(gated, chunk, jobs)
            started = time.perf_counter()
            _threads(chunk, jobs * 2, lambda url, i, first=first: check_cookie(
                url, net_policy=policy, session=gated, expect_key=PK, screenshot_dir=_shots / f"{first + i}"))
            ours += time.perf_counter() - started
    finally:
        gated.close()
    return ours, bare


_shots = Path(tempfile.mkdtemp(prefix="diagnose-bench-shots-"))


def _threads(links: list[str], workers: int, fn) -> None:
    todo = list(enumerate(links))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                i, url = todo.pop(0)
            fn(url, i)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _bare_loop(gated, links: list[str], jobs: int) -> float:
    async def one(url: str) -> None:
        context = await gated.new_context()
        try:
            page = await context.new_page()
            await page.goto(url, wait_until="load")
        finally:
            await context.close()

    started = time.perf_counter()
    gated._session.run_many([one(u) for u in links], jobs)
    return time.perf_counter() - started


def link_only_batch(links: list[str], jobs: int, out: Path) -> float:
    from diagnose.pipeline.batch import BatchOptions, run_batch
    from diagnose.pipeline.batch_input import plan
    from diagnose.pipeline.gather import GatherOptions
    from diagnose.report.batch import BatchFiles, finish_ticket
    from diagnose.web.fetch import NetPolicy

    queue = write_queue(out / "queue", [{"link": u, "expected_public_key": PK} for u in links])
    files = BatchFiles(out / "out")
    files.check([])
    files.open()
    options = BatchOptions(GatherOptions(policy=NetPolicy(timeout=10, allow_private=True),
                                         screenshot_dir=files.screenshots), jobs=jobs, per_host=jobs * 2)
    started = time.perf_counter()
    run_batch(plan([str(queue)]).items(), options, lambda g: finish_ticket(g, files), files.add)
    elapsed = time.perf_counter() - started
    files.finish("bench")
    return elapsed


def rss_run(queue: Path, out: Path, jobs: int | None) -> tuple[float, float, float]:
    """(seconds, peak RSS of the batch process, peak PSS of its whole tree: the browser's processes
    share most of their pages, which a sum of RSS would count once per process), in MB."""
    import psutil

    proc = subprocess.Popen([sys.executable, "-m", "diagnose", "batch", str(queue), "--out", str(out),
                             "--allow-private-network", *(("--jobs", str(jobs)) if jobs else ())],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    me, peak_self, peak_tree = psutil.Process(proc.pid), 0, 0
    started = time.perf_counter()
    while proc.poll() is None:
        try:
            own = me.memory_info().rss
            tree = 0
            for p in (me, *me.children(recursive=True)):
                try:
                    tree += p.memory_full_info().pss
                except (psutil.Error, AttributeError):
                    pass
        except psutil.Error:
            break
        peak_self, peak_tree = max(peak_self, own), max(peak_tree, tree)
        time.sleep(0.25)
    stdout, stderr = proc.communicate()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"batch failed ({proc.returncode}): {stdout}{stderr}")
    print("  " + stdout.strip().splitlines()[0])
    return time.perf_counter() - started, peak_self / 2**20, peak_tree / 2**20


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def load() -> str:
    """The 1-minute load average now, for the line of each figure."""
    import os

    try:
        return f"load {os.getloadavg()[0]:.1f}"
    except OSError:
        return "load ?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=200)
    ap.add_argument("--sample", type=int, default=40, help="sequential processes actually run (scaled to --tickets)")
    ap.add_argument("--jobs", type=int, default=None, help="browser contexts at once (default: the batch's)")
    ap.add_argument("--browser-pages", type=int, default=None, help="links for the browser part (default --tickets)")
    ap.add_argument("--rss-tickets", type=int, default=1000)
    ap.add_argument("--skip-sequential", action="store_true")
    ap.add_argument("--skip-rss", action="store_true")
    args = ap.parse_args(argv)
    from diagnose.pipeline.batch import default_jobs
    from diagnose.web.browser import find_browser

    if not find_browser():
        print("no Chromium found: install it first (apt-get install chromium)", file=sys.stderr)
        return 3
    jobs = args.jobs or default_jobs()
    ok = True
    with LocalSite(site_routes()) as site, tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        tickets = tickets_for(site, args.tickets)
        queue = write_queue(tmpdir / "queue", tickets)
        print(f"{args.tickets} tickets (link + snippet + cookie + reconcile, shared exports), jobs={jobs}, "
              f"{__import__('os').cpu_count()} CPUs")
        batch_s = batch_process(queue, tmpdir / "batch-out", args.jobs)
        print(f"batch       {batch_s:8.1f} s   ({args.tickets / batch_s:.2f} tickets/s, one process; {load()})")
        seq_ticket = None
        if not args.skip_sequential:
            every = max(1, args.tickets // max(1, args.sample))
            mean, measured = sequential(queue, tmpdir / "seq-out", every)
            seq_s, seq_ticket = mean * args.tickets, mean
            again = batch_process(queue, tmpdir / "batch-out-2", args.jobs)  # the sequential runs bracketed
            print(f"batch again {again:8.1f} s   (after the sequential runs; the mean of both is compared; {load()})")
            batch_s = (batch_s + again) / 2
            speedup = seq_s / batch_s
            ok &= speedup >= TARGETS["speedup"]
            print(f"sequential  {seq_s:8.1f} s   ({mean:.2f} s per `diagnose ticket` process, measured on "
                  f"{measured} of {args.tickets}, scaled; {load()})")
            print(f"  batch is {speedup:.1f}x faster (target >= {TARGETS['speedup']:g}x) -> "
                  f"{verdict(speedup >= TARGETS['speedup'])}")

        n = args.browser_pages or args.tickets
        links = [t["link"] for t in tickets if "loop" not in t["link"]][:n]
        ours, bare = browser_part(links, jobs)
        ratio = ours / bare
        ok &= ratio <= TARGETS["browser"]
        print(f"browser part: {len(links)} cookie checks through the batch's session {ours:6.1f} s, bare fresh-context "
              f"loop {bare:6.1f} s (concurrency {jobs}; {load()}): {ratio:.2f}x (target <= {TARGETS['browser']:g}x) -> "
              f"{verdict(ratio <= TARGETS['browser'])}")
        if seq_ticket is not None:
            # The bare loop alone, as if a batch did nothing else per ticket (no HTTP check, no records,
            # no rules, no report): how far a batch that opens a fresh page per ticket could get here.
            print(f"  ceiling: the bare loop alone is {bare / len(links) * 1000:.0f} ms per page; a `diagnose ticket` "
                  f"process {seq_ticket * 1000:.0f} ms: a batch that did nothing but open each ticket's page "
                  f"would be {seq_ticket / (bare / len(links)):.1f}x faster than the sequential processes")
        whole = link_only_batch(links, jobs, tmpdir / "links")
        print(f"  for reference: the same links as whole link-only tickets through run_batch: {whole:6.1f} s "
              f"({whole / bare:.2f}x the bare loop)")

        if not args.skip_rss:
            big = write_queue(tmpdir / "queue-big", tickets_for(site, args.rss_tickets))
            seconds, own, tree = rss_run(big, tmpdir / "big-out", args.jobs)
            ok &= tree <= TARGETS["rss_mb"]
            print(f"memory: {args.rss_tickets} tickets in {seconds:.0f} s ({load()}); peak RSS {own:.0f} MB (the batch process); "
                  f"peak PSS {tree:.0f} MB (with the driver and the browser; target <= {TARGETS['rss_mb']} MB) -> "
                  f"{verdict(tree <= TARGETS['rss_mb'])}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
