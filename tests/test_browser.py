"""Finding the browser and the shared session's lifecycle."""

from __future__ import annotations

import os
import stat

import pytest

from diagnose.web import browser, browser_files
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


def marked(marker):
    """Every process on the machine with ``marker`` on its command line (zombies are gone)."""
    import psutil

    found = []
    for proc in psutil.process_iter():
        try:
            if marker in proc.cmdline() and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def gone(procs):
    import psutil

    def dead(p):
        try:
            return not p.is_running() or p.status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            return True

    # a process already without its command line may still be exiting: on a loaded machine (CI's
    # 2 cores at a load of 25) that takes more than a moment, so wait up to 10 s for it
    import time

    deadline = time.monotonic() + 10
    while not all(dead(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    return all(dead(p) for p in procs)


def test_session_closes_even_on_keyboard_interrupt(browser_session):
    # a second, private session so that the shared one is left alone
    session = BrowserSession(browser_session.executable)
    with pytest.raises(KeyboardInterrupt):
        with session:
            marker = session._marker
            assert marked(marker)
            tree = session.processes()
            assert len(tree) > 1  # the browser and its children
            raise KeyboardInterrupt
    assert marked(marker) == []
    assert gone(tree)


def test_kill_stops_the_whole_tree_and_the_session_relaunches(browser_session):
    with BrowserSession(browser_session.executable) as session:
        first = session._marker

        async def open_page():
            context = await session.new_context()
            page = await context.new_page()
            await page.set_content("<p>hello</p>")
            text = await page.text_content("p")
            await context.close()
            return text

        assert session.run(open_page()) == "hello"
        tree = session.processes()
        assert len(tree) > 2  # browser, zygote(s), a renderer...
        session.kill()
        assert gone(tree) and marked(first) == []
        session.run(session.restart_browser())  # what a check does after a hung renderer
        assert session.run(open_page()) == "hello"  # a new browser
        second = session._marker
        assert second != first and marked(second)
    assert marked(second) == [] and session.processes() == []


def test_import_of_cli_does_not_import_playwright():
    import subprocess
    import sys

    code = "import sys, diagnose.cli; sys.exit('playwright' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], env={**os.environ}).returncode == 0


class _Proc:
    def __init__(self, *args):
        self.args = list(args)

    def cmdline(self):
        return self.args


def test_features_missing_reads_the_browser_process_command_line():
    ours = browser.disable_features_arg()
    assert ours.startswith("--disable-features=") and "WebUIOmniboxPopup" in ours
    child = _Proc("chromium", "--type=gpu-process", "--disable-features=Other")
    root = _Proc("chromium", "--disable-features=PaintHolding,Extra", "--no-sandbox", ours)
    assert browser.features_missing([child, root]) == {"Extra"}  # Playwright's first, ours last
    assert browser.features_missing([_Proc("chromium", ours)]) == set()  # one list: nothing to compare
    assert browser.features_missing([child]) == set()


def _effective_disabled(session, deadline_s=10.0):
    """The features a child process of the session's browser runs with disabled (Chromium hands
    the list it settled on to its children)."""
    import re
    import time

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        for proc in session.processes():
            line = " ".join(proc.cmdline())
            if "--type=gpu-process" in line or "--type=utility" in line:
                found = re.findall(r"--disable-features=(\S+)", line)
                if found:
                    return set(found[-1].split(","))
        time.sleep(0.1)
    raise AssertionError("no child process of the browser showed its features")


def test_playwright_features_stay_disabled_with_ours(browser_session):
    with BrowserSession(browser_session.executable) as session:
        disabled = _effective_disabled(session)
    assert set(browser.PLAYWRIGHT_DISABLED_FEATURES) <= disabled  # Chromium keeps only the last list
    assert set(browser.DISABLED_FEATURES) <= disabled


def test_a_playwright_that_disables_more_is_followed(browser_session, monkeypatch):
    monkeypatch.setattr(browser, "_followed", set())
    dropped = browser.PLAYWRIGHT_DISABLED_FEATURES[0]  # as if this Playwright disabled one we do not name
    monkeypatch.setattr(browser, "PLAYWRIGHT_DISABLED_FEATURES", browser.PLAYWRIGHT_DISABLED_FEATURES[1:])
    with BrowserSession(browser_session.executable) as session:
        disabled = _effective_disabled(session)
    # followed: the one we pretend not to name (an older Playwright, e.g. 1.48, disables others too: also followed)
    assert dropped in browser._followed
    assert dropped in disabled and set(browser.DISABLED_FEATURES) <= disabled


@pytest.fixture
def no_node_cache_env(monkeypatch, tmp_path):
    """No NODE_COMPILE_CACHE from the caller; the user's cache directory in tmp_path (restored after)."""
    monkeypatch.delenv("NODE_COMPILE_CACHE", raising=False)
    monkeypatch.delenv("NODE_DISABLE_COMPILE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    return tmp_path / "cache" / "diagnose" / "node-compile-cache"


def test_the_driver_gets_a_compile_cache_of_ours(no_node_cache_env):
    assert browser_files.node_compile_cache() == str(no_node_cache_env)
    assert no_node_cache_env.is_dir()
    assert os.environ["NODE_COMPILE_CACHE"] == str(no_node_cache_env)


def test_a_compile_cache_the_user_set_or_disabled_is_left_alone(no_node_cache_env, monkeypatch, tmp_path):
    monkeypatch.setenv("NODE_COMPILE_CACHE", str(tmp_path / "theirs"))
    assert browser_files.node_compile_cache() == str(tmp_path / "theirs")
    assert not no_node_cache_env.exists()
    monkeypatch.delenv("NODE_COMPILE_CACHE")
    monkeypatch.setenv("NODE_DISABLE_COMPILE_CACHE", "1")
    assert browser_files.node_compile_cache() is None
    assert "NODE_COMPILE_CACHE" not in os.environ and not no_node_cache_env.exists()


def test_no_cache_when_its_directory_cannot_be_made(no_node_cache_env, monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    assert browser_files.node_compile_cache() is None
    assert "NODE_COMPILE_CACHE" not in os.environ


def test_a_relative_cache_home_is_ignored(no_node_cache_env, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    assert browser_files.node_compile_cache() == str(tmp_path / "home" / ".cache" / "diagnose" / "node-compile-cache")


def test_a_cache_home_or_home_that_does_not_exist_is_not_made(no_node_cache_env, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "nonexistent" / "cache"))
    assert browser_files.node_compile_cache() is None
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "no-home"))
    assert browser_files.node_compile_cache() is None
    assert not (tmp_path / "nonexistent").exists() and not (tmp_path / "no-home").exists()
    assert "NODE_COMPILE_CACHE" not in os.environ


def _driver_node() -> tuple[int, ...]:
    import subprocess

    from playwright._impl._driver import compute_driver_executable

    node = compute_driver_executable()[0]
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    return tuple(int(x) for x in out.strip().lstrip("v").split(".")[:2])


@pytest.mark.browser
def test_the_driver_fills_the_compile_cache(no_node_cache_env, browser_session):
    if _driver_node() < (22, 1):  # (older Nodes have no compile cache: Playwright before ~1.50)
        pytest.skip("this Playwright's Node has no compile cache")
    session = BrowserSession(browser_session.executable)
    session.start()
    session.close()
    assert any(no_node_cache_env.iterdir()), "the driver wrote no compiled code"


@pytest.mark.browser
@pytest.mark.parametrize("quick", [False, True])
def test_a_closed_session_leaves_no_directory_behind(browser_session, quick):
    """An orderly or a quick close (a ticket's own browser: its processes stopped, not asked to
    shut down) stops the whole tree and removes the launch's temporary profile and downloads folder."""
    session = BrowserSession(browser_session.executable)
    session.start()
    tree = session.processes()
    profiles = browser_files.temporary_profiles(tree)
    downloads = session._downloads
    assert len(profiles) == 1 and os.path.isdir(profiles[0])
    assert downloads and os.path.isdir(downloads)
    session.close(quick=quick)
    assert gone(tree)
    assert not os.path.exists(profiles[0]) and not os.path.exists(downloads)


def test_only_playwright_temporary_profiles_are_named_for_removal(tmp_path):
    import tempfile

    class Proc:
        def __init__(self, *args):
            self.args = list(args)

        def cmdline(self):
            return self.args

    ours = os.path.join(tempfile.gettempdir(), "playwright_chromiumdev_profile-Ab12")
    found = browser_files.temporary_profiles([
        Proc("chromium", f"--user-data-dir={ours}"), Proc("chromium", f"--user-data-dir={ours}"),
        Proc("chromium", f"--user-data-dir={tmp_path}/profile"),  # a profile the user gave: never ours
        Proc("chromium", f"--user-data-dir={ours}/../../etc"), Proc("chromium", "--type=renderer")])
    assert found == [ours]
