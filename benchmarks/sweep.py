"""Benchmark: `diagnose sweep` of 1,000 links x 3 hops with 20 ms of server latency per hop
(issue 12, item 4).

The benchmark starts a local site in its own process (so that the server does not share the
sweep's interpreter): one threaded server on each of ``--hosts`` loopback addresses (127.0.0.1,
127.0.0.2, ...), each answering every request after ``--latency-ms``. Each link is
``/r?i=N`` -> 302 ``/m?i=N`` -> 302 ``/landing?gspk=...&gsxid=...`` -> 200 (a page with the snippet),
on the host ``N % hosts``. The concurrency is ``hosts x per_host`` (= ``--jobs``), so the floor is

    links x hops x latency / concurrency

(every request's latency, perfectly packed). Measured in the same run:

* sweep  - ``diagnose sweep LINKS --csv ... --jobs J --per-host P`` as a new process (imports,
  reading the list, every check, the CSV and the summary: what a user waits for);
* bare   - the same links followed by plain ``requests`` (allow_redirects) in J threads with the same
  per-host cap and nothing checked: what the HTTP client alone costs on this machine.

The server also counts the requests it has in flight per host: the sweep must never exceed
``--per-host`` on any host. Target: sweep <= 1.5x the floor.

    python benchmarks/sweep.py [--links 1000] [--latency-ms 20] [--hosts 8] [--per-host 2] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from diagnose.core.partnerstack import encode_partner_key
from diagnose.demo.site import LocalSite, Page, partnerstack_snippet, redirect

PK = "pk_" + "B3nchmark" * 3 + "abcde"
HOPS = 3
LANDING = (f"<!doctype html><html><head><title>Landing</title>{partnerstack_snippet(repr(PK))}</head>"
           f"<body><h1>Product</h1><p>{'Lorem ipsum dolor sit amet. ' * 40}</p></body></html>")


def serve(hosts: list[str], latency: float, ready, stop, peaks) -> None:
    """The local site (a child process): one server per loopback address; ``peaks[i]`` is the most
    requests host i ever had in flight at once."""
    import socketserver

    # TCP_NODELAY, as production servers (nginx, ...) set it: http.server writes the headers and the
    # body in two sends, and Nagle + delayed ACKs would add ~40 ms to a hop that has a body.
    socketserver.StreamRequestHandler.disable_nagle_algorithm = True
    sites = []
    for index, host in enumerate(hosts):
        lock = threading.Lock()
        state = {"now": 0}

        def counted(route, lock=lock, state=state, index=index):
            def handler(request):
                with lock:
                    state["now"] += 1
                    peaks[index] = max(peaks[index], state["now"])
                time.sleep(latency)  # the hop's latency, while counted as in flight
                with lock:
                    state["now"] -= 1
                return route(request)
            return handler

        site = LocalSite(host=host, port=0)
        site.add("/r", counted(lambda q: redirect(f"/m?i={q.query.get('i', '0')}")))
        site.add("/m", counted(lambda q: redirect(
            f"/landing?gspk={encode_partner_key('p' + q.query.get('i', '0'))}&gsxid=x{q.query.get('i', '0')}")))
        site.add("/landing", counted(lambda q: Page(LANDING)))
        sites.append(site.start())
    ready.send([s.port for s in sites])
    stop.wait()
    for s in sites:
        s.close()


def bare(urls: list[str], jobs: int, per_host: int) -> float:
    """Plain requests, J threads, the same per-host cap, nothing checked."""
    import queue
    from urllib.parse import urlsplit

    import requests

    slots: dict[str, threading.Semaphore] = {}
    lock = threading.Lock()

    def slot(host: str) -> threading.Semaphore:
        with lock:
            return slots.setdefault(host, threading.BoundedSemaphore(per_host))

    todo: queue.Queue = queue.Queue()
    for u in urls:
        todo.put(u)

    def work() -> None:
        with requests.Session() as s:
            s.trust_env = False
            while True:
                try:
                    u = todo.get_nowait()
                except queue.Empty:
                    return
                with slot(urlsplit(u).hostname):  # every hop of a link is on its first host here
                    _ = s.get(u, timeout=10).content
    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--links", type=int, default=1000)
    ap.add_argument("--latency-ms", type=float, default=20)
    ap.add_argument("--hosts", type=int, default=8)
    ap.add_argument("--per-host", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each; the best is compared")
    ap.add_argument("--processes", type=int, default=0, help="diagnose sweep --processes (0: its automatic choice)")
    args = ap.parse_args(argv)
    jobs = args.hosts * args.per_host
    hosts = [f"127.0.0.{i + 1}" for i in range(args.hosts)]
    ctx = multiprocessing.get_context("fork")
    peaks = ctx.Array("i", args.hosts)
    ready_recv, ready_send = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    server = ctx.Process(target=serve, args=(hosts, args.latency_ms / 1000, ready_send, stop, peaks), daemon=True)
    server.start()
    ports = ready_recv.recv()
    urls = [f"http://{hosts[i % args.hosts]}:{ports[i % args.hosts]}/r?i={i}" for i in range(args.links)]
    floor = args.links * HOPS * args.latency_ms / 1000 / jobs
    work = Path(tempfile.mkdtemp(prefix="diagnose-bench-sweep-"))
    links = work / "links.txt"
    links.write_text("\n".join(urls) + "\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "diagnose", "sweep", str(links), "--allow-private-network", "--jobs", str(jobs),
           "--per-host", str(args.per_host), "--expect-key", PK, "--csv", str(work / "sweep.csv"),
           "--save", str(work / "sweep.json"), "--processes", str(args.processes)]
    print(f"{args.links} links x {HOPS} hops, {args.latency_ms:g} ms per hop, {args.hosts} hosts x "
          f"{args.per_host} per host = concurrency {jobs}; floor {floor:.2f} s; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    try:
        sweeps, bares = [], []
        for _ in range(args.repeat):
            for i in range(args.hosts):
                peaks[i] = 0
            cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            served0 = cpu_seconds(server.pid)
            started = time.perf_counter()
            done = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
            sweeps.append(time.perf_counter() - started)
            cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
            seen = max(peaks[:])
            served = cpu_seconds(server.pid) - served0
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-2000:])
                print(f"FAILED: diagnose sweep exited {done.returncode} (expected 0: every link is healthy)")
                return 1
            inside = json.loads((work / "sweep.json").read_text())["elapsed_s"]
            print(f"  sweep: {sweeps[-1]:.2f} s ({sweeps[-1] / floor:.2f}x the floor; {inside:.2f} s after start-up); "
                  f"{cpu:.2f} s of CPU ({cpu / args.links * 1000:.1f} ms per link); most requests in flight on one "
                  f"host: {seen} (cap {args.per_host}); the local site used {served:.2f} s of CPU on the same cores; "
                  f"load average {os.getloadavg()[0]:.1f}")
            if seen > args.per_host:
                print("FAILED: a host saw more requests at once than --per-host")
                return 1
            bares.append(bare(urls, jobs, args.per_host))
            print(f"  bare requests: {bares[-1]:.2f} s ({bares[-1] / floor:.2f}x the floor)")
    finally:
        stop.set()
        server.join(5)
    best = min(sweeps)
    ratio = best / floor
    print(f"sweep {best:.2f} s = {ratio:.2f}x the floor ({floor:.2f} s); bare requests {min(bares):.2f} s = "
          f"{min(bares) / floor:.2f}x; the sweep is {best / min(bares):.2f}x bare requests")
    print(f"target <= 1.5x the floor: {'met' if ratio <= 1.5 else 'MISSED'}")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
