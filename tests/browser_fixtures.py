"""Fixtures for the real-browser tests: one shared Chromium for the whole session.

conftest.py registers the fixtures for every test module; import the helpers (PK, html, snippet, ...) directly.
When no browser is found the tests are skipped with the reason, except when CI=true, where a
missing browser is a failure (`.ci/run` installs Debian's chromium).
"""

from __future__ import annotations

import os
import socket
import threading

import pytest

from diagnose.web.browser import BrowserSession, BrowserUnavailable, find_browser
from diagnose.demo.site import LocalSite, Page, partnerstack_snippet, static_text

PK = "pk_" + "A1b2C3d4" * 4
OTHER_PK = "pk_" + "Z9y8X7w6" * 4


def snippet(public_key: str = PK, src: str = "/pr/js", script_type: str | None = None, extra: str = "") -> str:
    """The PartnerStack snippet as the reference shows it (script loaded from ``src``)."""
    attrs = " ".join(a for a in (f'type="{script_type}"' if script_type else "", extra) if a)
    return partnerstack_snippet(f"'{public_key}'", src=src, attrs=attrs)


def html(head: str = "", body: str = "<h1>Welcome</h1>", title: str = "Landing") -> str:
    return f"<!doctype html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


def _no_browser(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"no browser in CI: {reason}")
    pytest.skip(f"no browser for the real-browser tests: {reason}")


@pytest.fixture(scope="session")
def browser_session():
    try:
        if find_browser() is None:
            _no_browser("no Chromium found (playwright install chromium, or apt-get install chromium)")
    except BrowserUnavailable as exc:
        _no_browser(str(exc))
    session = BrowserSession()
    try:
        session.start()
    except BrowserUnavailable as exc:
        _no_browser(str(exc))
    yield session
    session.close()


@pytest.fixture(scope="session")
def ps_site():
    """A local site serving the stand-in PartnerStackJS at /pr/js (tests add their pages)."""
    site = LocalSite()
    site.add("/pr/js", Page(static_text("partnerstack.js"), content_type="application/javascript"))
    site.start()
    yield site
    site.close()


class StallingServer:
    """A server on 127.0.0.1 that accepts connections, sends ``head`` (nothing by default: it never
    answers; or a status line, headers and part of a body) and then keeps them open, silent."""

    def __init__(self, head: bytes = b""):
        self.head = head
        self.connections: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            self.connections.append(conn)
            if self.head:
                try:
                    conn.recv(65536)  # the request
                    conn.sendall(self.head)
                except OSError:
                    pass

    def __enter__(self) -> "StallingServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self._listener.close()
        for conn in self.connections:
            conn.close()


__all__ = ["OTHER_PK", "PK", "StallingServer", "browser_session", "html", "ps_site", "snippet"]
