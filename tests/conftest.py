"""Shared fixtures and markers.

Browser tests (marked ``browser`` automatically: they use the shared ``browser_session`` or live in a
module that drives Chromium) can be left out for a fast loop: ``python -m pytest -m "not browser"``.
"""

import pytest
from browser_fixtures import browser_session, ps_site  # noqa: F401  (shared fixtures: one browser per run)

from diagnose.demo.site import LocalSite

# Modules whose tests drive a real Chromium even without the shared session (they launch their own).
BROWSER_MODULES = {"test_browser", "test_cookie", "test_guard_proxy", "test_demo", "test_html_report"}


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: needs a real Chromium (leave out with -m 'not browser')")


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        if "browser_session" in getattr(item, "fixturenames", ()) or module in BROWSER_MODULES:
            item.add_marker(pytest.mark.browser)


def pytest_make_parametrize_id(config, val, argname):
    """Short ids for long parameters: an id becomes PYTEST_CURRENT_TEST, which child processes inherit,
    and an environment string over 128 KB makes every subprocess fail (E2BIG) on older pytest."""
    if isinstance(val, (str, bytes)) and len(val) > 60:
        text = val if isinstance(val, str) else val.decode("latin-1")
        return f"{text[:20]!r}...{len(val)}chars".replace("\n", " ")
    return None


@pytest.fixture
def site():
    """A fresh local web site on 127.0.0.1; add routes with site.add(path, Page|callable)."""
    with LocalSite() as s:
        yield s


@pytest.fixture
def local_policy():
    from diagnose.web.policy import NetPolicy

    return NetPolicy(timeout=2.0, allow_private=True)
