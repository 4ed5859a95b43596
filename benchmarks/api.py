"""Benchmark: pulling a program's customers from the PartnerStack API (the local stand-in), the
concurrent window against the sequential-cursor floor, in one run.

    python benchmarks/api.py                        # 100,000 customers, 250 a page, 20 ms a request
    python benchmarks/api.py --customers 20000 --latency 0.05 --concurrency 8
    python benchmarks/api.py --sequential-subset 10000   # the real sequential run on fewer customers

The stand-in runs in a process of its own (``python -m diagnose.demo.api_standin``), so that its
threads do not share this process's GIL; it answers every request after ``--latency`` seconds.
Measured here, in this order:

* floor: what a cursor costs at best, pages x latency (a cursor is sequential: page n+1 needs the
  key of page n's last item), computed for the window's customers;
* window: ``PartnerStackClient.customers_window`` with the default concurrency (or --concurrency):
  wall time (the best of --repeat runs: other work on the machine only ever slows a run), requests,
  every customer exactly once (checked), peak RSS of this process (``ru_maxrss`` right after it:
  the stand-in's memory is not counted);
* sequential: ``PartnerStackClient.customers`` (one cursor) over the same window, or over its first
  --sequential-subset customers: the real per-page cost next to the floor's latency alone.

Targets: window <= 0.4 x floor, peak RSS <= 300 MB. Exit status 1 when one is missed. A busy machine
moves every number: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diagnose.core.partnerstack import API_PAGE_LIMIT
from diagnose.web.partnerstack_api import (
    DEFAULT_CONCURRENCY,
    Credentials,
    PartnerStackClient,
)

PUBLIC, SECRET = "pk_test_BENCHMARK0", "sk_test_BENCHMARKsecret000000000"
START = 1_704_067_200_000  # 2024-01-01, epoch ms
DAY_MS = 86_400_000
TARGETS = {"vs_floor": 0.4, "rss_mb": 300}


class Counting(PartnerStackClient):
    """The client, counting the pages it asks for."""

    pages = 0

    def page(self, path, params):
        type(self).pages += 1
        return super().page(path, params)


def serve(customers: int, latency: float, end: int) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PARTNERSTACK_PUBLIC_KEY": PUBLIC, "PARTNERSTACK_SECRET_KEY": SECRET}
    command = [sys.executable, "-m", "diagnose.demo.api_standin", "--customers", str(customers),
               "--latency", str(latency), "--start-ms", str(START), "--end-ms", str(end)]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                             cwd=Path(__file__).resolve().parent.parent)
    url = child.stdout.readline().strip()
    if not url.startswith("http://"):
        child.kill()
        raise SystemExit(f"the stand-in did not start (it printed {url!r})")
    return child, url


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.020, help="seconds the stand-in waits per request")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--sequential-subset", type=int, default=0,
                        help="run the sequential cursor over only the first N customers (0: all of them)")
    parser.add_argument("--no-sequential", action="store_true", help="skip the real sequential run")
    parser.add_argument("--repeat", type=int, default=3, help="window runs; the best is reported (default 3)")
    args = parser.parse_args()

    end = START + 365 * DAY_MS
    started = time.perf_counter()
    child, url = serve(args.customers, args.latency, end)
    print(f"stand-in: {args.customers:,} customers over a year, {args.latency * 1000:g} ms per request "
          f"(ready in {time.perf_counter() - started:.1f} s, pid {child.pid})")
    credentials = Credentials(PUBLIC, SECRET)
    try:
        with Counting(credentials, base_url=url) as client:
            runs = []
            for _ in range(max(1, args.repeat)):
                Counting.pages = 0
                t0 = time.perf_counter()
                seen: set[str] = set()
                duplicates = 0
                for item in client.customers_window(START, end, concurrency=args.concurrency):
                    duplicates += item["key"] in seen
                    seen.add(item["key"])
                runs.append(time.perf_counter() - t0)
            window_s, window_pages, Counting.pages = min(runs), Counting.pages, 0
            rss = peak_rss_mb()

            pages = math.ceil(len(seen) / API_PAGE_LIMIT)
            floor_s = pages * args.latency
            sequential = None
            if not args.no_sequential:
                subset = args.sequential_subset or args.customers
                t0 = time.perf_counter()
                count = sum(1 for _, _ in zip(range(subset), client.customers(START, end), strict=False))
                sequential = (count, time.perf_counter() - t0, Counting.pages)
    finally:
        child.stdin.close()
        child.wait(timeout=10)

    ratio = window_s / floor_s if floor_s else float("nan")
    print(f"floor       {floor_s:7.2f} s   {pages} pages x {args.latency * 1000:g} ms (sequential cursor, latency only)")
    if sequential:
        count, seconds, seq_pages = sequential
        per_page = seconds / seq_pages * 1000 if seq_pages else 0
        scaled = seconds * pages / seq_pages if seq_pages else 0
        print(f"sequential  {seconds:7.2f} s   {count:,} customers, {seq_pages} pages, {per_page:.1f} ms a page "
              f"({per_page - args.latency * 1000:.1f} ms over the latency); for all: ~{scaled:.2f} s "
              f"= {scaled / floor_s:.2f}x the floor")
    print(f"window      {window_s:7.2f} s   {len(seen):,} customers ({duplicates} duplicates), {window_pages} "
          f"requests, concurrency {args.concurrency}; best of {len(runs)}: {', '.join(f'{r:.2f}' for r in runs)} s")
    best = window_pages / args.concurrency * args.latency
    print(f"ratio       {ratio:7.2f} x the floor   (target <= {TARGETS['vs_floor']}; latency alone would give "
          f"{best / floor_s:.2f}: {window_pages} requests / {args.concurrency} workers x {args.latency * 1000:g} ms)")
    print(f"peak RSS    {rss:7.1f} MB   (this process; target <= {TARGETS['rss_mb']} MB)")
    ok = (len(seen) == args.customers and not duplicates and ratio <= TARGETS["vs_floor"]
          and rss <= TARGETS["rss_mb"])
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
