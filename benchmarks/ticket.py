"""Benchmark: one ticket end to end (link, gspk, snippet, browser, reconcile, rules, HTML) on the
demo's local site (issue 5, item 7; issue 12, item 4: the new process at most 1.3x its floor).

Measured in the same run, the cli and floor runs alternating (a busy machine slows both alike):

* cli     - `python -m diagnose ticket T.yaml --html R.html` as a user runs it: a new process,
            its imports and its own browser launch included;
* warm    - the same work in one process with a browser already running (batch mode, the demo);
* floor   - what any browser check costs at least here: launching Chromium and one bare
            ``page.goto(landing, wait_until="load")``, measured with the same Playwright (already
            imported: the floor pays no interpreter start and no import).

Prints the median of each and the ratios cli/floor and warm/floor; with --breakdown, where one cli
run spends its time (the process instrumented from outside: nothing in the tool records timings).

    python benchmarks/ticket.py [--runs 7] [--breakdown]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from diagnose.core.ticket import load  # noqa: E402
from diagnose.demo.run import DATA, site_routes  # noqa: E402
from diagnose.demo.site import LocalSite  # noqa: E402
from diagnose.pipeline.gather import GatherOptions  # noqa: E402
from diagnose.pipeline.run import run_ticket  # noqa: E402
from diagnose.report import render  # noqa: E402
from diagnose.report.model import build_report  # noqa: E402
from diagnose.web.browser import LAUNCH_ARGS, BrowserSession, find_browser  # noqa: E402
from diagnose.web.fetch import NetPolicy  # noqa: E402

TARGET = 1.3

# Run in the child with --breakdown: marks the moments of one `diagnose ticket` on stderr.
PROBE = r"""
import sys, time, threading
T0 = time.perf_counter()
def mark(what): print(f"@@ {(time.perf_counter() - T0) * 1000:7.0f} ms  {what}", file=sys.stderr, flush=True)
from diagnose.pipeline import gather as G
from diagnose.web import browser as B
launch, start, close = G._launch_in_background, B.BrowserSession.start, B.BrowserSession.close
def launched(path):
    mark("launch starts (a thread: import playwright, the driver, chromium)"); return launch(path)
def started(self):
    r = start(self); mark("browser ready"); return r
def closed(self):
    mark("browser closing (a thread)"); r = close(self); mark("browser closed"); return r
G._launch_in_background, B.BrowserSession.start, B.BrowserSession.close = launched, started, closed
from diagnose.checks import registry
for c in registry.CHECKS:
    def timed(t, ctx, run=c.run, name=c.name):
        mark(f"{name} starts"); r = run(t, ctx); mark(f"{name} done"); return r
    object.__setattr__(c, "run", timed)
import atexit
atexit.register(lambda: mark("exit (atexit)"))
from diagnose.report import model
build = model.build_report
def built(*a, **k):
    mark("rules + report model"); return build(*a, **k)
model.build_report = built
mark("imports of diagnose.cli and the probe done")
sys.argv = ["diagnose", *sys.argv[1:]]
from diagnose.cli import main
main()
"""


def ticket_yaml(site: LocalSite) -> str:
    return (
        f"partner_key: a1b2c3d4e5f6\nlink: {site.url('/go/jane-overwrite')}\n"
        f"customer_email: hugo.overwrite@example.com\nexpected_public_key: pk_DemoAcmeProgram00000000000000001\n"
        f"dashboard: {DATA / 'dashboard.csv'}\ninternal: {DATA / 'internal.csv'}\n"
    )


def floor_once(executable: str, url: str) -> float:
    from playwright.async_api import async_playwright

    async def go() -> float:
        started = time.perf_counter()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=list(LAUNCH_ARGS))
            page = await browser.new_page()
            await page.goto(url, wait_until="load")
            await browser.close()
        return time.perf_counter() - started

    return asyncio.run(go())


def cli_once(args: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "diagnose", *args], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"diagnose ticket failed ({proc.returncode}): {proc.stderr}")
    return elapsed


def breakdown(args: list[str]) -> None:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False)
    total = (time.perf_counter() - started) * 1000
    print("where one cli run spends its time (ms since the interpreter ran its first line):")
    for line in proc.stderr.splitlines():
        if line.startswith("@@"):
            print("  " + line[3:])
    print(f"  {total:7.0f} ms  the process has ended (as its parent sees it)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--breakdown", action="store_true", help="also show where one cli run spends its time")
    args = ap.parse_args(argv)
    executable = find_browser()
    if not executable:
        print("no Chromium found: install it first (apt-get install chromium)", file=sys.stderr)
        return 3
    with LocalSite(site_routes()) as site, tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        ticket_file = tmpdir / "t.yaml"
        ticket_file.write_text(ticket_yaml(site), encoding="utf-8")
        landing = site.url("/overwrite?gspk=YTFiMmMzZDRlNWY2&gsxid=x")
        command = ["ticket", str(ticket_file), "--allow-private-network", "--html", str(tmpdir / "r.html"),
                   "--screenshot-dir", str(tmpdir)]
        cli_once(command)  # warm-up (disk caches), not timed
        floor_once(executable, landing)
        cli_times, floor_times = [], []
        for _ in range(args.runs):
            cli_times.append(cli_once(command))
            floor_times.append(floor_once(executable, landing))

        warm_times = []
        with BrowserSession() as session:
            options = GatherOptions(policy=NetPolicy(timeout=5, allow_private=True), screenshot_dir=tmpdir)
            ticket = load(ticket_file)
            for i in range(args.runs):
                started = time.perf_counter()
                report = build_report(ticket, run_ticket(ticket, options, session))
                (tmpdir / f"w{i}.html").write_text(render("html", report), encoding="utf-8")
                warm_times.append(time.perf_counter() - started)
            top = report.top
        if args.breakdown:
            breakdown(command)

    cli, warm, floor = (statistics.median(t) for t in (cli_times, warm_times, floor_times))
    paired = statistics.median(c / f for c, f in zip(cli_times, floor_times))
    print(f"ticket diagnosed as: {top.id} ({top.verdict})")
    print(f"cli   (new process + browser launch + checks + rules + HTML): {cli * 1000:7.0f} ms  (median of {args.runs})")
    print(f"warm  (browser already running, same work):                  {warm * 1000:7.0f} ms")
    print(f"floor (browser launch + one bare page load):                 {floor * 1000:7.0f} ms")
    print(f"ratios: cli/floor = {cli / floor:.2f}x (median of the paired runs {paired:.2f}x), "
          f"warm/floor = {warm / floor:.2f}x")
    print(f"target: cli <= {TARGET}x floor -> {'met' if cli / floor <= TARGET else 'NOT met'}")
    return 0 if cli / floor <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
