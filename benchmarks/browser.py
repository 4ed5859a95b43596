"""Benchmark: `diagnose cookie` on N local landing pages (issue 3, item 12).

Three ways, measured in the same run on the same local site (127.0.0.1, the stand-in
PartnerStackJS served by LocalSite):

* shared  - one browser, a new context per page, several contexts at once (check_cookie_many);
* launch  - a fresh browser launched per page (how WEC and Blacklight run), same check;
* floor   - one page of one browser, a bare ``page.goto(url, wait_until="load")`` loop.

Prints pages/s for each and the ratios. Targets: shared >= 5x faster than launch-per-page, and
within 1.5x of the floor.

    python benchmarks/browser.py [--pages 40] [--launch-pages 8] [--concurrency 4] [--settle-ms 300]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from diagnose.web.browser import BrowserSession  # noqa: E402
from diagnose.checks.cookie import check_cookie, check_cookie_many  # noqa: E402
from diagnose.core.partnerstack import encode_partner_key  # noqa: E402
from diagnose.demo.site import LocalSite, Page, partnerstack_snippet, static_text  # noqa: E402
from diagnose.web.fetch import NetPolicy  # noqa: E402

PK = "pk_" + "B3nchmark" * 3 + "abcde"
SNIPPET = partnerstack_snippet(f"'{PK}'")


def landing(i: int) -> str:
    return (f"<!doctype html><html><head><title>Landing {i}</title>{SNIPPET}</head>"
            f"<body><h1>Product page {i}</h1><p>{'Lorem ipsum dolor sit amet. ' * 40}</p></body></html>")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--launch-pages", type=int, default=8, help="pages for the (slow) launch-per-page run")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--settle-ms", type=int, default=300)
    ap.add_argument("--browser-path")
    args = ap.parse_args(argv)

    site = LocalSite().start()
    site.add("/pr/js", Page(static_text("partnerstack.js"), content_type="application/javascript"))
    urls = []
    for i in range(args.pages):
        site.add(f"/p{i}", Page(landing(i)))
        urls.append(site.url(f"/p{i}?gspk={encode_partner_key(f'partner{i}')}&gsxid=x{i:012d}"))
    policy = NetPolicy(allow_private=True, timeout=10)
    try:
        with BrowserSession(args.browser_path) as session:
            # warm-up (driver, browser caches), not timed
            check_cookie_many(urls[:2], session=session, net_policy=policy, settle_ms=args.settle_ms)

            t = time.perf_counter()
            results = check_cookie_many(urls, session=session, net_policy=policy,
                                        concurrency=args.concurrency, settle_ms=args.settle_ms)
            shared_s = time.perf_counter() - t
            bad = [r for r in results if r.status != "pass"]
            if bad:
                print(f"warning: {len(bad)} shared-browser checks did not pass: {bad[0].codes()}")

            async def floor() -> float:
                browser = await session.ensure_browser()
                context = await browser.new_context()
                page = await context.new_page()
                await page.goto(urls[0], wait_until="load")
                t0 = time.perf_counter()
                for u in urls:
                    await page.goto(u, wait_until="load")
                elapsed = time.perf_counter() - t0
                await context.close()
                return elapsed

            floor_s = session.run(floor())

            async def fresh_floor() -> float:
                # The floor for a *fresh* context per page (what a first visit needs): new context,
                # new page, goto(load), close - nothing else, same concurrency as the check.
                gate = asyncio.Semaphore(max(1, args.concurrency))

                async def one(u: str) -> None:
                    async with gate:
                        context = await session.new_context()
                        page = await context.new_page()
                        await page.goto(u, wait_until="load")
                        await context.close()

                t0 = time.perf_counter()
                await asyncio.gather(*(one(u) for u in urls))
                return time.perf_counter() - t0

            fresh_s = session.run(fresh_floor())

        t = time.perf_counter()
        for u in urls[: args.launch_pages]:
            r = check_cookie(u, net_policy=policy, settle_ms=args.settle_ms, browser_path=args.browser_path)
            if r.status != "pass":
                print(f"warning: launch-per-page check did not pass: {r.codes()}")
        launch_s = time.perf_counter() - t
    finally:
        site.close()

    shared = args.pages / shared_s
    launch = args.launch_pages / launch_s
    floor_rate = args.pages / floor_s
    print(f"pages: {args.pages} (launch-per-page: {args.launch_pages}), concurrency {args.concurrency}, "
          f"settle window {args.settle_ms} ms")
    print(f"{'approach':<34}{'pages/s':>9}{'ms/page':>10}")
    fresh_rate = args.pages / fresh_s
    for name, rate in (("shared browser, context per page", shared), ("browser launch per page", launch),
                       ("floor: bare page.goto loop", floor_rate),
                       ("floor: bare fresh context per page", fresh_rate)):
        print(f"{name:<34}{rate:>9.2f}{1000 / rate:>10.0f}")
    speedup = shared / launch
    vs_floor = floor_rate / shared
    print(f"shared vs launch-per-page: {speedup:.1f}x faster (target >= 5x) "
          f"{'OK' if speedup >= 5 else 'MISSED'}")
    print(f"shared vs floor: {vs_floor:.2f}x slower (target <= 1.5x) {'OK' if vs_floor <= 1.5 else 'MISSED'}")
    print(f"shared vs a bare fresh context per page: {fresh_rate / shared:.2f}x slower "
          "(the check's own overhead over what a first visit costs anyway)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
