"""``diagnose sweep``: every link of a list checked concurrently, politely, and streamed out.

Concurrency: at most ``jobs`` links in flight, each checked by a worker thread (the link check is
blocking HTTP). With ``processes`` > 1 the threads live in that many worker processes
(pipeline/sweep_procs.py), so that the checks' parsing is not held to one core by the GIL.
Politeness: every request to a host holds one of that host's ``per_host`` slots (a semaphore per host
name, all ports; across processes, a fixed set of shared semaphores that host names hash onto, where
two hosts that share one share its cap), so no host ever sees more than ``per_host`` requests at
once from one sweep, whichever links lead there. The dispatcher reads a bounded window of rows ahead
and hands out first the rows whose first host is least busy, so that workers do not queue up behind
one busy host while others are idle. Browser visits (``--browser``, threads only) share one browser,
at most ``browser_jobs`` at a time, each holding a slot of every host its chain visits.

Rows are read lazily and each record is handed to ``on_record`` as soon as it is done (in the
caller's thread, in completion order): nothing waits in memory but the window ahead, the ids of
the rows seen (duplicates) and what ``on_record`` keeps.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from diagnose.pipeline.sweep_check import (
    LinkRecord,
    SweepOptions,
    bad_input,
    check_safely,
    host_key,
    host_of,
)
from diagnose.pipeline.sweep_defaults import SWITCH_INTERVAL
from diagnose.pipeline.sweep_input import LinkRow

LOOKAHEAD_PER_JOB = 8  # rows read ahead per worker, for the dispatcher to choose from
PIPELINE_DEPTH = 4  # links in flight per first host, as multiples of per_host (a shared redirector)


class HostGate:
    """At most ``limit`` concurrent holders per host name: ``with gate(host): ...``."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}

    def __call__(self, host: str) -> threading.Semaphore:
        key = host_key(host)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = threading.BoundedSemaphore(self.limit)
            return slot


class ThreadPool:
    """``jobs`` threads of this process."""

    ahead = 0

    def __init__(self, options: SweepOptions):
        # SimpleQueue: a handoff in C (queue.Queue's Condition wakes the waiter while its own lock is held)
        self.todo: queue.SimpleQueue = queue.SimpleQueue()
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        gate = HostGate(options.per_host)
        browser_gate = threading.BoundedSemaphore(max(1, options.browser_jobs))

        def work() -> None:
            while (row := self.todo.get()) is not None:
                self.done.put(check_safely(row, options, gate, browser_gate))

        self.threads = [threading.Thread(target=work, name=f"diagnose-sweep-{i}", daemon=True)
                        for i in range(max(1, options.jobs))]
        for t in self.threads:
            t.start()

    def submit(self, row: LinkRow) -> None:
        self.todo.put(row)

    def get(self, timeout: float) -> LinkRecord | None:
        try:
            return self.done.get(timeout=timeout) if timeout > 0 else self.done.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        from diagnose.web.sessions import release_kept

        for _ in self.threads:  # the threads are daemons: one still in a check is abandoned, not waited for
            self.todo.put(None)
        release_kept()


def run_sweep(rows: Iterable[LinkRow], options: SweepOptions, on_record: Callable[[LinkRecord], None],
              stop: threading.Event | None = None) -> None:
    """Check every row; ``on_record`` gets each record as it finishes (bad rows and duplicates at
    once). Returns when every row is done, or when ``stop`` is set (rows not started are left).
    KeyboardInterrupt stops it too (and propagates); the workers are abandoned, not waited for."""
    if options.processes > 1 and options.session is None:
        from diagnose.pipeline.sweep_procs import ProcessPool

        pool: Any = ProcessPool(options)
    else:
        pool = ThreadPool(options)
    try:
        with quick_switching():
            _dispatch(rows, options, on_record, stop, pool)
    finally:
        pool.close()


@contextlib.contextmanager
def quick_switching():
    """A shorter GIL switch interval while many threads wait on sockets: a thread whose answer has
    come waits less for the one running Python (5 ms by default)."""
    import sys

    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _dispatch(rows: Iterable[LinkRow], options: SweepOptions, on_record: Callable[[LinkRecord], None],
              stop: threading.Event | None, pool: Any) -> None:
    # rows handed out: the links in flight, and a few queued for the worker processes (``ahead``), so that
    # a worker whose link is done starts the next without waiting for this thread (the workers' threads,
    # ``jobs`` in all, still cap the links in flight)
    jobs = max(1, options.jobs) + getattr(pool, "ahead", 0)
    first_seen: dict[str, int] = {}  # row id -> line of its first occurrence
    window: deque[tuple[LinkRow, str]] = deque()  # (row, its first host)
    busy: Counter[str] = Counter()  # links in flight by first host
    in_flight = 0
    source: Iterator[LinkRow] = iter(rows)
    exhausted = False
    while True:
        if stop is not None and stop.is_set():
            exhausted = True
            window.clear()
        while not exhausted and len(window) < jobs * LOOKAHEAD_PER_JOB:
            row = next(source, None)
            if row is None:
                exhausted = True
            elif row.url is None:
                on_record(bad_input(row))
            elif row.id in first_seen:
                on_record(LinkRecord(row, "duplicate", duplicate_of=first_seen[row.id]))
            else:
                first_seen[row.id] = row.line
                window.append((row, host_key(host_of(row.url))))
        in_flight += _submit(window, busy, options.per_host, jobs - in_flight, pool)
        if in_flight == 0 and exhausted and not window:
            return
        finished: list[LinkRecord] = []
        record = pool.get(timeout=0.2)  # a timeout: Ctrl-C and ``stop`` are seen promptly
        while record is not None:  # and whatever else has finished meanwhile
            in_flight -= 1
            host = host_key(host_of(record.row.url))
            busy[host] -= 1
            if busy[host] <= 0:
                del busy[host]
            finished.append(record)
            record = pool.get(timeout=0)
        if finished and not (stop is not None and stop.is_set()):
            # the freed slots are filled before the records are written: writing is off the links' path
            in_flight += _submit(window, busy, options.per_host, jobs - in_flight, pool)
        for record in finished:
            on_record(record)


def _submit(window: deque[tuple[LinkRow, str]], busy: Counter[str], per_host: int, room: int, pool: Any) -> int:
    """Hand out up to ``room`` rows of the window (see _pick); how many were."""
    submitted = 0
    while submitted < room and window:
        picked = _pick(window, busy, per_host)
        if picked is None:
            break
        busy[picked[1]] += 1
        submitted += 1
        pool.submit(picked[0])
    return submitted


def _pick(window: deque[tuple[LinkRow, str]], busy: Counter[str], per_host: int) -> tuple[LinkRow, str] | None:
    """The first row whose first host has a free slot; else the row whose first host is least busy,
    while that host is not too deep in flight (links pipelining through a shared redirector)."""
    best, best_load = None, per_host * PIPELINE_DEPTH
    for item in window:
        load = busy[item[1]]
        if load < per_host:
            best = item
            break
        if load < best_load:
            best, best_load = item, load
    if best is not None:
        window.remove(best)
    return best


@contextlib.contextmanager
def browser_for(enabled: bool, browser_path: str | None = None):
    """A started BrowserSession when ``enabled`` (BrowserUnavailable, exit 3, when there is none);
    always closed."""
    if not enabled:
        yield None
        return
    from diagnose.web.browser import BrowserSession

    session = BrowserSession(browser_path)
    try:
        session.start()
        yield session
    finally:
        session.close()
