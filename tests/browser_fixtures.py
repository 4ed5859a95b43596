"""Fixtures for the real-browser tests: one shared Chromium for the whole session.

Import them from a test module (``from tests.browser_fixtures import *``) or from conftest.py.
When no browser is found the tests are skipped with the reason, except when CI=true, where a
missing browser is a failure (`.ci/run` installs Debian's chromium).
"""

from __future__ import annotations

import os

import pytest

from diagnose.browser import BrowserSession, BrowserUnavailable, find_browser
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


__all__ = ["OTHER_PK", "PK", "browser_session", "html", "ps_site", "snippet"]
