"""Run many tickets at once (``diagnose batch``): one shared browser with several contexts at once,
the HTTP checks and the records of several tickets concurrently (threads), each export read once.

The caller gives the work to do once a ticket's evidence is in (``finish``, on the worker's thread:
the rules, the report files) and what to do with its outcome (``record``, on the caller's thread, in
the order tickets finish: a line of results, the progress bar). A ticket that cannot be run (a bad
file or row, a check that crashed, the browser gone) is handed to ``finish`` with its error, and the
batch goes on. Ctrl-C stops cleanly: no new ticket starts, every outcome already finished is
recorded, the browser is closed, and KeyboardInterrupt reaches the caller.

Politeness: at most ``per_host`` tickets whose link is on one host run at once (``jobs`` browser
contexts in all), so a queue of tickets about one site never hammers it.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from diagnose.core.errors import DiagnoseError
from diagnose.core.evidence import CheckResult
from diagnose.core.ticket import Ticket
from diagnose.pipeline.batch_gates import GatedSession, HostGate, link_host
from diagnose.pipeline.batch_input import Item
from diagnose.pipeline.gather import GatherOptions


def default_jobs() -> int:
    """Browser contexts at once: min(4, 2 x the CPUs) (a context's page work is mostly the renderer's CPU)."""
    return max(1, min(4, 2 * (os.cpu_count() or 1)))


@dataclass(frozen=True)
class BatchOptions:
    gather: GatherOptions = field(default_factory=GatherOptions)
    jobs: int = 4  # browser contexts at once
    per_host: int = 4  # tickets at once whose link is on one host
    workers: int = 0  # threads running tickets (0: 2 x jobs, so that HTTP and reports overlap the browser)
    defaults: dict[str, Any] | None = None  # ticket keys a ticket that lacks them takes (--dashboard, ...)


@dataclass(frozen=True)
class Gathered:
    """A ticket's turn: its evidence, or why it could not be run (``error``: one line)."""

    item: Item
    ticket: Ticket | None
    evidence: dict[str, CheckResult] | None
    error: str | None
    seconds: float


def load_item(item: Item, defaults: dict[str, Any] | None = None) -> Ticket:
    """The item's ticket (BadInput when it cannot be read), with ``defaults`` for the keys it lacks."""
    from diagnose.core import ticket as tickets

    if item.error is not None:
        raise DiagnoseError(item.error)
    ticket = tickets.load(item.path) if item.path is not None else tickets.from_mapping(item.data or {}, item.base)
    missing = {k: v for k, v in (defaults or {}).items() if v is not None and getattr(ticket, k) is None}
    return tickets.with_overrides(ticket, missing) if missing else ticket


@dataclass
class BatchRun:
    """How a batch went (for the summary, the tests and the benchmarks)."""

    recorded: int = 0
    browser_error: str | None = None  # the browser would not start: every browser check is cannot-tell
    peak_contexts: int = 0  # browser contexts asked for at once
    peak_per_host: dict[str, int] | None = None


def run_batch(items: Iterable[Item], options: BatchOptions, finish: Callable[[Gathered], Any],
              record: Callable[[Any], None]) -> BatchRun:
    """Run every item; ``finish(gathered)`` on a worker thread returns the outcome that ``record``
    gets on this thread."""
    from diagnose.checks.reconcile.cache import shared_reads

    session = GatedSession.launch(options.gather.browser_path, options.jobs) \
        if options.gather.use_browser else None
    stop = threading.Event()
    todo: queue.Queue = queue.Queue(maxsize=max(2, 2 * _workers(options)))
    done: queue.Queue = queue.Queue()
    gate = HostGate(options.per_host)
    gather_options = replace(options.gather)
    run = BatchRun()
    failed: list[BaseException] = []  # the feeder's (a table changed meanwhile) or a worker's (a full disk)

    def feed() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        todo.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 - a table that changed meanwhile: reported by the caller
            failed.append(exc)
        finally:
            for _ in range(_workers(options)):
                _put(todo, None, stop)

    def work() -> None:
        try:
            while not stop.is_set():
                try:
                    item = todo.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is None:
                    return
                gathered = _gather_one(item, options, gather_options, session, gate)
                if stop.is_set():
                    return
                try:
                    outcome = finish(gathered)
                except Exception as exc:  # noqa: BLE001 - its files could not be written: it fails, the batch goes on
                    outcome = finish(replace(gathered, evidence=None, error=_one_line(exc)))
                done.put(outcome)
        except BaseException as exc:  # noqa: BLE001 - not even a failure could be written: said by the caller
            failed.append(exc)
        finally:
            done.put(None)  # this worker has ended

    threads = [threading.Thread(target=feed, name="diagnose-batch-feed", daemon=True)]
    threads += [threading.Thread(target=work, name=f"diagnose-batch-{i}", daemon=True) for i in range(_workers(options))]
    with shared_reads():
        try:
            for t in threads:
                t.start()
            ended = 0
            while ended < _workers(options):
                try:
                    outcome = done.get(timeout=0.2)
                except queue.Empty:
                    continue
                if outcome is None:
                    ended += 1
                    continue
                record(outcome)
                run.recorded += 1
        finally:
            stop.set()
            try:
                while True:  # every ticket already finished is kept, also on Ctrl-C
                    try:
                        outcome = done.get_nowait()
                    except queue.Empty:
                        break
                    if outcome is not None:
                        record(outcome)
                        run.recorded += 1
            finally:
                if session is not None:
                    session.close()
                deadline = time.monotonic() + 2  # a ticket still running is dropped (daemon threads)
                for t in threads:
                    t.join(max(0.0, deadline - time.monotonic()))
    if failed:
        raise failed[0]
    if session is not None:
        run.browser_error = session.error
        run.peak_contexts = session.peak
    run.peak_per_host = dict(gate.peak)
    return run


def _workers(options: BatchOptions) -> int:
    return options.workers or max(2, 2 * options.jobs)


def _put(q: queue.Queue, value: Any, stop: threading.Event) -> None:
    while True:
        try:
            q.put(value, timeout=0.1)
            return
        except queue.Full:
            if stop.is_set():
                return


def _gather_one(item: Item, options: BatchOptions, gather_options: GatherOptions, session: Any,
                gate: HostGate) -> Gathered:
    from diagnose.pipeline.run import run_ticket

    began = time.monotonic()
    ticket = None
    try:
        ticket = load_item(item, options.defaults)
        with gate.slot(link_host(ticket.link)):
            for attempt in (1, 2):  # a ticket the browser died under runs once more, on a new browser
                try:
                    evidence = run_ticket(ticket, gather_options, session)
                except Exception as exc:
                    if attempt == 2 or session is None or not _browser_gone(exc):
                        raise
                    continue
                if attempt == 2 or session is None or not any(
                        p.code == "browser-error" for name, r in evidence.items() if name.startswith("cookie")
                        for p in r.problems):
                    break
        return Gathered(item, ticket, evidence, None, time.monotonic() - began)
    except Exception as exc:  # noqa: BLE001 - one ticket's failure is recorded, the batch goes on
        return Gathered(item, ticket, None, _one_line(exc), time.monotonic() - began)


def _browser_gone(exc: BaseException) -> bool:
    """Playwright's error for a browser, context or page that went away (a crash, a kill)."""
    return type(exc).__module__.startswith("playwright") and "closed" in str(exc).lower()


def _one_line(exc: BaseException, limit: int = 300) -> str:
    from diagnose.core.reading import clean_text

    lines = str(exc).strip().splitlines()
    text = " ".join(lines[0].split()) if lines else ""  # the first line (a browser's error adds its log)
    if not isinstance(exc, DiagnoseError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    text = clean_text(text)
    return text if len(text) <= limit else text[:limit] + "..."
