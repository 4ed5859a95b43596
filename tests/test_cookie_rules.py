"""Pure parts of the cookie check: RFC 6265 matching, ITP caps, consent managers."""

from __future__ import annotations

import pytest

from diagnose.checks.cookie import (
    Cookie, Hop, consent_managers, itp_cap, path_match, readable_at, site_of,
)


def cookie(domain="www.example.com", path="/", secure=False, http_only=False):
    return Cookie("growSumoPartnerKey", "abc", domain, path, 90.0, http_only, secure, "Lax")


@pytest.mark.parametrize("req,cp,ok", [
    ("/", "/", True), ("/app", "/", True), ("/app/signup", "/app", True), ("/app", "/app", True),
    ("/application", "/app", False), ("/signup", "/app", False), ("/app/x", "/app/", True),
])
def test_path_match(req, cp, ok):
    assert path_match(req, cp) is ok


def test_host_only_cookie_not_sent_to_sibling_host():
    ok, reason = readable_at(cookie(), "https://app.example.com/signup")
    assert not ok and "host-only" in reason and "example.com" in reason


def test_domain_cookie_sent_to_subdomains():
    assert readable_at(cookie(".example.com"), "https://app.example.com/signup")[0]
    assert readable_at(cookie(".example.com"), "https://example.com/")[0]
    assert not readable_at(cookie(".example.com"), "https://example.org/")[0]
    assert not readable_at(cookie(".example.com"), "https://badexample.com/")[0]


def test_path_secure_and_httponly():
    assert not readable_at(cookie(path="/pricing"), "https://www.example.com/signup")[0]
    assert not readable_at(cookie(secure=True), "http://www.example.com/signup")[0]
    assert readable_at(cookie(secure=True), "https://www.example.com/signup")[0]
    ok, reason = readable_at(cookie(http_only=True), "https://www.example.com/signup")
    assert not ok and "HttpOnly" in reason


def test_site_of():
    assert site_of("www.example.com") == "example.com"
    assert site_of("app.shop.co.uk") == "shop.co.uk"
    assert site_of("127.0.0.1") == "127.0.0.1"


def test_itp_caps():
    same = [Hop("https://get.example.com/jane", 302, "start"), Hop("https://www.example.com/?gspk=x", 200, "http-redirect")]
    assert itp_cap(same, same[-1].url)[0] == 7.0
    cross = [Hop("https://acme.partnerlinks.io/jane", 302, "start"), Hop("https://www.example.com/?gspk=x", 200, "http-redirect")]
    days, reason = itp_cap(cross, cross[-1].url)
    assert days == 1.0 and "partnerlinks.io" in reason
    undecorated = [cross[0], Hop("https://www.example.com/", 200, "http-redirect")]
    assert itp_cap(undecorated, undecorated[-1].url)[0] == 7.0


def test_consent_managers_by_host_and_global():
    found = consent_managers(["cdn.cookielaw.org", "js.partnerstack.com"], ["__tcfapi"])
    assert [c.name for c in found] == ["OneTrust"]
    assert [c.name for c in consent_managers([], ["__tcfapi"])] == ["IAB TCF CMP"]
    assert [c.name for c in consent_managers(["consent.cookiebot.com"], [])] == ["Cookiebot"]
    assert consent_managers(["example.com"], []) == []
