"""`diagnose link` against real HTTP servers on 127.0.0.1."""

import pytest

from diagnose.checks.link import check_link
from diagnose.demo.site import Page, redirect
from diagnose.web.fetch import NetPolicy
from diagnose.web import policy

GSPK = "NWMzOGRkZGJmN2Zj"  # 5c38dddbf7fc
Q = f"gspk={GSPK}&gsxid=iQqEHkZ75A3aju&ps_partner_key={GSPK}&ps_xid=iQqEHkZ75A3aju&pscd=get.acme.example"
LANDING = "<!doctype html><html><head><title>Acme</title></head><body>" + "<p>Welcome to Acme.</p>" * 20 + "</body></html>"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_http_redirect_chain_to_landing_with_params(site, local_policy, status):
    site.add("/jane", redirect(f"/hop?x=1", status))
    site.add("/hop", redirect(f"{site.origin}/landing?{Q}", status))
    site.add("/landing", Page(LANDING))
    r = check_link(site.url("/jane"), local_policy)
    ev = r.evidence
    assert r.status == "pass", r.problems
    assert [h.kind for h in ev.hops] == ["http", "http", "final"]
    assert [h.status_code for h in ev.hops] == [status, status, 200]
    assert ev.final_url == site.url(f"/landing?{Q}")
    assert ev.partner_key == "5c38dddbf7fc"
    assert ev.click_id == "iQqEHkZ75A3aju"
    assert ev.params["pscd"] == "get.acme.example"
    assert all(h.elapsed_ms >= 0 for h in ev.hops)


def test_relative_location_headers(site, local_policy):
    site.add("/a/b", redirect("../c?" + Q))  # relative to /a/b -> /c
    site.add("/c", Page(LANDING))
    r = check_link(site.url("/a/b"), local_policy)
    assert r.evidence.final_url == site.url("/c?" + Q)
    assert r.status == "pass"


def test_meta_refresh_refresh_header_and_javascript(site, local_policy):
    site.add("/1", Page(f'<html><head><meta http-equiv="Refresh" content="0; URL=\'/2?{Q}\'"></head></html>'))
    site.add("/2", Page("", headers=(("Refresh", f"0;url=/3?{Q}"),)))
    site.add("/3", Page(f'<html><body><script>window.location.replace("/4?{Q}");</script></body></html>'))
    site.add("/4", Page(f"<script>location.href = '\\/5?{Q}'</script>"))
    site.add("/5", Page(LANDING))
    r = check_link(site.url("/1"), local_policy)
    assert [h.kind for h in r.evidence.hops] == ["meta-refresh", "refresh-header", "javascript", "javascript", "final"]
    assert r.evidence.final_url == site.url(f"/5?{Q}")
    assert r.status == "pass"


def test_script_on_a_real_page_is_not_a_redirect(site, local_policy):
    site.add("/p", Page(LANDING.replace("</body>", "<script>if(0){location.href='/x'}</script></body>") + "?" + Q))
    r = check_link(site.url("/p?" + Q), local_policy)
    assert [h.kind for h in r.evidence.hops] == ["final"]


def test_redirect_loop(site, local_policy):
    site.add("/a", redirect("/b"))
    site.add("/b", redirect("/a"))
    r = check_link(site.url("/a"), local_policy)
    assert r.codes() == ["redirect-loop"]
    assert r.status == "fail"


def test_too_many_redirects_with_a_limit(site):
    for i in range(6):
        site.add(f"/r{i}", redirect(f"/r{i + 1}"))
    site.add("/r6", Page(LANDING + "?" + Q))
    r = check_link(site.url("/r0"), NetPolicy(timeout=2, allow_private=True, max_redirects=3))
    assert "too-many-redirects" in r.codes()
    ok = check_link(site.url("/r0"), NetPolicy(timeout=2, allow_private=True, max_redirects=6))
    assert "too-many-redirects" not in ok.codes()


def test_params_dropped_mid_chain_names_the_hop(site, local_policy):
    site.add("/jane", redirect(f"/landing?{Q}"))
    site.add("/landing", redirect("/home", 301))  # e.g. a canonical-URL redirect losing the query
    site.add("/home", Page(LANDING))
    r = check_link(site.url("/jane"), local_policy)
    ev = r.evidence
    assert "params-dropped" in r.codes()
    assert "no-partner-key" not in r.codes()
    assert ev.dropped_at_hop == 2
    assert set(ev.dropped_params) == {"gspk", "gsxid", "ps_partner_key", "ps_xid", "pscd"}
    assert ev.partner_key == "5c38dddbf7fc"  # still known from where it was seen
    assert ev.params == {}
    assert "hop 2" in r.problem("params-dropped").message


def test_404_destination(site, local_policy):
    site.add("/jane", redirect(f"/gone?{Q}"))
    r = check_link(site.url("/jane"), local_policy)
    assert "http-error" in r.codes()
    assert r.evidence.hops[-1].status_code == 404


def test_no_partner_key_at_the_end(site, local_policy):
    site.add("/jane", redirect("/landing?utm_source=partner"))
    site.add("/landing", Page(LANDING))
    r = check_link(site.url("/jane"), local_policy)
    assert r.codes() == ["no-partner-key"]


def test_params_disagree_and_invalid_gspk(site, local_policy):
    site.add("/l", Page(LANDING))
    r = check_link(site.url(f"/l?gspk={GSPK}&ps_partner_key=Z3N0ZXN0&gsxid=a&ps_xid=b"), local_policy)
    assert r.codes().count("params-disagree") == 2
    r = check_link(site.url("/l?gspk=%FF%FE&gsxid=a"), local_policy)
    assert "invalid-gspk" in r.codes()


def test_slow_server_times_out(site):
    site.add("/slow", Page(LANDING, delay=1.5))
    r = check_link(site.url("/slow"), NetPolicy(timeout=0.3, allow_private=True))
    assert r.codes() == ["timeout"]
    assert r.status == "error"


def test_dripping_server_hits_the_hop_deadline(site):
    site.add("/drip", Page("x" * 400, drip=0.01))
    r = check_link(site.url("/drip"), NetPolicy(timeout=0.5, allow_private=True))
    assert r.codes() == ["timeout"]


def test_huge_body_is_capped(site):
    site.add("/big", Page("<html><body>" + "A" * 3_000_000 + "</body></html>"))
    r = check_link(site.url(f"/big?{Q}"), NetPolicy(timeout=5, allow_private=True, max_bytes=100_000))
    assert "body-truncated" in r.codes()
    assert r.evidence.completed


def test_connection_refused(local_policy):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = check_link(f"http://127.0.0.1:{port}/", local_policy)
    assert r.codes() == ["connection-error"]
    assert r.status == "error"
    assert "connection refused" in r.problems[0].message


def test_https_to_a_plain_http_server_is_said_in_words(site, local_policy):
    site.add("/l", Page(LANDING))
    r = check_link(site.url("/l").replace("http://", "https://"), local_policy)
    assert r.codes() == ["connection-error"]
    message = r.problems[0].message
    assert "does not speak HTTPS" in message
    assert "SSLError" not in message and "(" not in message


def test_private_network_is_refused_by_default(site):
    site.add("/l", Page(LANDING))
    r = check_link(site.url("/l"), NetPolicy(timeout=2))
    assert r.codes() == ["private-network"]
    assert r.status == "fail"
    assert site.hits == []  # not even one request was sent


def test_private_network_checked_at_every_hop(site, monkeypatch):
    """A public-looking first hop that redirects into the private network is stopped there."""
    import diagnose.web.fetch as net

    site.add("/l", Page(LANDING))
    real_check = net.check_host

    def fake_check(host, port, allow_private):
        if host == "public.example":
            return ["93.184.216.34"]
        return real_check(host, port, allow_private)

    def fake_fetch(session, url, policy, _real=net.fetch):
        if "public.example" in url:
            return net.Fetched(url, 302, {"location": site.url("/l")}, b"", False, 1)
        return _real(session, url, policy)

    monkeypatch.setattr(policy, "check_host", fake_check)
    monkeypatch.setattr(net, "fetch", fake_fetch)
    r = check_link("http://public.example/jane", NetPolicy(timeout=2))
    assert r.codes() == ["private-network"]
    assert len(r.evidence.hops) == 2
    assert site.hits == []


def test_peer_address_guard_catches_dns_rebinding(site, monkeypatch):
    """Even if the pre-check is fooled, the connected socket's peer address is checked."""

    site.add("/l", Page(LANDING))
    monkeypatch.setattr(policy, "check_host", lambda host, port, allow: ["93.184.216.34"])
    r = check_link(site.url("/l"), NetPolicy(timeout=2))
    assert r.codes() == ["private-network"]
    assert site.hits == []


@pytest.mark.parametrize("location", ["javascript:alert(1)", "http://[::1", "ftp://x.example/"])
def test_redirect_to_an_unusable_url(site, local_policy, location):
    site.add("/x", redirect(location))
    r = check_link(site.url("/x"), local_policy)
    assert r.codes() == ["invalid-url"]
    assert r.status == "fail"


@pytest.mark.parametrize(
    "script",
    [
        "location.href = '/land' + location.search;",
        "window.location.replace('/land' + window.location.search)",
        "document.location.assign(\"/land\" + location.search + location.hash)",
    ],
)
def test_javascript_redirect_that_keeps_the_query(site, local_policy, script):
    site.add("/js", Page(f"<html><body><script>{script}</script></body></html>"))
    site.add("/land", Page(LANDING))
    r = check_link(site.url(f"/js?{Q}"), local_policy)
    assert r.status == "pass", r.problems
    assert r.evidence.final_url == site.url(f"/land?{Q}")


def test_noscript_meta_refresh_is_not_followed(site, local_policy):
    site.add("/p", Page("<html><head><noscript><meta http-equiv='refresh' content='0;url=/nojs'></noscript>"
                        "</head><body>" + "text " * 100 + "</body></html>"))
    r = check_link(site.url(f"/p?{Q}"), local_policy)
    assert [h.kind for h in r.evidence.hops] == ["final"] and r.status == "pass"


def test_test_partner_link_is_a_warning(site, local_policy):
    site.add("/l", Page(LANDING))
    r = check_link(site.url("/l?gspk=Z3N0ZXN0&gsxid=abc"), local_policy)
    assert r.codes() == ["test-partner"] and r.status == "warn"


def test_a_redirect_without_location_is_an_error(site, local_policy):
    site.add("/r", Page("", status=301))
    assert "http-error" in check_link(site.url("/r"), local_policy).codes()


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "::1", "::ffff:127.0.0.1", "2002:7f00:1::",
                                     "2002:a00:1::", "fe80::1", "224.0.0.1", "0.0.0.0", "100.64.0.1",
                                     # counted as global by Python 3.11's is_global (issue 10):
                                     "fec0::1", "192.0.0.8", "192.88.99.1", "192.0.0.170", "3fff::1",
                                     "64:ff9b::a00:1", "64:ff9b:1::1", "2001:2::1", "5f00::1",
                                     "2001:0:4136:e378:8000:63bf:3fff:fdd2", "fe80::1%eth0"])
def test_non_public_addresses(address):
    from diagnose.web.fetch import is_public_address

    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "2002:5db8:d822::",
                                     "64:ff9b::5db8:d822", "::ffff:93.184.216.34", "192.0.0.9",
                                     "2001:4860:4860::8888"])
def test_public_addresses(address):
    from diagnose.web.fetch import is_public_address

    assert is_public_address(address)
