"""Benchmark: one ticket end to end (link, gspk, snippet, browser, reconcile, rules, HTML) on the
demo's local site (issue 5, item 7; issue 12, item 4: the new process at most 1.3x its floor).

Measured in the same run, the cli and floor runs alternating (a busy machine slows both alike):

* cli     - `python -m diagnose ticket T.yaml --html R.html` as a user runs it: a new process,
            its imports and its own browser launch included;
* warm    - the same work in one process with a browser already running (batch mode, the demo);
* floor   - what any browser check costs at least here: launching Chromium and one bare
            ``page.goto(landing, wait_until="load")``, measured with the same Playwright (already
            imported: the floor pays no interpreter start and no import).

Prints the median of each, the ratios cli/floor and warm/floor, the CPU time of the cli and floor
runs (all their processes: on a busy machine the wall ratio tends to the CPU ratio) and the load
average; with --breakdown, where one cli run spends its time, with the CPU used so far (the process
instrumented from outside, each module when the CLI first imports it: nothing in the tool records
timings).

    python benchmarks/ticket.py [--runs 7] [--breakdown]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
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

# Run in the child with --breakdown: marks the moments of one `diagnose ticket` on stderr, with the
# process's CPU time so far. Nothing is imported ahead of the CLI: each module is instrumented when the
# CLI itself first imports it, so the order and the cost of the imports are the real ones.
PROBE = r"""
import builtins, os, sys, time, threading
def since_start():
    try:  # the process's start, so the interpreter's own start-up counts too (Linux)
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            return float(f.read().split()[0]) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0
T0 = time.perf_counter() - since_start()
LOCK = threading.Lock()
def mark(what):
    with LOCK:  # one line at a time from the threads
        sys.stderr.write(f"@@ {(time.perf_counter() - T0) * 1000:7.0f} ms  cpu {time.process_time() * 1000:5.0f} ms  {what}\n")
        sys.stderr.flush()
mark("the interpreter runs its first line")

def wrap(owner, name, before=None, after=None):
    f = getattr(owner, name, None)
    if f is None:
        return
    def wrapped(*a, **k):
        if before: mark(before)
        r = f(*a, **k)
        if after: mark(after)
        return r
    setattr(owner, name, wrapped)

def wrap_async(owner, name, label):
    f = getattr(owner, name, None)
    if f is None:
        return
    async def wrapped(*a, **k):
        mark(f"  {label} starts"); r = await f(*a, **k); mark(f"  {label} done"); return r
    setattr(owner, name, wrapped)

def on_gather(G):
    wrap(G, "_launch_in_background", "launch starts (a thread imports Playwright, then starts the driver and Chromium)",
         "Playwright imported: the other checks run while Chromium starts")
def on_browser(B):
    start = B.BrowserSession.start
    def started(self):
        r = start(self)
        if threading.current_thread().name == "diagnose-browser-launch": mark("browser ready")
        return r
    B.BrowserSession.start = started
    wrap(B.BrowserSession, "close", "browser closing (a thread, while the report is built and shown)", "browser closed")
def on_registry(R):
    for c in R.CHECKS:
        def timed(t, ctx, run=c.run, name=c.name):
            mark(f"{name} starts"); r = run(t, ctx); mark(f"{name} done"); return r
        object.__setattr__(c, "run", timed)
def on_tickets(TK):
    prep = getattr(TK, "_preparations", None)
    if prep is None:
        return
    def preparations(*a, **k):
        def step(fn):
            def run():
                mark(f"  while the browser starts: {fn.__name__}"); return fn()
            return run
        return tuple(step(fn) for fn in prep(*a, **k))
    TK._preparations = preparations
def on_browse(BR):
    for name in ("_new_context", "_open_page", "_load", "_read", "_close_context"):
        wrap_async(BR, name, "cookie " + name.strip("_").replace("_", " "))
def on_model(M):
    wrap(M, "build_report", "rules + report model")
def on_report(R):
    render = R.render
    def rendered(fmt, *a, **k):
        mark(f"render {fmt}"); return render(fmt, *a, **k)
    R.render = rendered
def on_cli(C):
    wrap(C, "_exit", "the command is done: exit (threads joined, atexit, flush)")

HOOKS = {"diagnose.pipeline.gather": on_gather, "diagnose.web.browser": on_browser,
         "diagnose.checks.registry": on_registry, "diagnose.cli.tickets": on_tickets,
         "diagnose.checks.cookie.browse": on_browse, "diagnose.report.model": on_model,
         "diagnose.report": on_report, "diagnose.cli": on_cli}
real_import = builtins.__import__
def hooked_import(name, *a, **k):
    module = real_import(name, *a, **k)
    if HOOKS:
        for done in [n for n in HOOKS if n in sys.modules]:
            if not getattr(getattr(sys.modules[done], "__spec__", None), "_initializing", False):  # fully imported
                HOOKS.pop(done)(sys.modules[done])
    return module
builtins.__import__ = hooked_import
import atexit
atexit.register(lambda: mark("atexit handlers"))
sys.argv = ["diagnose", *sys.argv[1:]]
import runpy
runpy.run_module("diagnose", run_name="__main__", alter_sys=True)
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

    own = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)  # not the local site's threads
    before = cpu_now(own) + cpu_now(resource.RUSAGE_CHILDREN)
    elapsed = asyncio.run(go())
    CPU["floor"].append(cpu_now(own) + cpu_now(resource.RUSAGE_CHILDREN) - before)
    return elapsed


def cpu_now(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


# The CPU time of each run, beside its wall time: on a busy machine (other processes on the 2 cores)
# the wall times tend to the ratio of the CPU times; on an idle one, to the ratio of the critical paths.
CPU: dict[str, list[float]] = {"cli": [], "floor": []}


def cli_once(args: list[str]) -> float:
    before = cpu_now(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "diagnose", *args], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    CPU["cli"].append(cpu_now(resource.RUSAGE_CHILDREN) - before)  # Python, the driver, Chromium: all waited for
    if proc.returncode not in (0, 1):
        raise SystemExit(f"diagnose ticket failed ({proc.returncode}): {proc.stderr}")
    return elapsed


def breakdown(args: list[str]) -> None:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False)
    total = (time.perf_counter() - started) * 1000
    print("where one cli run spends its time (ms since the process started; cpu: the Python process's so far):")
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
        CPU["cli"].clear()
        CPU["floor"].clear()
        load_before = os.getloadavg()[0]
        cli_times, floor_times = [], []
        for _ in range(args.runs):
            cli_times.append(cli_once(command))
            floor_times.append(floor_once(executable, landing))

        load_after = os.getloadavg()[0]
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
    cpu_cli, cpu_floor = statistics.median(CPU["cli"]), statistics.median(CPU["floor"])
    print(f"cpu (all processes): cli {cpu_cli * 1000:.0f} ms, floor {cpu_floor * 1000:.0f} ms = {cpu_cli / cpu_floor:.2f}x "
          "(what the wall ratio tends to on a busy machine)")
    print(f"load average (1 min) {load_before:.1f} before the timed runs, {load_after:.1f} after, on "
          f"{os.cpu_count()} cores")
    print(f"target: cli <= {TARGET}x floor -> {'met' if cli / floor <= TARGET else 'NOT met'}")
    return 0 if cli / floor <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
