"""Benchmark: one ticket end to end (link, gspk, snippet, browser, reconcile, rules, HTML) on the
demo's local site (issue 5, item 7: at most about 1.5 s once the browser is installed).

Measured in the same run:

* cli     - `python -m diagnose ticket T.yaml --html R.html` as a user runs it: a new process,
            its imports and its own browser launch included;
* warm    - the same work in one process with a browser already running (batch mode, the demo);
* floor   - what any browser check costs at least here: launching Chromium and one bare
            ``page.goto(landing, wait_until="load")``, measured with the same Playwright.

Prints the median of each and the ratios cli/floor and warm/floor.

    python benchmarks/ticket.py [--runs 5]
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

from diagnose.web.browser import LAUNCH_ARGS, BrowserSession, find_browser  # noqa: E402
from diagnose.demo.run import DATA, site_routes  # noqa: E402
from diagnose.demo.site import LocalSite  # noqa: E402
from diagnose.pipeline.run import run_ticket  # noqa: E402
from diagnose.report.model import build_report  # noqa: E402
from diagnose.pipeline.gather import GatherOptions  # noqa: E402
from diagnose.web.fetch import NetPolicy  # noqa: E402
from diagnose.report import render  # noqa: E402
from diagnose.core.ticket import load  # noqa: E402


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
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

        cli_times = []
        for i in range(args.runs):
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "diagnose", "ticket", str(ticket_file), "--allow-private-network",
                 "--html", str(tmpdir / f"r{i}.html"), "--screenshot-dir", str(tmpdir)],
                capture_output=True, text=True,
            )
            cli_times.append(time.perf_counter() - started)
            if proc.returncode not in (0, 1):
                print(proc.stderr, file=sys.stderr)
                return 3

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

        floor_times = [floor_once(executable, landing) for _ in range(args.runs)]

    cli, warm, floor = (statistics.median(t) for t in (cli_times, warm_times, floor_times))
    print(f"ticket diagnosed as: {top.id} ({top.verdict})")
    print(f"cli   (new process + browser launch + checks + rules + HTML): {cli * 1000:7.0f} ms  (median of {args.runs})")
    print(f"warm  (browser already running, same work):                  {warm * 1000:7.0f} ms")
    print(f"floor (browser launch + one bare page load):                 {floor * 1000:7.0f} ms")
    print(f"ratios: cli/floor = {cli / floor:.2f}x, warm/floor = {warm / floor:.2f}x")
    print(f"target: cli <= ~1500 ms -> {'met' if cli <= 1.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
