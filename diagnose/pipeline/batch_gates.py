"""The limits of a batch: browser contexts at once (:class:`GatedSession`, one shared browser) and
tickets at once per host (:class:`HostGate`)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit


def link_host(link: str | None) -> str | None:
    """The host a ticket's link visits first (its politeness slot), or None."""
    if not link:
        return None
    try:
        host = urlsplit(link).hostname
    except ValueError:
        return None
    return host.lower() if host else None


class HostGate:
    """At most ``per_host`` holders of a slot for one host at once (any number without a host)."""

    def __init__(self, per_host: int):
        self.per_host = max(1, per_host)
        self._gates: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self.peak: dict[str, int] = {}  # the most slots held at once, per host (tests, benchmarks)
        self._held: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self, host: str | None) -> Iterator[None]:
        if host is None:
            yield
            return
        with self._lock:
            gate = self._gates.setdefault(host, threading.BoundedSemaphore(self.per_host))
        with gate:
            with self._lock:
                self._held[host] = self._held.get(host, 0) + 1
                self.peak[host] = max(self.peak.get(host, 0), self._held[host])
            try:
                yield
            finally:
                with self._lock:
                    self._held[host] -= 1


class GatedSession:
    """The batch's one BrowserSession, launched in the background, with at most ``jobs`` contexts at
    once whoever asks. The cookie check uses it as a session: ``start`` waits for the launch (and
    raises BrowserUnavailable, at once, when it failed: each ticket's browser checks are then
    cannot-tell, the batch goes on), ``run_many`` waits for a context slot; the rest is the session's.
    A browser that crashed is launched again by the session for the next visit."""

    def __init__(self, session: Any, jobs: int):
        self._session = session
        self._slots = threading.BoundedSemaphore(max(1, jobs))
        self._launched = threading.Event()
        self._error: Exception | None = None
        self._closed = False
        self.jobs = max(1, jobs)
        self.in_use = self.peak = 0  # contexts asked for at once (tests, benchmarks)
        self._count = threading.Lock()

    @classmethod
    def launch(cls, browser_path: str | None, jobs: int) -> GatedSession:
        from diagnose.web.browser import BrowserSession

        gated = cls(BrowserSession(browser_path), jobs)
        threading.Thread(target=gated._start, name="diagnose-browser-launch", daemon=True).start()
        return gated

    def _start(self) -> None:
        from diagnose.web.browser import BrowserUnavailable

        try:
            self._session.start()
        except BrowserUnavailable as exc:
            self._error = exc
        except Exception as exc:  # noqa: BLE001 - said as the browser's failure, per ticket
            self._error = BrowserUnavailable(f"the browser would not start ({type(exc).__name__}: {exc})")
        finally:
            self._launched.set()

    @property
    def error(self) -> str | None:
        return str(self._error) if self._error is not None else None

    def start(self) -> GatedSession:
        self._launched.wait()
        if self._error is not None:
            raise self._error
        return self

    def run_many(self, coros: list[Any], concurrency: int = 4) -> list[Any]:
        with self._slots:
            if self._closed:  # the batch is stopping (Ctrl-C): these visits will not be made
                from diagnose.web.browser import BrowserUnavailable

                for coro in coros:
                    coro.close()
                raise BrowserUnavailable("the batch was stopped")
            with self._count:
                self.in_use += 1
                self.peak = max(self.peak, self.in_use)
            try:
                return self._session.run_many(coros, concurrency)
            finally:
                with self._count:
                    self.in_use -= 1

    def close(self) -> None:
        self._closed = True
        self._launched.wait(10)  # a launch under way ends first (closing mid-launch could leave it behind)
        self._session.close()

    def __getattr__(self, name: str) -> Any:  # executable, new_context, playwright, restart_browser, run
        return getattr(self._session, name)
