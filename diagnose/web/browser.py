"""Finding and launching a Chromium for the real-browser checks, and a shared browser session.

Discovery order: ``--browser-path`` / ``DIAGNOSE_BROWSER``; Playwright's own Chromium when its
executable exists; else a system Chromium (``/usr/bin/chromium``, ``chromium-browser``,
``google-chrome`` on PATH). Playwright is imported only when a session starts, so that
``diagnose --help`` stays fast.

One :class:`BrowserSession` (one Playwright driver, one browser) is meant to be reused across
many checks, each in its own fresh context; it is always closed, even on Ctrl-C. When a page
hangs the renderer past a check's hard deadline, :meth:`BrowserSession.kill` stops the browser's
process tree (psutil: the same on Linux, macOS and Windows) and the session relaunches it for the
next check.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from diagnose.core.errors import CannotComplete
from diagnose.web.browser_files import node_compile_cache, own_downloads, temporary_profiles

BROWSER_ENV = "DIAGNOSE_BROWSER"
SYSTEM_BROWSERS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome",
                   "google-chrome-stable")
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # WebRTC sends STUN/TURN over UDP straight to any address a page names, past every proxy: only
    # proxied TCP is left, which the guard proxy checks like any other connection. Chromium reads the
    # first switch, the headless shell the second.
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)
# Chromium reads one --disable-features, the last given: the features Playwright disables are named
# again before ours (checked against the browser's command line at each launch; a Playwright that
# disables others is followed, the browser launched again with them: features_missing).
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin", "OptimizationHints",
    "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch", "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
# Browser machinery that no page sees, paid by every fresh context: a context's page opens a browser
# window whose omnibox popup is a WebUI page of its own (a renderer loading ~300 modules, about half
# the CPU of a visit), and each navigation starts a spare renderer for a next one in the same
# context, which never comes.
DISABLED_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxFullPopup", "WebUIOmniboxAimPopup", "WebUIOmniboxPopupDebug",
                     "SpareRendererForSitePerProcess")
_followed: set[str] = set()  # disabled by this Playwright besides PLAYWRIGHT_DISABLED_FEATURES (learned at launch)
INSTALL_HINT = (
    "no Chromium found: run 'playwright install chromium' or install the OS package "
    "(e.g. 'apt-get install chromium'), or give --browser-path / DIAGNOSE_BROWSER"
)


class BrowserUnavailable(CannotComplete):
    """No usable browser (none found, or it would not start): exit 3."""


def _is_executable(path: str | os.PathLike[str]) -> bool:
    p = Path(path)
    return p.is_file() and os.access(p, os.X_OK)


def playwright_chromium() -> str | None:
    """Playwright's own Chromium build, when one is installed (no driver start needed)."""
    roots = []
    if os.environ.get("PLAYWRIGHT_BROWSERS_PATH") not in (None, "", "0"):
        roots.append(Path(os.environ["PLAYWRIGHT_BROWSERS_PATH"]))
    roots.append(Path.home() / ".cache" / "ms-playwright")
    for root in roots:
        patterns = ("chromium-*/chrome-linux*/chrome", "chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium",
                    "chromium-*/chrome-win*/chrome.exe",
                    "chromium_headless_shell-*/chrome-*/chrome-headless-shell",
                    "chromium_headless_shell-*/chrome-*/headless_shell")
        for pattern in patterns:
            for candidate in sorted(glob.glob(str(root / pattern)), reverse=True):
                if _is_executable(candidate):
                    return candidate
    return None


def find_browser(browser_path: str | None = None) -> str | None:
    """The Chromium executable to use, or None when there is none."""
    explicit = browser_path or os.environ.get(BROWSER_ENV) or None
    if explicit:
        found = explicit if _is_executable(explicit) else shutil.which(explicit)
        if not found:
            raise BrowserUnavailable(f"the browser {explicit!r} (from --browser-path or {BROWSER_ENV}) "
                                     "does not exist or is not executable")
        return found
    own = playwright_chromium()
    if own:
        return own
    for name in SYSTEM_BROWSERS:
        found = name if os.path.isabs(name) and _is_executable(name) else shutil.which(name)
        if found:
            return found
    return None


def disable_features_arg() -> str:
    """The --disable-features switch the browser is launched with (Playwright's and ours)."""
    names = (*PLAYWRIGHT_DISABLED_FEATURES, *sorted(_followed), *DISABLED_FEATURES)
    return "--disable-features=" + ",".join(dict.fromkeys(names))


def features_missing(procs: list[Any]) -> set[str]:
    """The features Playwright disabled that the browser's last --disable-features leaves enabled
    (the browser process's command line names Playwright's list first, ours last)."""
    import psutil

    for proc in procs:
        try:
            cmdline = proc.cmdline()
        except psutil.Error:
            continue
        if any(a.startswith("--type=") for a in cmdline):
            continue
        lists = [a.split("=", 1)[1].split(",") for a in cmdline if a.startswith("--disable-features=")]
        if len(lists) >= 2:
            return set(filter(None, lists[0])) - set(lists[-1])
    return set()


def _launched_with(marker: str) -> list[Any]:
    """This process's descendants started with ``marker`` on their command line (psutil.Process)."""
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if marker in proc.cmdline():
                found.append(proc)
        except psutil.Error:  # gone meanwhile, a zombie, or not ours to read
            continue
    return found


def _alive(proc: Any) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class BrowserSession:
    """One Playwright driver and one Chromium, reused by many checks (a context each).

    Playwright's async API runs on an event loop in a private thread, so that a caller's plain
    synchronous code can run several contexts of the one browser concurrently
    (:meth:`run_many`) and hard deadlines cancel cleanly. Use as a context manager, or call
    :meth:`start` / :meth:`close`. ``extra_args`` are added to the launch flags (e.g.
    ``--host-resolver-rules`` in tests).
    """

    def __init__(self, browser_path: str | None = None, *, extra_args: tuple[str, ...] = (),
                 headless: bool = True):
        self.requested_path = browser_path
        self.extra_args = tuple(extra_args)
        self.headless = headless
        self.executable: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pw: Any = None
        self._browser: Any = None
        self._marker = ""
        self._launched: list[Any] = []  # the browser processes found at each launch (psutil.Process)
        self._downloads: str | None = None  # the launches' downloads directory (ours: removed at close)
        self._lock = threading.Lock()

    # -- lifecycle (caller's thread) --
    def start(self) -> "BrowserSession":
        with self._lock:
            if self._loop is None:
                self.executable = find_browser(self.requested_path)
                if self.executable is None:
                    raise BrowserUnavailable(INSTALL_HINT)
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="diagnose-browser", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
        try:
            self.run(self.ensure_browser())
        except BaseException:
            self.close()
            raise
        return self

    def run(self, coro: Any, timeout: float | None = None) -> Any:
        """Run ``coro`` on the session's loop and wait for its result (Ctrl-C cancels it)."""
        if self._loop is None:
            coro.close()
            raise BrowserUnavailable("the browser session is not started")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    def run_many(self, coros: list[Any], concurrency: int = 4) -> list[Any]:
        """Run coroutines concurrently (at most ``concurrency`` at once); results in order."""

        async def gather() -> list[Any]:
            gate = asyncio.Semaphore(max(1, concurrency))

            async def one(c: Any) -> Any:
                async with gate:
                    return await c

            return await asyncio.gather(*(one(c) for c in coros))

        return self.run(gather())

    # -- on the loop --
    async def ensure_browser(self) -> Any:
        """The browser, (re)launched when needed. Call on the session's loop."""
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright

        if self._pw is None:
            node_compile_cache()
            self._pw = await async_playwright().start()
        if self._downloads is None:
            self._downloads = own_downloads()
        for attempt in (1, 2):
            self._marker = f"--diagnose-session={uuid.uuid4().hex}"
            try:
                self._browser = await self._pw.chromium.launch(
                    executable_path=self.executable,
                    headless=self.headless,
                    args=[*LAUNCH_ARGS, disable_features_arg(), *self.extra_args, self._marker],
                    handle_sigint=False,
                    handle_sigterm=False,
                    handle_sighup=False,
                    timeout=30_000,
                    downloads_path=self._downloads,
                )
            except PlaywrightError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise BrowserUnavailable(f"the browser {self.executable} would not start ({first[:200]}); "
                                         "run 'playwright install chromium' or install the OS package "
                                         "(e.g. 'apt-get install chromium')") from None
            launched = _launched_with(self._marker)
            self._launched += [p for p in launched if p not in self._launched]
            missing = features_missing(launched) if attempt == 1 else set()
            if not missing:
                return self._browser
            _followed.update(missing)  # this Playwright disables more: launched again with them
            browser, self._browser = self._browser, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), 10)
        return self._browser

    async def playwright(self) -> Any:
        """The async Playwright object (e.g. for an isolated ``request`` context). On the loop."""
        await self.ensure_browser()
        return self._pw

    async def new_context(self, **options: Any) -> Any:
        """A fresh, incognito-like context of the shared browser. Call on the session's loop."""
        browser = await self.ensure_browser()
        return await browser.new_context(**options)

    async def restart_browser(self) -> None:
        """Drop a browser that hung (after :meth:`kill`) so the next check launches a new one."""
        browser, self._browser = self._browser, None
        await asyncio.get_running_loop().run_in_executor(None, self.kill)
        if browser is not None:
            try:
                await asyncio.wait_for(browser.close(), 5)
            except BaseException:  # noqa: BLE001 - it is gone either way
                pass

    def processes(self) -> list[Any]:
        """The browser's processes now (psutil.Process): every browser this session launched that is
        still running, with all of its children (renderers, GPU, zygotes)."""
        import psutil

        roots = [p for p in self._launched if _alive(p)]
        if self._marker:
            roots += [p for p in _launched_with(self._marker) if p not in roots]
        tree: dict[int, Any] = {}
        for root in roots:
            try:
                children = root.children(recursive=True)
            except psutil.Error:
                children = []
            for proc in (root, *children):
                tree.setdefault(proc.pid, proc)
        return list(tree.values())

    def kill(self, wait: float = 2.0) -> None:
        """Stop the browser's whole process tree now and wait (at most ``wait`` s) until it is gone.
        Safe from any thread: no Playwright call."""
        import psutil

        procs = self.processes()  # the tree first: a killed browser's children are reparented
        for proc in procs:
            try:
                proc.kill()
            except psutil.Error:
                pass
        deadline = time.monotonic() + wait
        while any(_alive(p) for p in procs) and time.monotonic() < deadline:
            time.sleep(0.02)
        self._launched = [p for p in self._launched if _alive(p)]

    async def _aclose(self) -> None:
        browser, self._browser = self._browser, None
        pw, self._pw = self._pw, None
        try:
            if browser is not None:
                await asyncio.wait_for(browser.close(), 10)
        except BaseException:  # noqa: BLE001
            self.kill()
        try:
            if pw is not None:
                await asyncio.wait_for(pw.stop(), 10)
        except BaseException:  # noqa: BLE001
            pass

    def close(self, quick: bool = False) -> None:
        """Close the browser and the driver; always safe to call, also after Ctrl-C.

        ``quick``: once every context is closed (their HAR files written), the browser holds nothing
        worth its orderly shutdown (~50 ms of a one-ticket run): its processes are stopped, then
        the driver, and the browser's temporary profile is removed here (the driver, stopped, may not
        have got to it)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None:
            return
        profiles = temporary_profiles(self.processes()) if quick else []
        if quick:
            self.kill()
        try:
            future = asyncio.run_coroutine_threadsafe(self._aclose(), loop)
            try:
                future.result(20)
            except BaseException:  # noqa: BLE001 - including a second Ctrl-C
                pass
        finally:
            self.kill()  # anything left behind
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(5)
            if not loop.is_running():
                loop.close()
            downloads, self._downloads = self._downloads, None
            for folder in (*profiles, *((downloads,) if downloads else ())):
                shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> "BrowserSession":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
