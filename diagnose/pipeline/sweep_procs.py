"""Worker processes for a sweep (``--processes N``): between them they run ``jobs`` threads that take
rows from one shared queue and put records on another, so that the checks' parsing uses every core.

The per-host cap holds across processes: a fixed set of shared semaphores (``STRIPES``), and each host
name hashes onto one. Two hosts on one stripe share its cap: stricter than asked, never looser.
Workers ignore Ctrl-C (the parent decides) and are stopped when the sweep ends; one that dies makes
the sweep stop with CannotComplete, the finished results kept. They are forked from a parent that has
imported what a check needs, so that they start at once (``spawn`` re-imports everything in each
worker: ~0.3 s of CPU and of waiting a worker), where forking is safe: on Linux, from a parent that
runs one thread (a lock another thread held at the fork would stay held in the worker). Elsewhere
they are spawned.
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
import zlib
from typing import Any

from diagnose.core.errors import CannotComplete
from diagnose.pipeline.sweep_check import (
    LinkRecord,
    SweepOptions,
    check_safely,
    host_key,
)
from diagnose.pipeline.sweep_input import LinkRow

STRIPES = 256


class StripedGate:
    def __init__(self, semaphores: list[Any]):
        self.semaphores = semaphores

    def __call__(self, host: str) -> Any:
        return self.semaphores[zlib.crc32(host_key(host).encode("utf-8", "replace")) % len(self.semaphores)]


def _child(todo: Any, done: Any, options: SweepOptions, semaphores: list[Any], threads_: int) -> None:
    import sys

    from diagnose.pipeline.sweep_defaults import SWITCH_INTERVAL

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.setswitchinterval(SWITCH_INTERVAL)
    gate = StripedGate(semaphores)

    def work() -> None:
        while (row := todo.get()) is not None:
            done.put(check_safely(row, options, gate))

    threads = [threading.Thread(target=work, daemon=True) for _ in range(threads_)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _context() -> Any:
    import multiprocessing

    if sys.platform.startswith("linux") and threading.active_count() == 1:
        import importlib

        from diagnose.web import fetch

        for name in ("diagnose.checks.gspk", "diagnose.checks.link", "diagnose.checks.snippet"):
            importlib.import_module(name)  # what a check imports as it runs: imported once for every worker

        fetch.make_session(fetch.NetPolicy()).close()  # requests and its adapters
        fetch.parse_html("")  # bs4
        for stream in (sys.stdout, sys.stderr):  # nothing buffered here is written again by a worker
            if stream is not None:
                stream.flush()
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class ProcessPool:
    def __init__(self, options: SweepOptions):
        # ``jobs`` threads in all, shared out: they cap the links in flight, so that the dispatcher may queue
        # a few rows ahead (``ahead``: a worker whose link is done starts the next without waiting for the
        # dispatcher); each thread more would be one more to wake and to share the GIL with
        jobs = max(1, options.jobs)
        count = max(1, min(options.processes, jobs))
        shares = [jobs // count + (i < jobs % count) for i in range(count)]
        self.ahead = 2 * count
        ctx = _context()
        # kept here: Process.start() drops its arguments, and a semaphore freed is unlinked before a child opens it
        self.semaphores = [ctx.BoundedSemaphore(max(1, options.per_host)) for _ in range(STRIPES)]
        self.todo, self.done = ctx.Queue(), ctx.Queue()
        self.procs = [ctx.Process(target=_child, args=(self.todo, self.done, options, self.semaphores, share),
                                  name=f"diagnose-sweep-{i}", daemon=True) for i, share in enumerate(shares)]
        for p in self.procs:
            p.start()

    def submit(self, row: LinkRow) -> None:
        self.todo.put(row)

    def get(self, timeout: float) -> LinkRecord | None:
        try:
            return self.done.get(timeout=timeout)
        except queue.Empty:
            dead = next((p for p in self.procs if not p.is_alive()), None) if timeout > 0 else None
            if dead is not None:
                raise CannotComplete(f"a sweep worker process stopped (exit code {dead.exitcode}); "
                                     "the links finished before it are kept") from None
            return None

    def close(self) -> None:
        for p in self.procs:  # a check still running is abandoned, not waited for
            if p.is_alive():
                p.terminate()
        for p in self.procs:
            p.join(2)
        self.todo.cancel_join_thread()
        self.done.cancel_join_thread()
        self.todo.close()
        self.done.close()
