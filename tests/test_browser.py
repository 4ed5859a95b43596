"""Finding the browser and the shared session's lifecycle."""

from __future__ import annotations

import os
import stat

import pytest
from browser_fixtures import browser_session  # noqa: F401

from diagnose.web import browser
from diagnose.web.browser import BrowserSession, BrowserUnavailable, find_browser


def fake_exe(path):
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_explicit_path_wins(tmp_path, monkeypatch):
    exe = fake_exe(tmp_path / "mychrome")
    monkeypatch.setenv("DIAGNOSE_BROWSER", "/nonexistent")
    assert find_browser(exe) == exe


def test_env_override(tmp_path, monkeypatch):
    exe = fake_exe(tmp_path / "envchrome")
    monkeypatch.setenv("DIAGNOSE_BROWSER", exe)
    assert find_browser() == exe


def test_missing_explicit_browser_is_an_error(monkeypatch):
    monkeypatch.delenv("DIAGNOSE_BROWSER", raising=False)
    with pytest.raises(BrowserUnavailable, match="does not exist"):
        find_browser("/nonexistent/chrome")


def test_playwright_build_before_system(tmp_path, monkeypatch):
    build = tmp_path / "chromium-1234" / "chrome-linux"
    build.mkdir(parents=True)
    exe = fake_exe(build / "chrome")
    monkeypatch.delenv("DIAGNOSE_BROWSER", raising=False)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    assert find_browser() == exe


def test_system_fallback_and_none(tmp_path, monkeypatch):
    monkeypatch.delenv("DIAGNOSE_BROWSER", raising=False)
    monkeypatch.setattr(browser, "playwright_chromium", lambda: None)
    exe = fake_exe(tmp_path / "chromium-browser")
    monkeypatch.setattr(browser, "SYSTEM_BROWSERS", (exe,))
    assert find_browser() == exe
    monkeypatch.setattr(browser, "SYSTEM_BROWSERS", ())
    assert find_browser() is None
    with pytest.raises(BrowserUnavailable, match="playwright install chromium.*apt-get install chromium"):
        BrowserSession().start()


def test_browser_that_will_not_start(tmp_path):
    with pytest.raises(BrowserUnavailable, match="would not start"):
        BrowserSession(fake_exe(tmp_path / "broken")).start()


def test_session_closes_even_on_keyboard_interrupt(browser_session):
    # a second, private session so that the shared one is left alone
    session = BrowserSession(browser_session.executable)
    with pytest.raises(KeyboardInterrupt):
        with session:
            marker = session._marker
            assert browser._pids_with(marker)
            raise KeyboardInterrupt
    assert browser._pids_with(marker) == []


def test_import_of_cli_does_not_import_playwright():
    import subprocess
    import sys

    code = "import sys, diagnose.cli; sys.exit('playwright' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], env={**os.environ}).returncode == 0
