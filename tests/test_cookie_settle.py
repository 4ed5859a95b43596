"""Settling a page and reading it (checks/cookie/page.py, browse.py): how often the page is read
while the browser check waits, and that what changes without the network is still seen."""

from __future__ import annotations

from pathlib import Path

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


def test_a_page_without_partnerstack_is_read_about_every_poll_max_while_it_settles(browser_session, ps_site,
                                                                                   monkeypatch):
    # no PartnerStack evidence: the quiet window is INTERSTITIAL_S (a late script redirect?), during
    # which the page is read every POLL_MAX_S, not every POLL_MIN_S (about 60 times a second)
    polls = counted_polls(monkeypatch)
    ps_site.add("/plain", Page(html()))
    r = check_cookie(ps_site.url("/plain") + QUERY, session=browser_session, net_policy=POLICY)
    assert r.has("snippet-not-loaded") and not r.has("page-not-settled")
    reads = cookie_page.INTERSTITIAL_S / cookie_page.POLL_MAX_S
    assert reads / 2 <= len(polls) <= reads + 8, polls  # (+ the one after reading, a favicon's wake-ups)


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
