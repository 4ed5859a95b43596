"""Settling a page and reading it (checks/cookie/page.py, browse.py): how often the page is read
while the browser check waits, and that what changes without the network is still seen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_fixtures import PK, html, snippet

from diagnose.checks.cookie import check_cookie
from diagnose.checks.cookie import page as cookie_page
from diagnose.core.partnerstack import encode_partner_key
from diagnose.demo.site import Page, static_text
from diagnose.web.fetch import NetPolicy

POLICY = NetPolicy(timeout=5.0, allow_private=True)
KEY = "5c38dddbf7fc"
QUERY = f"?gspk={encode_partner_key(KEY)}&ps_partner_key={encode_partner_key(KEY)}&gsxid=iQqEHkZ75A3aju"


def counted_polls(monkeypatch):
    polls: list[int] = []
    poll = cookie_page._poll

    async def counting(page, wait):
        polls.append(1)
        return await poll(page, wait)

    monkeypatch.setattr(cookie_page, "_poll", counting)
    return polls


def timed_settling(monkeypatch):
    """How long each visit's settling took (s)."""
    import time

    from diagnose.checks.cookie import browse

    took: list[float] = []
    settle = browse.settle

    async def timed(*args, **kwargs):
        started = time.monotonic()
        try:
            return await settle(*args, **kwargs)
        finally:
            took.append(time.monotonic() - started)

    monkeypatch.setattr(browse, "settle", timed)
    return took


def test_a_page_where_something_may_still_run_is_read_about_every_poll_max(browser_session, ps_site, monkeypatch):
    # no PartnerStack evidence and a timer running: the quiet window is INTERSTITIAL_S (a late script
    # redirect?), during which the page is read every POLL_MAX_S, not every POLL_MIN_S (~60 a second)
    polls = counted_polls(monkeypatch)
    ps_site.add("/ticking", Page(html("<script>setInterval(function () {}, 250)</script>")))
    r = check_cookie(ps_site.url("/ticking") + QUERY, session=browser_session, net_policy=POLICY)
    assert r.has("snippet-not-loaded") and not r.has("page-not-settled")
    reads = cookie_page.INTERSTITIAL_S / cookie_page.POLL_MAX_S
    assert reads / 2 <= len(polls) <= reads + 8, polls  # (+ the one after reading, a favicon's wake-ups)


def test_a_page_where_nothing_can_run_any_more_settles_after_the_quiet_window(browser_session, ps_site,
                                                                            monkeypatch):
    took = timed_settling(monkeypatch)
    ps_site.add("/inert", Page(html()))
    ps_site.add("/waiting", Page(html("<script>setTimeout(function () {}, 5000)</script>")))
    ps_site.add("/animated", Page(html(
        "<style>@keyframes f { from { opacity: 0 } to { opacity: 1 } }</style>",
        body="<h1 style='animation: f 0.4s infinite'>Welcome</h1>")))
    for path in ("/inert", "/waiting", "/animated"):
        r = check_cookie(ps_site.url(path) + QUERY, session=browser_session, net_policy=POLICY)
        assert r.has("snippet-not-loaded") and not r.has("page-not-settled"), (path, r.problems)
    inert, waiting, animated = took
    # a timer due after INTERSTITIAL_S cannot act within the window either: the same quiet window
    assert inert < cookie_page.INTERSTITIAL_S - 0.3 and waiting < cookie_page.INTERSTITIAL_S - 0.3, took
    # a running animation's events may still do something: the full window, counted from the page's
    # last network activity, which can come a few ms before settling starts (CI: 0.997 s)
    assert animated >= cookie_page.INTERSTITIAL_S - 0.1, took


@pytest.mark.parametrize("late", [
    "setTimeout(function () { location.href = TARGET }, 700)",
    "setTimeout('location.href = TARGET', 700)",  # code as a string: nothing is known about it
    "var n = 0; setInterval(function () { if (++n == 7) location.href = TARGET }, 100)",
    "requestAnimationFrame(function go(t) { if (t < 700) requestAnimationFrame(go); else location.href = TARGET })",
    "document.body.addEventListener('animationend', function () { location.href = TARGET })",
])
def test_what_the_page_set_up_to_run_later_is_waited_for(browser_session, ps_site, late):
    land = ps_site.url("/landing-late")
    ps_site.add("/landing-late", Page(html(snippet())))
    animation = "<style>@keyframes f { from { opacity: 0 } to { opacity: 1 } } body { animation: f 0.7s }</style>"
    script = f"<script>var TARGET = {json.dumps(land + QUERY)};</script><script>{late}</script>"
    ps_site.add("/later", Page(html(animation + script if "animationend" in late else script,
                                    body="<h1>One moment</h1>" + (f"<script>{late}</script>" if "animationend" in late else ""))))
    r = check_cookie(ps_site.url("/later"), session=browser_session, net_policy=POLICY, expect_key=PK)
    assert r.evidence.final_url == land + QUERY, (late, r.problems)
    assert r.evidence.partner_cookie is not None and r.evidence.partner_cookie.value == KEY


def test_what_a_script_changes_without_the_network_is_seen(browser_session, ps_site):
    # growsumo defined and initialised by an inline timer: no request tells the check, only reading
    # the page does; the quiet window then starts again and the cookie written is read
    stand_in = static_text("partnerstack.js")
    late = f"<script>setTimeout(function () {{ {stand_in}; growsumo._initialize('{PK}'); }}, 600)</script>"
    ps_site.add("/late-inline", Page(html(late)))
    r = check_cookie(ps_site.url("/late-inline") + QUERY, session=browser_session, net_policy=POLICY,
                     expect_key=PK)
    assert r.evidence.growsumo.initialize_called and r.evidence.growsumo.public_key == PK, r.problems
    assert r.evidence.partner_cookie is not None and r.evidence.partner_cookie.value == KEY


def test_every_reading_of_the_settled_page_is_kept(browser_session, ps_site, tmp_path):
    # the page's state, the cookies (also as the signup page gets them), the server's HTML and the
    # screenshot are read at once
    ps_site.add("/read", Page(html(snippet())))
    r = check_cookie(ps_site.url("/read") + QUERY, session=browser_session, net_policy=POLICY,
                     screenshot_dir=tmp_path, signup_url=ps_site.url("/signup"), expect_key=PK)
    assert r.status == "pass", r.problems
    ev = r.evidence
    assert Path(ev.screenshot).parent == tmp_path and Path(ev.screenshot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ev.signup.readable and ev.partner_cookie.value == KEY
    assert ev.snippet.in_dom and ev.snippet.how == "static"  # "static": found in the server's HTML too
    assert ev.growsumo.public_key == PK and {c.name for c in ev.cookies} >= {"growSumoPartnerKey", "gsxid"}


def test_the_page_s_timers_work_as_without_the_check(browser_session, ps_site):
    # the init script counts the page's timers and frames: they still behave as the page expects
    probe = """<script>
      var out = [], id = setTimeout(function () { out.push('cleared timer ran') }, 50);
      clearTimeout(id);
      setTimeout(function (a, b) { out.push('args ' + a + b) }, 10, 'x', 'y');
      setTimeout("out.push('string code')", 20);
      var n = 0, iv = setInterval(function () { if (++n == 3) { clearInterval(iv); out.push('interval x3') } }, 10);
      requestAnimationFrame(function (t) { out.push('frame ' + (typeof t)) });
      out.push(setTimeout.name + '/' + setTimeout.length + '/' + (typeof id) + '/' + (new WebSocket('ws://127.0.0.1:9') instanceof WebSocket));
      setTimeout(function () { document.title = out.sort().join('; ') }, 200);
    </script>"""
    ps_site.add("/timers", Page(html(probe)))
    r = check_cookie(ps_site.url("/timers") + QUERY, session=browser_session, net_policy=POLICY)
    assert r.evidence.page_title == "args xy; frame number; interval x3; setTimeout/1/number/true; string code", \
        r.evidence.page_title


def test_a_browser_that_dies_while_the_page_settles_is_a_browser_error_at_once(browser_session, ps_site):
    # (the batch runs such a ticket again on a new browser; waiting out the settling deadline and
    # calling the page unresponsive told it nothing of the kind)
    import threading
    import time

    from diagnose.web.browser import BrowserSession

    ps_site.add("/ticking-long", Page(html("<script>setInterval(function () {}, 100)</script>")))
    with BrowserSession(browser_session.executable) as session:
        check_cookie(ps_site.url("/ticking-long"), session=session, net_policy=POLICY)  # launched and warm
        killer = threading.Timer(0.5, session.kill)
        started = time.monotonic()
        killer.start()
        r = check_cookie(ps_site.url("/ticking-long"), session=session, net_policy=POLICY)
        took = time.monotonic() - started
        killer.join()
    assert r.codes() == ["browser-error"], r.problems
    assert took < cookie_page.MAX_SETTLE_S, took
