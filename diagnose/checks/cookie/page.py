"""Talking to the page: the scripts run in it (cookie_page.js before any page script, cookie_collect.js
to read it), settling it on the events that matter, reading it, and its screenshot."""

from __future__ import annotations

import asyncio
import functools
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from diagnose.checks.cookie.consent import CMP_GLOBALS
from diagnose.checks.cookie.recorder import Recorder
from diagnose.core.partnerstack import KNOWN_SCRIPT_HOSTS

DEFAULT_SETTLE_MS = 300  # quiet window while evidence is incomplete
FAST_SETTLE_MS = 40  # quiet window once the snippet ran and the cookie is written
MAX_SETTLE_S = 6.0  # longest wait after the load event
MIN_SETTLE_S = 1.0  # settling a page that loaded late may run this far past --timeout
COLLECT_S = 3.0  # reading the settled page
SCREENSHOT_S = 5.0
INTERSTITIAL_S = 1.0  # quiet window on a page with no PartnerStack evidence (a late JS redirect?)
POLL_MIN_S = 0.015  # settling reads the page at most this often (a network event wakes it sooner)...
POLL_MAX_S = 0.1  # ...and at least this often (a script that changes the page without the network)
LOOP_VISITS = 3  # a page that never settled and whose navigations came back to one URL this often loops
LEAVING_S = 2.0  # how long a navigation the page began may take to show as a request
PROBE_S = 1.0  # how long a page that did not load in time gets to answer before it counts as hung

_JS_DIR = Path(__file__).parent


@functools.cache
def script(name: str) -> str:
    """A script shipped beside this module (read once)."""
    return (_JS_DIR / name).read_text(encoding="utf-8")


_POLL_JS = """(idleMs) => {
  const S = window.__diagnose;
  let refresh = -1;
  const meta = document.querySelector('meta[http-equiv="refresh" i]');
  if (meta) { const m = /^\\s*(\\d+(?:\\.\\d+)?)/.exec(meta.getAttribute('content') || ''); if (m) refresh = parseFloat(m[1]); }
  const gs = !!(window.growsumo || window.partnerstack);
  let idle = false;
  try { idle = !!(S && S.idleWithin && S.idleWithin(idleMs)); } catch (e) {}
  let leaving = null;
  try { leaving = S && S.leaving ? S.leaving() : null; } catch (e) {}
  return S ? [S.inits.length, S.writes.length + S.blocked.length, document.readyState === 'complete', gs, refresh, idle, leaving]
           : [0, 0, false, gs, refresh, false, null];
}"""


def browser_gone(page: Any) -> bool:
    """The page's browser went away (killed, crashed): nothing more can be read from the page, and
    waiting for it would only run into the deadline (the caller reports a browser error instead)."""
    try:
        browser = page.context.browser
        return page.is_closed() and browser is not None and not browser.is_connected()
    except Exception:  # noqa: BLE001 - a page of no browser we know: not ours to judge
        return False


async def _poll(page: Any, wait: float) -> tuple[Any, ...] | None:
    from playwright.async_api import Error as PlaywrightError

    try:
        return tuple(await asyncio.wait_for(page.evaluate(_POLL_JS, INTERSTITIAL_S * 1000), wait))
    except PlaywrightError:
        if browser_gone(page):
            raise
        return None  # navigating (the execution context was replaced)
    except asyncio.TimeoutError:
        return None  # busy


async def pending_departure(page: Any) -> tuple[float | None, str | None]:
    """Where the page is about to go: the delay of the ``<meta http-equiv=refresh>`` it holds now
    (seconds, or None), and the navigation to another document that it began, as the init script
    names it ("DOC N URL"), or None."""
    state = await _poll(page, PROBE_S)
    if state is None:
        return None, None
    return (state[4] if state[4] >= 0 else None), (state[6] if len(state) > 6 and state[6] else None)


async def answers(page: Any, wait: float = PROBE_S) -> bool:
    """Does the page's main thread answer within ``wait`` s? False when its scripts hang (a busy
    loop): a page waiting for the network answers at once, and so does one between documents."""
    from playwright.async_api import Error as PlaywrightError

    try:
        await asyncio.wait_for(page.evaluate("0"), wait)
    except asyncio.TimeoutError:
        return False
    except PlaywrightError:
        pass  # navigating (the execution context was replaced), or closed
    return True


async def settle(page: Any, rec: Recorder, quiet: float, deadline: float) -> bool:
    """Wait for the events that matter, then a quiet window; False when cut off at ``deadline``
    (a time.monotonic() value). A main-frame navigation still waiting for its page is not settled.

    * the PartnerStack script loaded, ``_initialize`` called and cookies written, nothing in
      flight: a short window (FAST_SETTLE_MS) - the common, healthy case;
    * some PartnerStack evidence but incomplete: the ``quiet`` window (``--settle-ms``);
    * no PartnerStack evidence at all (an interstitial that may still redirect by script, or a
      page that injects the snippet late): at least INTERSTITIAL_S, or the ``quiet`` window when
      nothing the page set up can run meanwhile (no timer due, no animation frame or idle
      callback, no socket or worker: cookie_page.js);
    * a ``<meta http-equiv=refresh>`` that fires before the deadline: wait for it.
    """
    settle_max = deadline - time.monotonic()
    last: tuple[Any, ...] | None = None
    while True:
        state = await _poll(page, min(1.0, max(0.2, deadline - time.monotonic())))
        if state is None or (last is not None and state[:4] != last[:4]):
            rec.touch()
        last = state
        now = time.monotonic()
        pending_snippet = any(v == "pending" for v in rec.snippet_requests.values())
        loaded_snippet = any(v == "ok" for v in rec.snippet_requests.values())
        inits, writes, complete, has_gs, refresh, idle, leaving = state if state else (0, 0, False, False, -1, False, None)
        waiting_init = loaded_snippet and not inits and rec.snippet_loaded_at is not None \
            and now - rec.snippet_loaded_at < max(quiet, 0.3)
        busy = any(now - t < 2.0 for t in rec.inflight.values())
        if complete and inits > 0 and (writes > 0 or loaded_snippet):
            window = min(quiet, FAST_SETTLE_MS / 1000)
        elif inits or has_gs or rec.snippet_requests or idle:
            window = quiet  # (idle: no PartnerStack, but nothing on the page can run within INTERSTITIAL_S)
        else:
            window = max(quiet, INTERSTITIAL_S)
        refresh_pending = 0 <= refresh <= settle_max and now - rec.last_activity < refresh + 0.3
        navigating = rec.document is not None and not rec.document_done
        # (a navigation the page began whose request has not reached us yet: for a while, not forever,
        # as it may end without one: a router that intercepts it, a download, about:blank)
        leaving_until = rec.leaving_since(leaving) + LEAVING_S if leaving else 0.0
        navigating |= now < leaving_until
        if state is not None and complete and not pending_snippet and not waiting_init and not busy \
                and not navigating and not refresh_pending and now - rec.last_activity >= window:
            return True
        if now >= deadline or rec.loop(2 * LOOP_VISITS):  # (redirects going round settle never)
            return False
        # Until the first moment settled could become true - the quiet window over, the snippet's
        # init given its time, a request no longer counted busy, a meta refresh due - unless the
        # network says something first; the page itself is read again within POLL_MAX_S.
        due = [rec.last_activity + window]
        if waiting_init:
            due.append(rec.snippet_loaded_at + max(quiet, 0.3))
        if busy:
            due.append(min(t for t in rec.inflight.values() if now - t < 2.0) + 2.0)
        if refresh_pending:
            due.append(rec.last_activity + refresh + 0.3)
        if now < leaving_until:
            due.append(leaving_until)
        later = [t - now for t in due if t > now]
        wait = min(later) if later and state is not None and complete else POLL_MIN_S
        await rec.until_activity(min(max(wait, POLL_MIN_S), POLL_MAX_S, deadline - now), POLL_MIN_S)


async def collect(page: Any) -> dict[str, Any] | None:
    """What the page holds now, or None when its scripts do not answer (a busy loop)."""
    from playwright.async_api import Error as PlaywrightError

    cfg = {"hosts": list(KNOWN_SCRIPT_HOSTS), "cmpGlobals": list(CMP_GLOBALS)}
    deadline = time.monotonic() + COLLECT_S
    for _ in range(3):
        try:
            return await asyncio.wait_for(page.evaluate(script("cookie_collect.js"), cfg),
                                          max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            return None
        except PlaywrightError:
            if browser_gone(page):
                raise
            await asyncio.sleep(0.1)
    return None


async def screenshot(page: Any, directory: Path, policy_name: str, final_url: str | None) -> str | None:
    from playwright.async_api import Error as PlaywrightError

    host = re.sub(r"[^A-Za-z0-9.-]+", "_", urlsplit(final_url or "").hostname or "page")[:60]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")[:-3]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"cookie-{host}-{policy_name}-{stamp}.png"
        # caret=initial: no style injected into every frame (and removed again) to hide a text caret
        await page.screenshot(path=str(path), timeout=SCREENSHOT_S * 1000, caret="initial")
        return str(path)
    except (PlaywrightError, OSError):
        return None
