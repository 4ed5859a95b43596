"""Gather: run the registered checks that the ticket's facts allow (checks/registry.py), in order,
and collect their evidence.

link -> gspk (the landing URL's key against the ticket's partner) -> snippet (the landing page
already fetched by the link check, not fetched again) -> reconcile (the ticket's customer in the
exports); cookie in a real browser (one policy per relevant browser behaviour). A ticket's own
browser is launched in the background (:func:`launch_browser`, as early as the caller can: the CLI
starts it before importing the rules); its checks run on a thread of their own as soon as it is
ready, beside the pages and the records, and it is closed as soon as they are done; whatever the
caller still has to prepare runs while the browser starts (``while_waiting``). With a shared
session (batch, demo), the checks run one after the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose.checks.registry import CHECKS, EVIDENCE_ORDER, Context
from diagnose.core.evidence import CheckResult
from diagnose.core.partnerstack import API_DEFAULT_CONCURRENCY
from diagnose.core.ticket import Ticket
from diagnose.web.policy import NetPolicy


@dataclass(frozen=True)
class GatherOptions:
    policy: NetPolicy = NetPolicy()
    use_browser: bool = True
    browser_path: str | None = None
    screenshot_dir: str | Path | None = "reports"
    api: Any = None  # a PartnerStack API client: the partner check, and dashboard: partnerstack
    api_concurrency: int = API_DEFAULT_CONCURRENCY
    # Steps run on the calling thread once the checks that need no browser are done, while a ticket's
    # own browser is still starting (e.g. importing the report's templates); each only if it still is.
    while_waiting: tuple[Callable[[], Any], ...] = ()


class OwnBrowser:
    """A ticket's own browser: launched in the background when created, closed in the background by
    :meth:`close` (a non-daemon thread: the process ends only once the browser is gone)."""

    def __init__(self, browser_path: str | None = None):
        self.session, self.launcher = _launch_in_background(browser_path)
        self._closed = False
        self._lock = threading.Lock()

    def starting(self) -> bool:
        return self.launcher.is_alive()

    def ready(self) -> Any:
        """The session, once its launch has ended (launched, or failed: the check then says so)."""
        self.launcher.join()
        return self.session

    def close(self) -> None:
        """Close it in the background; later calls, from any thread, do nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _close_in_background(self.session, self.launcher)


class _BrowserChecks(threading.Thread):
    """The browser checks of a ticket with its own browser, on a thread of their own: they begin once
    the browser is ready and run beside the checks that need no browser (a browser check reads the
    ticket only, never another check's evidence); the browser is closed as soon as they are done."""

    def __init__(self, checks: list[Any], ticket: Ticket, context: Context, browser: OwnBrowser):
        super().__init__(name="diagnose-browser-checks", daemon=True)
        self.checks, self.ticket, self.context, self.browser = checks, ticket, context, browser
        self.found: dict[str, CheckResult] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.browser.ready()
            for check in self.checks:
                self.found.update(check.run(self.ticket, self.context))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by result()
            self.error = exc
        finally:
            self.browser.close()

    def result(self) -> dict[str, CheckResult]:
        self.join()
        if self.error is not None:
            raise self.error
        return self.found


def _context(options: GatherOptions, session: Any = None) -> Context:
    return Context(policy=options.policy, use_browser=options.use_browser, browser_path=options.browser_path,
                   screenshot_dir=options.screenshot_dir, session=session, api=options.api,
                   api_concurrency=options.api_concurrency)


def needs_browser(ticket: Ticket, options: GatherOptions | None = None) -> bool:
    """Would :func:`gather` run a browser check for this ticket?"""
    context = _context(options or GatherOptions())
    return any(check.browser and check.wanted(ticket, context) for check in CHECKS)


def launch_browser(ticket: Ticket, options: GatherOptions | None = None) -> OwnBrowser | None:
    """Start the ticket's own browser now when a check will need it (else None), for :func:`gather`."""
    options = options or GatherOptions()
    return OwnBrowser(options.browser_path) if needs_browser(ticket, options) else None


def gather(ticket: Ticket, options: GatherOptions | None = None, session: Any = None,
           browser: OwnBrowser | None = None) -> dict[str, CheckResult]:
    """Run the checks for ``ticket``. ``session``: a shared BrowserSession to reuse (batch, demo), left
    open; ``browser``: the ticket's own, from :func:`launch_browser`, closed here. With neither, the
    ticket's own browser is launched here when a check needs one."""
    options = options or GatherOptions()
    context = _context(options, session)
    wanted = [check for check in CHECKS if check.wanted(ticket, context)]
    try:
        if session is None and browser is None and any(check.browser for check in wanted):
            browser = OwnBrowser(options.browser_path)
        if session is None and browser is not None:
            context.session = browser.session
            beside = [check for check in wanted if check.browser]
            side = _BrowserChecks(beside, ticket, context, browser) if beside else None
            if side is not None:
                side.start()
            for check in wanted:
                if not check.browser:
                    context.evidence.update(check.run(ticket, context))
            waiting = list(options.while_waiting)
            while waiting and browser.starting():  # not beside the browser checks: they would wait
                _prepare(waiting.pop(0))            # for the interpreter more often (their messages)
            if side is not None:
                context.evidence.update(side.result())
        else:  # a shared session (batch, demo), or no browser: one check after the other
            for check in wanted:
                context.evidence.update(check.run(ticket, context))
    finally:
        if browser is not None:
            browser.close()
    found = context.evidence
    return {k: found[k] for k in EVIDENCE_ORDER if k in found}


def _prepare(step: Callable[[], Any]) -> None:
    """Run one preparation: it only saves time, so what it meets (a library missing, a template that
    does not compile) is met again, and reported, by the work it prepares."""
    try:
        step()
    except Exception:  # noqa: BLE001, S110
        pass


def _launch_in_background(browser_path: str | None) -> tuple[Any, threading.Thread]:
    """The session, and the thread launching it. Returns once Playwright is imported: the imports of
    the other checks would otherwise share the interpreter with it, and the launch waits on it."""
    from diagnose.web.browser import BrowserSession, BrowserUnavailable

    session = BrowserSession(browser_path)
    imported = threading.Event()

    def start() -> None:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            pass  # the launch says so
        imported.set()
        try:
            session.start()
        except BrowserUnavailable:
            pass  # the cookie check tries again and reports browser-unavailable

    thread = threading.Thread(target=start, name="diagnose-browser-launch", daemon=True)
    thread.start()
    try:
        imported.wait(10)
    except BaseException:  # Ctrl-C: the launch goes on, so the browser it starts is closed once started
        _close_in_background(session, thread)
        raise
    return session, thread


def _close_in_background(session: Any, launcher: threading.Thread | None) -> None:
    """Close the ticket's own browser while its report is built and shown: a non-daemon thread,
    so the process still ends only once the browser is closed (also after Ctrl-C). Quickly: its
    checks are over and their contexts closed, so nothing in it is left to save."""

    def close() -> None:
        if launcher is not None:
            launcher.join()
        session.close(quick=True)

    threading.Thread(target=close, name="diagnose-browser-close", daemon=False).start()
