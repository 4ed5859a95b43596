"""`diagnose cookie`: real Chromium against local pages on 127.0.0.1 (no mocked pages).

One shared browser for the module (tests/browser_fixtures.py); each page is its own route on one
local site serving the stand-in PartnerStackJS at /pr/js.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from browser_fixtures import OTHER_PK, PK, StallingServer, html, snippet
from click.testing import CliRunner

from diagnose.checks.cookie import Hop, check_cookie, check_cookie_many, check_cookie_policies, itp_cap, site_of
from diagnose.core.partnerstack import encode_partner_key
from diagnose.demo.site import Page, redirect, static_text
from diagnose.core.evidence import CheckResult
from diagnose.web.fetch import NetPolicy

POLICY = NetPolicy(timeout=5.0, allow_private=True)
KEY = "5c38dddbf7fc"
QUERY = f"?gspk={encode_partner_key(KEY)}&ps_partner_key={encode_partner_key(KEY)}&gsxid=iQqEHkZ75A3aju"


def run(session, url, **kw):
    kw.setdefault("net_policy", POLICY)
    result = check_cookie(url, session=session, **kw)
    # every result survives the JSON round trip
    assert CheckResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    return result


def page(site, path, body_html):
    site.add(path, Page(body_html))
    return site.url(path)


# -- the site of a host: the Public Suffix List (no browser) ---------------------------------------


@pytest.mark.parametrize("host,site", [
    ("user.github.io", "user.github.io"), ("a.b.user.github.io", "user.github.io"),
    ("a.example.co.uk", "example.co.uk"), ("example.co.uk", "example.co.uk"), ("www.example.com", "example.com"),
    ("WWW.Example.COM.", "example.com"), ("www.shop.localhost", "shop.localhost"),
    ("github.io", "github.io"), ("co.uk", "co.uk"), ("localhost", "localhost"),
    ("127.0.0.1", "127.0.0.1"), ("10.1.2.3", "10.1.2.3"), ("::1", "::1"), ("2001:db8::1", "2001:db8::1"), ("", ""),
])
def test_site_of_uses_the_public_suffix_list(host, site):
    assert site_of(host) == site


def test_two_github_pages_are_two_sites():
    assert site_of("user.github.io") != site_of("other.github.io")
    # so ITP sees a redirect from one to the other as a cross-site redirector (24 hours)
    chain = [Hop("https://user.github.io/go", 302, "start"), Hop(f"https://other.github.io/{QUERY}", 200, "http-redirect")]
    assert itp_cap(chain, chain[-1].url)[0] == 1.0
    same = [Hop("https://www.example.co.uk/go", 302, "start"), Hop(f"https://shop.example.co.uk/{QUERY}", 200, "x")]
    assert itp_cap(same, same[-1].url)[0] == 7.0


def test_the_public_suffix_list_is_read_from_the_package(monkeypatch):
    import socket

    from diagnose.checks.cookie import rfc6265

    def no_network(*a, **k):
        raise AssertionError("the Public Suffix List must not be downloaded")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    rfc6265._public_suffixes.cache_clear()
    assert site_of("a.example.co.uk") == "example.co.uk"


# -- a healthy first visit ---------------------------------------------------------------------


def test_healthy_visit_through_a_redirect_chain(browser_session, ps_site, tmp_path):
    land = page(ps_site, "/ok", html(snippet()))
    ps_site.add("/ok-js", Page(html("<script>location.replace('/ok" + QUERY + "')</script>")))
    ps_site.add("/ok-link", redirect("/ok-js"))
    har = tmp_path / "session.har"
    r = run(browser_session, ps_site.url("/ok-link"), expect_key=PK, screenshot_dir=tmp_path, har=har,
            signup_url=ps_site.url("/signup"))
    assert r.status == "pass", r.problems
    ev = r.evidence
    assert ev.final_url == land + QUERY
    assert [h.via for h in ev.chain] == ["start", "http-redirect", "script-or-meta"]
    assert ev.chain[0].status == 302
    assert ev.url_partner_key == KEY
    pc = ev.partner_cookie
    assert pc.name == "growSumoPartnerKey" and pc.value == KEY and pc.matches_url_key
    assert 89.5 < pc.expires_days <= 90 and pc.effective_days == pc.expires_days and not pc.simulated
    assert {c.name for c in ev.cookies} >= {"growSumoPartnerKey", "ps_partner_key", "gsxid", "ps_xid"}
    assert ev.growsumo.loaded and ev.growsumo.initialize_called and ev.growsumo.public_key == PK
    assert ev.growsumo.data_partner_key == KEY and ev.growsumo.data_intact
    assert ev.snippet.in_dom and ev.snippet.how == "static" and ev.snippet.in_head
    assert ev.signup.readable
    assert Path(ev.screenshot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert har.exists() and "/ok-link" in har.read_text()
    d = r.to_dict()
    assert d["check"] == "cookie" and d["status"] == "pass" and d["policy"] == "chromium"
    assert set(d["partner_cookie"]) >= {"name", "value", "domain", "path", "expires_days", "same_site",
                                        "secure", "http_only"}
    assert set(d["growsumo"]) >= {"loaded", "public_key", "data_partner_key", "data_intact"}
    assert isinstance(d["cookies"], list) and "screenshot" in d and "final_url" in d


def test_late_script_redirect_and_meta_refresh_are_followed(browser_session, ps_site):
    land = page(ps_site, "/late-land", html(snippet()))
    ps_site.add("/late-meta", Page(html(f'<meta http-equiv="refresh" content="0.4; url=/late-land{QUERY}">')))
    ps_site.add("/late-js", Page(html("<script>setTimeout(function(){ location.href = '/late-meta' }, 400)</script>")))
    r = run(browser_session, ps_site.url("/late-js"))
    assert r.status == "pass", r.problems
    assert [h.url for h in r.evidence.chain] == [ps_site.url("/late-js"), ps_site.url("/late-meta"), land + QUERY]
    assert r.evidence.partner_cookie.value == KEY


def test_snippet_injected_at_runtime_is_found(browser_session, ps_site):
    # the server's HTML has no snippet: an external app bundle adds it after DOMContentLoaded
    # (React useEffect / dangerouslySetInnerHTML style)
    inline = snippet().split(">", 1)[1].rsplit("</script>", 1)[0]
    bundle = """document.addEventListener('DOMContentLoaded', function () {
      setTimeout(function () {
        var s = document.createElement('script');
        s.text = %s;
        document.head.appendChild(s);
      }, 30);
    });""" % json.dumps(inline)
    ps_site.add("/static/app.js", Page(bundle, content_type="application/javascript"))
    url = page(ps_site, "/spa", html('<script src="/static/app.js"></script>', body="<div id=root></div>"))
    r = run(browser_session, url + QUERY)
    assert r.status == "pass", r.problems
    assert r.evidence.snippet.how == "injected"
    assert r.evidence.snippet.injected_by
    assert r.evidence.growsumo.public_key == PK
    assert r.evidence.partner_cookie.value == KEY


# -- problem codes -----------------------------------------------------------------------------


def test_no_snippet(browser_session, ps_site):
    url = page(ps_site, "/bare", html())
    r = run(browser_session, url + QUERY)
    assert r.has("snippet-not-loaded") and r.has("no-partner-cookie")
    assert r.evidence.partner_cookie is None and not r.evidence.growsumo.loaded
    assert not r.evidence.snippet.in_dom


def test_snippet_script_failed(browser_session, ps_site):
    url = page(ps_site, "/s404", html(snippet(src="/pr/js/missing")))
    r = run(browser_session, url + QUERY)
    assert r.has("snippet-script-failed") and r.has("no-partner-cookie")
    assert not r.has("snippet-not-loaded")
    failed = [f for f in r.evidence.failed_requests if f.snippet]
    assert failed and failed[0].status == 404


def test_cookie_value_mismatch(browser_session, ps_site):
    body = "<script>function growsumoInit(){document.cookie='growSumoPartnerKey=someoneelse; max-age=7776000; path=/';}</script>"
    url = page(ps_site, "/mismatch", html(body + snippet()))
    r = run(browser_session, url + QUERY)
    assert r.codes() == ["cookie-value-mismatch"]
    assert r.evidence.partner_cookie.value == "someoneelse"
    assert r.evidence.partner_cookie.matches_url_key is False


def test_cookie_lifetime_short(browser_session, ps_site):
    body = ("<script>function growsumoInit(){document.cookie='growSumoPartnerKey='+growsumo.data.partner_key"
            "+'; max-age=' + 30*86400 + '; path=/';}</script>")
    url = page(ps_site, "/short", html(body + snippet()))
    r = run(browser_session, url + QUERY)
    assert r.codes() == ["cookie-lifetime-short"]
    assert 29 < r.evidence.partner_cookie.expires_days <= 30


def test_growsumo_data_overwritten(browser_session, ps_site):
    body = "<script>function growsumoInit(){ growsumo.data = {email: '', name: 'Site code'}; }</script>"
    url = page(ps_site, "/overwrite", html(body + snippet()))
    r = run(browser_session, url + QUERY)
    assert r.has("growsumo-data-overwritten"), r.problems
    assert r.evidence.growsumo.data_intact is False
    assert r.evidence.growsumo.data_partner_key_after_init == KEY
    assert any("growsumo.data" in x for x in r.evidence.growsumo.replaced_by)
    assert r.evidence.partner_cookie is not None  # the cookie itself is fine


def test_growsumo_replaced_whole(browser_session, ps_site):
    body = "<script>function growsumoInit(){ window.growsumo = {data: {email: 'x@example.com'}}; }</script>"
    url = page(ps_site, "/replaced", html(body + snippet()))
    r = run(browser_session, url + QUERY)
    assert r.codes() == ["growsumo-data-overwritten"]
    assert r.evidence.growsumo.replaced_by[0].startswith("growsumo replaced")


def test_initialized_with_other_key(browser_session, ps_site):
    url = page(ps_site, "/otherkey", html(snippet(OTHER_PK)))
    r = run(browser_session, url + QUERY, expect_key=PK)
    assert r.codes() == ["initialized-with-other-key"]
    assert r.evidence.growsumo.public_key == OTHER_PK


def test_initialized_with_unrendered_template(browser_session, ps_site):
    url = page(ps_site, "/template", html(snippet("{{ ps_key }}")))
    r = run(browser_session, url + QUERY)
    assert r.has("initialized-with-invalid-key")


def test_consent_gated(browser_session, ps_site):
    cmp = "<script>window.Cookiebot = {consent: {marketing: false}};</script>"
    gated = snippet(script_type="text/plain", extra='data-cookieconsent="marketing"')
    url = page(ps_site, "/consent", html(cmp + gated))
    r = run(browser_session, url + QUERY)
    assert r.has("consent-gated") and r.has("no-partner-cookie")
    assert [c.name for c in r.evidence.consent_managers] == ["Cookiebot"]
    assert r.evidence.snippet.script_type == "text/plain"
    assert r.evidence.partner_cookie_before_consent is False


def test_consent_manager_present_but_cookie_set_first(browser_session, ps_site):
    cmp = "<script>window.OneTrust = {};</script>"
    url = page(ps_site, "/consent-ok", html(cmp + snippet()))
    r = run(browser_session, url + QUERY)
    assert r.status == "pass", r.problems
    assert r.evidence.partner_cookie_before_consent is True


def test_cookie_not_readable_at_signup_on_another_host(browser_session, ps_site):
    url = page(ps_site, "/www-land", html(snippet()))
    www = url.replace("127.0.0.1", "www.shop.localhost")
    signup = ps_site.url("/signup", host="app.shop.localhost")
    r = run(browser_session, www + QUERY, signup_url=signup)
    assert r.evidence.partner_cookie.domain == "www.shop.localhost"
    assert r.codes() == ["cookie-not-readable-at-signup"]
    assert "host-only" in r.evidence.signup.reason
    # the same host is fine
    ok = run(browser_session, www + QUERY, signup_url=ps_site.url("/signup", host="www.shop.localhost"))
    assert ok.status == "pass" and ok.evidence.signup.readable


def test_no_cookies_policy(browser_session, ps_site):
    url = page(ps_site, "/nc", html(snippet()))
    r = run(browser_session, url + QUERY, browser_policy="no-cookies")
    assert r.has("no-partner-cookie")
    assert "growSumoPartnerKey" in r.evidence.cookie_writes_blocked
    assert r.evidence.cookies == ()


def test_no_cookies_policy_strips_http_cookies(browser_session, ps_site):
    ps_site.add("/setcookie", Page(html(snippet()), headers=(("Set-Cookie", "session=abc; Path=/"),)))
    url = ps_site.url("/setcookie")
    assert "session" in {c.name for c in run(browser_session, url + QUERY).evidence.cookies}
    assert run(browser_session, url + QUERY, browser_policy="no-cookies").evidence.cookies == ()


def test_safari_itp_seven_days(browser_session, ps_site):
    url = page(ps_site, "/itp", html(snippet()))
    r = run(browser_session, url + QUERY, browser_policy="safari-itp")
    assert r.codes() == ["cookie-lifetime-short"]
    ev = r.evidence
    assert ev.simulated and "simulation on Chromium, not Safari" in ev.note
    assert ev.partner_cookie.effective_days == 7.0 and ev.partner_cookie.simulated
    assert ev.partner_cookie.expires_days > 89


def test_safari_itp_24_hours_after_cross_site_redirector(browser_session, ps_site):
    url = page(ps_site, "/itp24", html(snippet()))
    landing = url.replace("127.0.0.1", "www.shop.localhost") + QUERY
    ps_site.add("/go", redirect(landing))
    link = ps_site.url("/go", host="acme.partnerlinks.localhost")
    r = run(browser_session, link, browser_policy="safari-itp")
    assert r.evidence.itp_cap_days == 1.0 and "24 hours" in r.evidence.itp_cap_reason
    assert r.evidence.partner_cookie.effective_days == 1.0
    assert r.has("cookie-lifetime-short")


def test_js_errors_are_recorded(browser_session, ps_site):
    url = page(ps_site, "/jserr", html(snippet() + "<script>undefinedFunction()</script>"))
    r = run(browser_session, url + QUERY)
    assert r.status == "pass"
    assert any("undefinedFunction" in e for e in r.evidence.js_errors)


def test_no_partner_key_in_url(browser_session, ps_site):
    url = page(ps_site, "/nokey", html(snippet()))
    r = run(browser_session, url)
    assert r.has("no-partner-key-in-url") and r.has("no-partner-cookie")
    assert r.evidence.growsumo.initialize_called


def test_private_network_refused_by_default(browser_session, ps_site):
    url = page(ps_site, "/private", html(snippet()))
    r = check_cookie(url + QUERY, session=browser_session, net_policy=NetPolicy(timeout=5.0))
    assert r.codes() == ["private-network"]


# -- time limits: --timeout bounds the whole check (navigation, settling, reading the page) ----------
# Bounds are generous (2 cores, shared browser); before the fix a silent server took ~10 s at --timeout 2.
SLOW = NetPolicy(timeout=2.0, allow_private=True)
SLOW_BOUND_S = 6.0


def timed(session, url, **kw):
    started = time.monotonic()
    result = run(session, url, **kw)
    return result, time.monotonic() - started


def test_a_server_that_never_answers_is_a_timeout(browser_session, ps_site):
    with StallingServer() as silent:
        r, took = timed(browser_session, silent.url("/land") + QUERY, net_policy=SLOW)
        assert silent.connections  # the browser did connect
    assert r.status == "error" and r.codes() == ["timeout"], r.problems
    assert r.problem("timeout").message == "no answer from 127.0.0.1 within 2 s"  # as `diagnose link` says
    assert took < SLOW_BOUND_S, took


def test_a_redirect_to_a_silent_landing_page_is_a_timeout(browser_session, ps_site):
    with StallingServer() as silent:
        link = ps_site.add("/to-silent", redirect(silent.url("/land") + QUERY))
        r, took = timed(browser_session, link, net_policy=SLOW)
    assert r.codes() == ["timeout"], r.problems
    assert [(h.url, h.status) for h in r.evidence.chain] == [(link, 302)]  # where the time went
    assert took < SLOW_BOUND_S, took


def test_a_page_still_arriving_is_a_timeout(browser_session, ps_site):
    # headers and the start of the page (the snippet included), then nothing
    head = html(snippet()).split("</head>")[0].encode()
    start = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n" + head
    with StallingServer(start) as stalling:
        r, took = timed(browser_session, stalling.url("/land") + QUERY, net_policy=SLOW)
    assert r.codes() == ["timeout"], r.problems
    assert "127.0.0.1 was still sending the page after 2 s" in r.problem("timeout").message
    assert took < SLOW_BOUND_S, took


def test_a_script_redirect_to_a_silent_page_is_a_timeout(browser_session, ps_site):
    # the first page loads, then sends the browser on to a server that never answers: the
    # interstitial must not be inspected as if it were the landing page
    with StallingServer() as silent:
        url = page(ps_site, "/js-to-silent", html(f"<script>location.href = '{silent.url('/land') + QUERY}'</script>"))
        r, took = timed(browser_session, url, net_policy=SLOW)
    assert r.codes() == ["timeout"], r.problems
    assert r.evidence.chain[0].url == url
    assert took < SLOW_BOUND_S, took


def test_a_silent_image_is_not_a_slow_server(browser_session, ps_site):
    # the page arrived; only an image hangs, so the load event never comes: inspected as it was
    with StallingServer() as silent:
        url = page(ps_site, "/silent-img", html(snippet(), body=f'<img src="{silent.url("/pixel.gif")}">'))
        r, took = timed(browser_session, url + QUERY, net_policy=SLOW)
    assert r.codes() == ["page-timeout", "page-not-settled"], r.problems
    assert r.problem("page-timeout").severity == "warn"
    assert r.evidence.partner_cookie.value == KEY
    assert took < SLOW_BOUND_S + 3, took  # + reading the page


def test_a_slow_page_within_the_timeout_is_checked(browser_session, ps_site):
    url = ps_site.add("/slowish", Page(html(snippet()), delay=0.8))
    r = run(browser_session, url + QUERY, net_policy=SLOW)
    assert r.status == "pass", r.problems


def test_cli_timeout_bounds_the_browser_check(browser_session, monkeypatch):
    from diagnose.cli import cli

    monkeypatch.setenv("DIAGNOSE_BROWSER", browser_session.executable)
    with StallingServer() as silent:
        started = time.monotonic()
        out = CliRunner().invoke(cli, ["cookie", silent.url("/land") + QUERY, "--timeout", "2", "--json",
                                       "--allow-private-network", "--no-screenshot"])
        took = time.monotonic() - started
    assert out.exit_code == 3, out.output  # could not be gathered
    data = json.loads(out.output)
    assert [p["code"] for p in data["problems"]] == ["timeout"]
    assert took < SLOW_BOUND_S + 4, took  # + launching a browser of its own


def test_hard_deadline_on_a_busy_page(browser_session, ps_site):
    # the page loads, then its scripts hang: that is the page, not the server
    url = page(ps_site, "/busy", html("<script>setTimeout(function(){ while (true) {} }, 50)</script>"))
    r, took = timed(browser_session, url, net_policy=NetPolicy(timeout=1.0, allow_private=True))
    assert r.status == "error"
    assert r.codes() == ["page-unresponsive"], r.problems
    assert took < 10, took
    # the shared browser still works afterwards
    ok = page(ps_site, "/after-busy", html(snippet()))
    assert run(browser_session, ok + QUERY).status == "pass"


@pytest.mark.parametrize("timeout", [2.0, 3.0])
def test_a_page_whose_script_hangs_is_unresponsive_whatever_the_timeout(browser_session, ps_site, timeout):
    # served at once, then its inline script never returns: the server is done, the page hangs
    # (the load event never comes, and the busy renderer never reports the document finished)
    url = page(ps_site, f"/hang-{timeout:g}", html(body="<script>while (true) {}</script>"))
    r, took = timed(browser_session, url + QUERY, net_policy=NetPolicy(timeout=timeout, allow_private=True))
    assert r.status == "error"
    assert r.codes() == ["page-unresponsive"], r.problems
    assert r.evidence.final_url == url + QUERY and r.evidence.chain[0].status == 200
    assert took < timeout + SLOW_BOUND_S - SLOW.timeout, took  # the bound of the other time limits
    ok = page(ps_site, "/after-hang", html(snippet()))
    assert run(browser_session, ok + QUERY).status == "pass"  # the shared browser still works


def test_all_policies_share_one_browser(browser_session, ps_site, tmp_path):
    url = page(ps_site, "/all", html(snippet()))
    results = check_cookie_policies(url + QUERY, ["all"], session=browser_session, net_policy=POLICY,
                                    har=tmp_path / "x.har")
    assert [r.evidence.policy for r in results] == ["chromium", "no-cookies", "safari-itp"]
    assert [r.status for r in results] == ["pass", "fail", "fail"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x-chromium.har", "x-no-cookies.har", "x-safari-itp.har"]


def test_many_pages_concurrently(browser_session, ps_site):
    urls = [page(ps_site, f"/many{i}", html(snippet())) + f"?gspk={encode_partner_key(f'p{i}')}" for i in range(4)]
    results = check_cookie_many(urls, session=browser_session, net_policy=POLICY, concurrency=2)
    assert [r.evidence.partner_cookie.value for r in results] == [f"p{i}" for i in range(4)]


# -- browser discovery and the CLI ---------------------------------------------------------------


def test_browser_unavailable_is_a_result(ps_site, monkeypatch):
    r = check_cookie(ps_site.url("/ok"), browser_path="/nonexistent/chrome", net_policy=POLICY)
    assert r.status == "error" and r.codes() == ["browser-unavailable"]


def test_cli_exit_3_when_no_browser(monkeypatch):
    from diagnose.web import browser
    from diagnose.cli import cli

    monkeypatch.delenv("DIAGNOSE_BROWSER", raising=False)
    monkeypatch.setattr(browser, "playwright_chromium", lambda: None)
    monkeypatch.setattr(browser, "SYSTEM_BROWSERS", ())
    result = CliRunner().invoke(cli, ["cookie", "https://example.com/?gspk=Z3N0ZXN0"])
    assert result.exit_code == 3
    assert "playwright install chromium" in result.output and "apt-get install chromium" in result.output


def test_cli_json(browser_session, ps_site, tmp_path, monkeypatch):
    from diagnose.cli import cli

    url = page(ps_site, "/cli", html(snippet()))
    monkeypatch.setenv("DIAGNOSE_BROWSER", browser_session.executable)
    out = CliRunner().invoke(cli, ["cookie", url + QUERY, "--allow-private-network", "--json",
                                   "--screenshot-dir", str(tmp_path), "--expect-key", PK, "--policy", "all"])
    assert out.exit_code == 1, out.output
    data = json.loads(out.output)
    assert data["status"] == "fail"
    assert [r["policy"] for r in data["results"]] == ["chromium", "no-cookies", "safari-itp"]
    chromium = data["results"][0]
    assert chromium["check"] == "cookie" and chromium["status"] == "pass"
    assert chromium["partner_cookie"]["value"] == KEY
    assert Path(chromium["screenshot"]).exists()
    assert data["results"][2]["simulated"] is True


def test_cli_rejects_bad_expect_key():
    from diagnose.cli import cli

    out = CliRunner().invoke(cli, ["cookie", "https://example.com/", "--expect-key", "pk_short"])
    assert out.exit_code == 2


def test_private_network_rule_inside_the_browser(browser_session, ps_site, monkeypatch):
    """Requests from a 'public' page to a private address are aborted by the route handler:
    sub-resources, WebSockets, *.localhost names, and redirects (which Playwright routes only
    for the first request of a chain)."""
    from diagnose.web import policy
    from diagnose.demo.site import LocalSite, redirect

    monkeypatch.setattr(policy, "is_public_address", lambda address: address == "127.0.0.2")  # the "internet"
    private = ps_site.url("/internal-admin")
    sneaky = private.replace("127.0.0.1", "admin.localhost")
    probe = (f'<img src="{private}"><img src="{sneaky}"><script>try {{ new WebSocket("{private.replace("http", "ws")}") }}'
             "catch (e) {}</script>")
    with LocalSite(host="127.0.0.2") as public:
        public.add("/pr/js", Page(static_text("partnerstack.js"), content_type="application/javascript"))
        url = public.add("/public-page", Page(html(snippet(), body=probe)))
        r = check_cookie(url + QUERY, session=browser_session, net_policy=NetPolicy(timeout=5.0))
        assert r.has("private-network") and r.problem("private-network").severity == "warn"
        assert private in r.evidence.blocked_private and sneaky in r.evidence.blocked_private
        assert any(u.startswith("ws://") for u in r.evidence.blocked_private)
        assert r.evidence.partner_cookie.value == KEY  # the page itself was checked

        # a public link that redirects into the private network is stopped at the redirect
        hop = public.add("/r", redirect(ps_site.url("/land") + QUERY))
        page(ps_site, "/land", html(snippet()))
        r = check_cookie(hop, session=browser_session, net_policy=NetPolicy(timeout=5.0))
        assert r.problem("private-network").severity == "fail"  # the page itself was refused
        assert r.evidence.partner_cookie is None
    assert not any(h.startswith(("/internal-admin", "/land")) for h in ps_site.hits)
