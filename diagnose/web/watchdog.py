"""Every hop's deadline, kept by one thread for the whole process.

``requests`` bounds each socket read, not a whole answer: a server that sends its status line and
then one header line a second would hold a hop for ever. A :class:`Watch` is the deadline of one hop;
the connections the hop uses register with it (web/fetch.py's adapter does this as they connect or
send), and when the deadline passes, one shared thread shuts their sockets down, which wakes the
blocked read. The thread keeps the deadlines in a heap and sleeps until the earliest one that is
still running: a hop costs a heap push, not a thread of its own (a ``threading.Timer`` a hop cost
more CPU than the rest of the hop's HTTP).
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from typing import Self

_COMPACT_FROM = 1024  # finished deadlines left in the heap before it is rebuilt without them
_LONGEST_SLEEP = 3600.0  # seconds: a wait past threading.TIMEOUT_MAX would raise


class Watch:
    """The deadline of one hop, used as ``with Watch(seconds) as watch:`` around the hop in the
    thread that makes it. ``fired`` says whether the deadline passed while the hop was running."""

    local = threading.local()

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + max(seconds, 0.0)
        self.connections: list = []
        self.fired = False
        self.done = False
        self.reused = False  # the hop went out on a connection kept alive from an earlier hop (web/fetch.py)
        self._lock = threading.Lock()
        self._outer: Watch | None = None

    def __enter__(self) -> Self:
        self._outer = getattr(Watch.local, "current", None)
        Watch.local.current = self
        _watchdog().add(self)
        return self

    def __exit__(self, *exc) -> None:
        # Under the lock: a firing in progress ends before the hop's (kept-alive) connections can
        # serve another hop, and none starts after.
        with self._lock:
            self.done = True
        Watch.local.current = self._outer

    @staticmethod
    def current() -> Watch | None:
        return getattr(Watch.local, "current", None)

    @staticmethod
    def register(conn) -> None:
        """``conn`` (a urllib3 connection) is used by this thread's running hop, if any."""
        watch = Watch.current()
        if watch is None:
            return
        with watch._lock:
            watch.connections.append(conn)
            fired = watch.fired
        if fired:
            shutdown(conn)

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            for conn in self.connections:
                shutdown(conn)


def shutdown(conn) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: wakes a blocked read, TLS too
        except OSError:
            pass


class _Watchdog:
    """The heap of running deadlines and the one daemon thread that fires them."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._compact_at = _COMPACT_FROM
        self._thread: threading.Thread | None = None

    def add(self, watch: Watch) -> None:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="diagnose-hop-deadlines", daemon=True)
                self._thread.start()
            if len(self._heap) >= self._compact_at:  # finished hops' entries: bounded by the live ones
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._compact_at = max(_COMPACT_FROM, 2 * len(self._heap))
            heapq.heappush(self._heap, (watch.deadline, next(self._order), watch))
            if self._heap[0][2] is watch:  # earlier than what the thread sleeps towards
                self._cond.notify()

    def pending(self) -> int:
        """Deadlines still running (for tests)."""
        with self._cond:
            return sum(1 for entry in self._heap if not entry[2].done)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due: list[Watch] = []
                while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                    watch = heapq.heappop(self._heap)[2]
                    if not watch.done:
                        due.append(watch)
                if not due:
                    # asleep until the earliest running deadline (a finished one is dropped on waking)
                    self._cond.wait(min(self._heap[0][0] - now, _LONGEST_SLEEP) if self._heap else None)
                    continue
            for watch in due:
                watch.fire()


_dog: _Watchdog | None = None
_dog_lock = threading.Lock()


def _watchdog() -> _Watchdog:
    global _dog
    if _dog is None:
        with _dog_lock:
            if _dog is None:
                _dog = _Watchdog()
    return _dog


def _after_fork() -> None:  # a forked child has no watchdog thread: it starts its own when it needs one
    global _dog, _dog_lock
    _dog, _dog_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
