"""What a browser context's pages do, recorded by Playwright's event handlers on the session's loop:
requests in flight, the main frame's navigations, failed scripts, the PartnerStack script's
requests; and the route handlers that apply the private-network rule and the no-cookies policy."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

from diagnose.checks.cookie.model import MAX_LIST, FailedRequest, Hop
from diagnose.core.evidence import Problem, error, fail
from diagnose.core.partnerstack import is_snippet_src
from diagnose.web import fetch as net
from diagnose.web import policy as web_policy
from diagnose.web.guard_proxy import GuardProxy

BROWSER_MAX_REDIRECTS = 20  # Chromium's limit, after which it fails with net::ERR_TOO_MANY_REDIRECTS


class Recorder:
    """Collects what the context's pages do (Playwright event handlers, on the session's loop)."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        self.last_activity = time.monotonic()
        self.inflight: dict[Any, float] = {}
        self.nav_responses: list[Any] = []
        self.document: Any = None  # the main frame's latest navigation request
        self.document_answered = self.document_done = False
        self.document_failure: str | None = None  # why the browser gave up on it (net::ERR_...)
        self.failed: list[FailedRequest] = []
        self.snippet_requests: dict[str, str] = {}  # url -> "pending" | "ok" | "failed"
        self.snippet_loaded_at: float | None = None
        self.js_errors: list[str] = []
        self.blocked_private: list[str] = []
        self.script_hosts: list[str] = []
        self.host_verdicts: dict[str, Any] = {}  # host -> future of "" (public) or a reason
        self.page: Any = None
        self.http_cookie_names: set[str] = set()
        self.playwright: Any = None
        self.fetch_options: dict[str, Any] = {}  # for fetches outside the browser (the guard proxy)
        self._woken: asyncio.Event | None = None
        self._leaving: dict[str, float] = {}  # navigation the page said it began -> when we first heard

    def touch(self, *_: Any) -> None:
        self.last_activity = time.monotonic()
        if self._woken is not None:
            self._woken.set()

    async def until_activity(self, seconds: float, at_least: float = 0.0) -> None:
        """Sleep ``seconds``, or (after ``at_least``) less when the page does something meanwhile (a
        request, a response, a navigation): settling reacts to the network at once and reads the
        page less often."""
        if self._woken is None:
            self._woken = asyncio.Event()
        self._woken.clear()
        if at_least > 0:
            await asyncio.sleep(min(at_least, seconds))
        if self._woken.is_set() or seconds <= at_least:
            return
        try:
            await asyncio.wait_for(self._woken.wait(), seconds - at_least)
        except TimeoutError:
            pass

    def leaving_since(self, leaving: str) -> float:
        """When the check first heard that the page began the navigation ``leaving`` (the init
        script's "DOC N URL"): settling and the reading's check wait for its request from then, not anew."""
        if len(self._leaving) < MAX_LIST:
            self._leaving.setdefault(leaving, time.monotonic())
        return self._leaving.get(leaving, 0.0)

    def on_request(self, request: Any) -> None:
        self.touch()
        self.inflight[request] = time.monotonic()
        if self.page is not None and request.is_navigation_request() and _frame(request) == self.page.main_frame:
            self.document, self.document_answered, self.document_done = request, False, False
            self.document_failure = None
        if request.resource_type == "script":
            host = urlsplit(request.url).hostname
            if host and host not in self.script_hosts and len(self.script_hosts) < 300:
                self.script_hosts.append(host)
            if is_snippet_src(request.url):
                self.snippet_requests[request.url] = "pending"

    def on_response(self, response: Any) -> None:
        self.touch()
        request = response.request
        if request.is_navigation_request() and self.page is not None and _frame(response) == self.page.main_frame:
            self.nav_responses.append(response)
        self.document_answered |= request is self.document
        if request.resource_type == "script" and response.status >= 400:
            snippet = is_snippet_src(request.url)
            self._fail(FailedRequest(request.url, response.status, None, snippet))
            if snippet:
                self.snippet_requests[request.url] = "failed"

    def on_finished(self, request: Any) -> None:
        self.touch()
        self.inflight.pop(request, None)
        self.document_done |= request is self.document
        if self.snippet_requests.get(request.url) == "pending":
            self.snippet_requests[request.url] = "ok"
            self.snippet_loaded_at = time.monotonic()

    def on_failed(self, request: Any) -> None:
        self.touch()
        self.inflight.pop(request, None)
        if request is self.document:
            self.document_done, self.document_failure = True, request.failure or "failed"
        if request.resource_type in ("script", "document"):
            snippet = is_snippet_src(request.url)
            reason = request.failure or "failed"
            if request.url in self.blocked_private:
                reason = f"blocked: {net.NOT_PUBLIC}"
            self._fail(FailedRequest(request.url, None, reason, snippet))
            if snippet:
                self.snippet_requests[request.url] = "failed"

    @property
    def awaiting_answer(self) -> bool:
        """The main frame's latest navigation has had no response yet (nothing to run scripts in)."""
        return self.document is not None and not self.document_answered

    def stalled(self, timeout: float) -> Problem | None:
        """``timeout`` when the main frame's latest document has not fully arrived (a slow server)."""
        if self.document is None or self.document_done:
            return None
        host = urlsplit(self.document.url).hostname or self.document.url
        if self.document_answered:
            return error("timeout", f"{host} was still sending the page after {timeout:g} s")
        return error("timeout", f"no answer from {host} within {timeout:g} s")  # as `diagnose link` says

    def landing(self, proxy: GuardProxy | None, timeout: float) -> Problem | None:
        """Why the main frame's latest document is no page of its site, once it ended: the guard
        refused it (private-network), the proxy could not reach it (it answered in the site's place),
        or the browser gave up on it (a redirect loop, too many redirects, another network error) and
        shows its own error page. The proxy names a request by its URL, or host:port for a CONNECT."""
        for what in list(proxy.blocked) if proxy is not None else ():
            if what not in self.blocked_private and len(self.blocked_private) < MAX_LIST:
                self.blocked_private.append(what)
        if self.document is None or not self.document_done:
            return None
        parts = urlsplit(self.document.url)
        names = (self.document.url, f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}")
        refused = next((b for b in self.blocked_private if b in names), None)
        if refused:
            return fail("private-network", net.refusal(refused))
        unreachable = dict(proxy.unreachable) if proxy is not None else {}
        reason = next((unreachable[n] for n in names if n in unreachable), None)
        if reason == "timeout":
            return error("timeout", f"no answer from {parts.hostname} within {timeout:g} s")
        if reason:
            return error("connection-error", f"cannot connect to {parts.hostname}: {reason}")
        return self.gave_up()

    def gave_up(self) -> Problem | None:
        """The browser's own reason for abandoning the main frame's latest navigation (None when it
        did not, or when the page simply stayed where it was: a download, a navigation cancelled)."""
        failure = self.document_failure or ""
        if "ERR_TOO_MANY_REDIRECTS" in failure:
            return self.loop(2) or fail(
                "too-many-redirects", f"more than {BROWSER_MAX_REDIRECTS} redirects (the browser's limit); "
                f"stopped at {self.document.url}")
        if not failure or "ERR_ABORTED" in failure:
            return None
        return error("navigation-failed", f"the browser could not open {self.document.url}: {first_line(failure, 200)}")

    def loop(self, visits: int) -> Problem | None:
        """``redirect-loop`` (as `diagnose link` says) when the main frame's navigations came back to
        one URL ``visits`` times."""
        seen: dict[str, int] = {}
        for response in self.nav_responses:
            seen[response.url] = seen.get(response.url, 0) + 1
            if seen[response.url] >= visits:
                return fail("redirect-loop", f"the chain comes back to {response.url} and would loop forever")
        return None

    def _fail(self, item: FailedRequest) -> None:
        if len(self.failed) < MAX_LIST and item not in self.failed:
            self.failed.append(item)

    def on_page_error(self, err: Any) -> None:
        if len(self.js_errors) < 20:
            name = getattr(err, "name", "") or "Error"
            msg = first_line(getattr(err, "message", "") or str(err), 240)
            self.js_errors.append(msg if msg.startswith(name) else f"{name}: {msg}")

    async def _verdict(self, host: str, port: int | None) -> str:
        """"" when ``host`` may be visited, else why not (resolved once per host, off the loop)."""
        future = self.host_verdicts.get(host)
        if future is None:
            def check() -> str:
                if host == "localhost" or host.endswith(".localhost"):
                    return f"{host} is a loopback name (browsers resolve *.localhost to this machine)"
                try:
                    web_policy.check_host(host, port, False)
                except net.PrivateAddress as exc:
                    return str(exc)
                except net.ResolveError as exc:
                    return f"{exc}: refused, since the browser may resolve it elsewhere"
                return ""

            future = asyncio.get_running_loop().run_in_executor(None, check)
            self.host_verdicts[host] = future
        return await future

    async def route(self, route: Any, request: Any, block_cookies: bool, timeout_ms: float) -> None:
        from playwright.async_api import Error as PlaywrightError

        url = request.url
        parts = urlsplit(url)
        try:
            if not self.allow_private and parts.scheme in ("http", "https", "ws", "wss"):
                if await self._verdict((parts.hostname or "").lower(), parts.port):
                    if len(self.blocked_private) < MAX_LIST:
                        self.blocked_private.append(url)
                    await route.abort("blockedbyclient")
                    return
            if block_cookies and parts.scheme in ("http", "https"):
                await self._fetch_without_cookies(route, request, timeout_ms)
                return
            await route.continue_()
        except PlaywrightError:
            pass  # the page or context went away meanwhile

    async def route_web_socket(self, ws: Any) -> None:
        """The private-network rule for WebSockets (not seen by context.route)."""
        parts = urlsplit(ws.url)
        try:
            if await self._verdict((parts.hostname or "").lower(), parts.port):
                if len(self.blocked_private) < MAX_LIST:
                    self.blocked_private.append(ws.url)
                await ws.close(code=1008, reason=net.NOT_PUBLIC)
                return
            ws.connect_to_server()
        except Exception:  # noqa: BLE001 - the page went away meanwhile
            pass

    async def _fetch_without_cookies(self, route: Any, request: Any, timeout_ms: float) -> None:
        """Fetch outside the browser in a throw-away jar and answer without Set-Cookie headers. The
        fetcher resolves names itself (Node), so it goes through the guard proxy like the browser:
        without one (private networks not allowed) nothing is fetched."""
        from playwright.async_api import Error as PlaywrightError

        if not self.allow_private and "proxy" not in self.fetch_options:
            await route.abort("blockedbyclient")
            return
        fetcher = await self.playwright.request.new_context(**self.fetch_options)
        try:
            try:
                response = await fetcher.fetch(request, max_redirects=0, timeout=timeout_ms)
                body = await response.body()
            except PlaywrightError:
                await route.abort("failed")
                return
            headers = {h["name"]: h["value"] for h in response.headers_array
                       if h["name"].lower() not in ("set-cookie", "content-length", "content-encoding",
                                                    "transfer-encoding")}
            await route.fulfill(status=response.status, headers=headers, body=body)
        finally:
            await fetcher.dispose()


def chain_of(rec: Recorder) -> list[Hop]:
    hops: list[Hop] = []
    for response in rec.nav_responses:
        if not hops:
            via = "start"
        else:
            prev = hops[-1]
            prev_resp = rec.nav_responses[len(hops) - 1]
            if prev.status is not None and 300 <= prev.status < 400:
                via = "http-redirect"
            elif _safe_header(prev_resp, "refresh"):
                via = "refresh-header"
            else:
                via = "script-or-meta"
        hops.append(Hop(response.url, response.status, via))
    return hops[:MAX_LIST]


def _safe_header(response: Any, name: str) -> str | None:
    try:
        return response.headers.get(name)
    except Exception:  # noqa: BLE001 - a closed response
        return None


async def http_cookie_names(rec: Recorder) -> set[str]:
    """Cookies the navigations set with Set-Cookie headers (the rest were written by script)."""
    async def headers(response: Any) -> list[dict[str, str]]:
        try:
            return await response.headers_array()
        except Exception:  # noqa: BLE001 - a response that went away
            return []

    names: set[str] = set()
    for found in await asyncio.gather(*(headers(r) for r in rec.nav_responses)):
        for h in found:
            if h["name"].lower() == "set-cookie":
                names.add(h["value"].split("=", 1)[0].strip())
    return names


def first_line(text: str, limit: int = 300) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line[:limit]


def _frame(message: Any) -> Any:
    """The frame of a request or response, or None: Playwright raises for the navigation request of a
    popup (``window.open``), whose frame does not exist yet (a new user saw its traceback for each)."""
    try:
        return message.frame
    except Exception:  # playwright's Error: "Frame for this navigation request is not available"
        return None
