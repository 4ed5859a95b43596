"""diagnose ticket starts its own browser as early as it can (once the ticket and the outputs are
known good, before the rules, the renderers and the other checks' libraries are imported), prepares
what it can while the browser starts, and always closes it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

import diagnose.pipeline.gather as gather_module
from diagnose.checks.registry import Check
from diagnose.cli import cli
from diagnose.core.errors import BadInput
from diagnose.core.ticket import Ticket
from diagnose.demo.run import DATA
from diagnose.pipeline.gather import GatherOptions, gather, needs_browser
from diagnose.pipeline.run import run_ticket

HEAVY = ("requests", "bs4", "polars", "jinja2", "tabulate", "diagnose.rules", "diagnose.report.model",
         "diagnose.checks.link", "diagnose.checks.reconcile", "diagnose.checks.cookie")


WAIT = 10  # seconds a test waits for another thread before it fails (instead of hanging)


class FakeBrowser:
    """Stands in for gather.OwnBrowser: ready once ``launched`` is set; records what happens to it."""

    def __init__(self, log: list, launched: bool = True):
        self.log, self.session = log, object()
        self.launched = threading.Event()
        if launched:
            self.launched.set()

    def starting(self) -> bool:
        return not self.launched.is_set()

    def ready(self):
        assert self.launched.wait(WAIT), "the browser was never launched"
        self.log.append("ready")
        return self.session

    def close(self) -> None:  # like OwnBrowser.close: the first call closes, later ones do nothing
        if "close" not in self.log:
            self.log.append("close")


def check(name: str, log: list, browser: bool = False, before=None, fail: bool = False) -> Check:
    def run(ticket, context):
        if before is not None:
            before()
        log.append(name)
        if fail:
            raise RuntimeError(f"{name} broke")
        return {name: name}

    return Check(name, ("link",), run, browser=browser)


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        time.sleep(0.005)


TICKET = Ticket(link="https://example.com/")


def test_the_browser_check_runs_beside_the_others_and_the_browser_closes_when_it_is_done(monkeypatch):
    """The page checks wait for the browser check to finish and its browser to be closed: done one
    after the other, this would wait in vain."""
    log: list = []
    monkeypatch.setattr(gather_module, "CHECKS", (
        check("pages", log, before=lambda: wait_for(lambda: "close" in log, "the browser check")),
        check("browser", log, browser=True),
    ))
    gather(TICKET, GatherOptions(), browser=FakeBrowser(log))
    assert log == ["ready", "browser", "close", "pages"]


def test_the_steps_run_while_the_browser_starts_and_no_longer(monkeypatch):
    log: list = []
    browser = FakeBrowser(log, launched=False)
    monkeypatch.setattr(gather_module, "CHECKS", (check("pages", log), check("browser", log, browser=True)))
    steps = (lambda: log.append("step 1"), lambda: log.append("step 2") or browser.launched.set(),
             lambda: log.append("step 3"))
    gather(TICKET, GatherOptions(while_waiting=steps), browser=browser)
    assert log == ["pages", "step 1", "step 2", "ready", "browser", "close"]


def test_no_step_runs_when_the_browser_is_already_there(monkeypatch):
    log: list = []
    monkeypatch.setattr(gather_module, "CHECKS", (check("pages", log), check("browser", log, browser=True)))
    gather(TICKET, GatherOptions(while_waiting=(lambda: log.append("step"),)), browser=FakeBrowser(log))
    assert "step" not in log and sorted(log) == ["browser", "close", "pages", "ready"]


def test_a_preparation_that_fails_changes_nothing(monkeypatch):
    log: list = []
    browser = FakeBrowser(log, launched=False)
    monkeypatch.setattr(gather_module, "CHECKS", (check("pages", log), check("browser", log, browser=True)))

    def broken():
        log.append("broken step")
        raise ImportError("no such library")

    steps = (broken, lambda: log.append("next step") or browser.launched.set())
    gather(TICKET, GatherOptions(while_waiting=steps), browser=browser)
    assert log[:3] == ["pages", "broken step", "next step"]
    assert log[3:] == ["ready", "browser", "close"]


def test_a_failing_browser_check_reaches_the_caller_and_the_browser_is_closed(monkeypatch):
    log: list = []
    monkeypatch.setattr(gather_module, "CHECKS", (check("pages", log), check("browser", log, browser=True,
                                                                               fail=True)))
    with pytest.raises(RuntimeError, match="browser broke"):
        gather(TICKET, GatherOptions(), browser=FakeBrowser(log))
    assert sorted(log) == ["browser", "close", "pages", "ready"]


def test_the_browser_is_closed_when_a_page_check_fails(monkeypatch):
    log: list = []
    monkeypatch.setattr(gather_module, "CHECKS", (check("pages", log, fail=True),
                                                  check("browser", log, browser=True)))
    with pytest.raises(RuntimeError, match="pages broke"):
        gather(TICKET, GatherOptions(), browser=FakeBrowser(log, launched=False))
    assert log == ["pages", "close"]


def test_with_a_shared_session_the_checks_run_in_order(monkeypatch):
    log: list = []
    monkeypatch.setattr(gather_module, "CHECKS", (check("pages", log), check("browser", log, browser=True)))
    gather(TICKET, GatherOptions(while_waiting=(lambda: log.append("step"),)), session=object())
    assert log == ["pages", "browser"]


def test_a_ticket_refused_before_the_run_closes_the_browser_it_was_given():
    log: list = []
    with pytest.raises(BadInput):
        run_ticket(Ticket(partner_key="a1b2c3d4e5f6"), GatherOptions(), browser=FakeBrowser(log))
    assert log == ["close"]


def test_ctrl_c_while_playwright_imports_still_closes_the_browser(monkeypatch):
    """Interrupted while waiting for the launch thread's import: the launch goes on in its thread,
    so the session is handed to the closing thread (which waits for the launch, then closes)."""
    import diagnose.web.browser as browser_module

    closed = []

    class Session:
        def __init__(self, path):
            pass

        def start(self):
            pass

        def close(self, quick=False):
            closed.append(True)

    class Interrupted(threading.Event):
        def wait(self, timeout=None):
            raise KeyboardInterrupt

    monkeypatch.setattr(browser_module, "BrowserSession", Session)
    monkeypatch.setattr(gather_module, "threading", SimpleNamespace(Thread=threading.Thread, Event=Interrupted))
    with pytest.raises(KeyboardInterrupt):
        gather_module.OwnBrowser(None)
    for thread in threading.enumerate():
        if thread.name == "diagnose-browser-close":
            thread.join(10)
    assert closed == [True]


@pytest.mark.parametrize("ticket, options, wanted", [
    (Ticket(link="https://example.com/"), GatherOptions(), True),
    (Ticket(link="https://example.com/"), GatherOptions(use_browser=False), False),
    (Ticket(dashboard="d.csv", internal="i.csv"), GatherOptions(), False),
])
def test_needs_browser_follows_the_registry(ticket, options, wanted):
    assert needs_browser(ticket, options) is wanted


@pytest.mark.parametrize("args", [
    ["--link", "https://example.com/", "--dashboard", "partnerstack", "--internal", str(DATA / "internal.csv")],
    ["--link", "https://example.com/", "--partner-email", "jane@example.com"],
    ["--link", "https://example.com/", "--html", "/proc/no-such-dir/r.html"],
])
def test_bad_input_is_refused_before_any_browser_starts(monkeypatch, args):
    def no_launch(*a, **k):
        raise AssertionError("a browser was launched for a ticket that is refused")

    monkeypatch.setattr(gather_module, "_launch_in_background", no_launch)
    result = CliRunner().invoke(cli, ["ticket", *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error:")


def test_the_launch_starts_before_the_heavy_imports(tmp_path):
    """In a new process, when the browser's launch begins, none of the libraries of the other checks,
    the rules or the renderers is imported yet (they import while Chromium starts)."""
    ticket = tmp_path / "t.yaml"
    ticket.write_text(f"link: http://127.0.0.1:9/x\ndashboard: {DATA / 'dashboard.csv'}\n"
                      f"internal: {DATA / 'internal.csv'}\ncustomer_email: ava.healthy@example.com\n")
    probe = textwrap.dedent(f"""
        import json, sys
        import diagnose.pipeline.gather as G
        def launch(path):
            print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), flush=True)
            raise SystemExit(0)
        G._launch_in_background = launch
        sys.argv = ["diagnose", "ticket", {str(ticket)!r}, "--html", {str(tmp_path / "r.html")!r},
                    "--screenshot-dir", {str(tmp_path)!r}]
        from diagnose.cli import main
        main()
    """)
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[0]) == []
