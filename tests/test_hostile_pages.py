"""Hostile input: nothing a page, a header or a script contains may hang `diagnose link` / `snippet`.

Each repro runs against a real server on 127.0.0.1 (or a file) with a generous time bound; before the
fixes they took from tens of seconds to hours. Work that could hang runs in a daemon thread, so a
regression fails the test instead of holding the run.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from click.testing import CliRunner
from raw_server import raw_server

from diagnose.checks.link import check_link
from diagnose.checks.snippet import analyse_html
from diagnose.cli import cli
from diagnose.core.partnerstack import key_status
from diagnose.demo.site import Page
from diagnose.web.fetch import NetPolicy, decode_html

GSPK = "NWMzOGRkZGJmN2Zj"
KEY = "pk_" + "a1" * 16
SNIPPET = f"<script src='https://js.partnerstack.com/v1/'></script><script>growsumo._initialize('{KEY}')</script>"
BOUND = 20.0  # seconds: generous (2 loaded cores); the hostile inputs took 23 s to hours before


def within(seconds, fn, *args, **kwargs):
    """fn's result, asserting it came within ``seconds`` (the work runs in a daemon thread)."""
    out: list = []
    worker = threading.Thread(target=lambda: out.append(fn(*args, **kwargs)), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    assert out, f"{getattr(fn, '__name__', fn)} still running after {seconds} s"
    return out[0], time.monotonic() - started


def run(*args):
    return CliRunner().invoke(cli, list(args))


# -- 1. Refresh header / meta refresh ----------------------------------------------------------

def test_refresh_header_full_of_spaces_is_read_at_once(site):
    site.add("/r", Page("", headers=(("Refresh", "0; url=/next" + " " * 3000 + "y"),)))
    site.add("/huge", Page("", headers=(("Refresh", "0; url=x" + " " * 60000 + "y"),)))  # near the 64 KB line cap
    site.add("/next", Page("<p>landed</p>"))
    for path in ("/r", "/huge"):
        result, _ = within(BOUND, run, "link", "--timeout", "3", "--allow-private-network", "--json",
                           site.url(path))
        assert result.exit_code != 3, result.output
        hops = json.loads(result.output)["hops"]
        assert hops[0]["kind"] == "refresh-header"


def test_meta_refresh_full_of_spaces_is_read_at_once(site, local_policy):
    site.add("/m", Page(f'<html><head><meta http-equiv="refresh" content="0; url=x{" " * 3000}y"></head></html>'))
    result, _ = within(BOUND, check_link, site.url("/m"), local_policy)
    assert result.evidence.hops[0].kind == "meta-refresh"


# -- 2. the static snippet check's _initialize( ------------------------------------------------

def _unclosed_calls(size: int) -> str:
    unit = "growsumo._initialize(" + "," * 400
    return "<html><head><script>" + unit * (size // len(unit)) + "</script></head><body></body></html>"


def test_unclosed_initialize_calls_are_read_at_once_and_are_no_snippet(tmp_path):
    (ev, problems), _ = within(BOUND, analyse_html, _unclosed_calls(64 * 1024))
    assert not ev.snippet_found and not ev.commented_out  # a half-written call is not a commented-out one
    assert [p.code for p in problems] == ["no-snippet"]
    page = tmp_path / "big.html"
    page.write_text(_unclosed_calls(2_000_000) + "<script>)</script>")
    result, _ = within(BOUND * 2, run, "snippet", "--file", str(page), "--json")
    assert result.exit_code != 3, result.output


def test_initialize_argument_rules_stay():
    ev, _ = analyse_html(f"<head><script>growsumo._initialize( '{KEY}' , {{a: 1}})</script></head>")
    assert ev.public_key == KEY and ev.public_key_status == "ok"
    ev, _ = analyse_html("<head><script>growsumo._initialize(x, y); // growsumo._initialize('z')</script></head>")
    assert ev.public_key == "x" and len(ev.instances) == 1
    ev, _ = analyse_html(f"<head><script>// growsumo._initialize('{KEY}')</script></head>")
    assert ev.commented_out and not ev.snippet_found


# -- 3. other patterns that read page text -----------------------------------------------------

def test_backslash_runs_and_placeholder_look_alikes_are_linear(site, local_policy):
    (status, _), _ = within(BOUND, key_status, '"' + "\\" * 399 + "x", None)
    assert status in ("unresolved", "placeholder")
    (status, _), _ = within(BOUND, key_status, "<" + "a" * 5000 + "x", None)
    assert status == "unresolved"
    assert key_status("'__PUBLIC__'", None)[0] == "placeholder"
    site.add("/js", Page("<script>location.href = '" + "\\" * 30000 + "</script>"))
    result, _ = within(BOUND, check_link, site.url("/js"), local_policy)
    assert [h.kind for h in result.evidence.hops] == ["final"]


def test_charset_declarations_are_looked_for_in_the_first_bytes_only():
    body = b"<meta" + b"charset=x" * 30000 + b" " * 1_000_000
    text, _ = within(BOUND, decode_html, body, None)
    assert text.startswith("<metacharset=x")
    assert decode_html('<meta charset="windows-1252"><p>caf\xe9</p>'.encode("cp1252"), None).endswith("café</p>")
    assert decode_html("\ufeff<p>é</p>".encode("utf-8"), None) == "<p>é</p>"


# -- 4. a server that dribbles its headers -----------------------------------------------------

def _dribbling_server(seconds: float = 40.0) -> tuple[socket.socket, int]:
    """A raw server that answers a status line and then one header line a second, for at most
    ``seconds`` in all; it stops by itself."""
    return raw_server(b"HTTP/1.1 200 OK\r\n", lambda: b"X-Slow: %d\r\n" % int(time.monotonic()), seconds, pause=1)


def test_headers_one_line_a_second_are_bounded_by_the_hop_deadline():
    server, port = _dribbling_server()
    try:
        result, took = within(BOUND + 10, run, "link", "--timeout", "3", "--allow-private-network", "--json",
                              f"http://127.0.0.1:{port}/?gspk={GSPK}")
        problems = json.loads(result.output)["problems"]
        assert [p["code"] for p in problems] == ["timeout"]
        assert "still sending after 6 s" in problems[0]["message"]
        assert took < 6 + 10  # the hop's deadline (twice --timeout) and start-up, not 60 s
    finally:
        server.close()


def test_private_network_is_still_refused_with_the_watched_connections():
    server, port = _dribbling_server(5)
    try:
        result = check_link(f"http://127.0.0.1:{port}/", NetPolicy(timeout=3))
        assert [p.code for p in result.problems] == ["private-network"]
    finally:
        server.close()


# -- 5. markup html.parser gives up on ---------------------------------------------------------

ODD = "<p><![foo[bar]]></p>"


def test_snippet_file_with_markup_html_parser_rejects(tmp_path):
    page = tmp_path / "odd.html"
    page.write_text(f"<html><head>{SNIPPET}</head><body>{ODD}<!DOCTYPE x [<!ENTITY y>]></body></html>")
    result = run("snippet", "--file", str(page), "--json")
    assert result.exit_code != 3, result.output
    evidence = json.loads(result.output)
    assert evidence["snippet_found"] and evidence["public_key"] == KEY


def test_link_through_markup_html_parser_rejects(site):
    site.add("/odd", Page(f'<html><head><meta http-equiv="refresh" content="0; url=/land?gspk={GSPK}">'
                          f"</head><body>{ODD}</body></html>"))
    site.add("/land", Page(f"<html><head>{SNIPPET}</head><body>{ODD}</body></html>"))
    result = run("link", "--timeout", "3", "--allow-private-network", "--json", site.url("/odd"))
    assert result.exit_code != 3, result.output
    hops = json.loads(result.output)["hops"]
    assert [h["kind"] for h in hops] == ["meta-refresh", "final"]
    result = run("snippet", "--timeout", "3", "--allow-private-network", "--json", site.url("/land"))
    assert result.exit_code != 3, result.output


# -- found by the fuzz suite (tests/test_fuzz.py): web/fetch.py's decoding and parsing --------------


@pytest.mark.parametrize("charset", ["idna", "undefined", "punycode", "rot13", "no-such-codec"])
def test_a_charset_that_is_no_text_codec_still_decodes(charset):
    from diagnose.web.fetch import decode_html

    assert decode_html(b"<p>caf\xc3\xa9</p>", charset).startswith("<p>caf")
    assert decode_html(f'<meta charset="{charset}"><p>x</p>'.encode(), None).endswith("<p>x</p>")


def test_valid_utf8_is_read_as_utf8_not_as_a_detectors_guess():
    from diagnose.web.fetch import decode_html

    page = b"<script>top.location.href='/a~b\\\\c'</script>" * 3  # pure ASCII: Shift_JIS would change ~ and \\
    assert decode_html(page, None) == page.decode("ascii")


def test_a_huge_numeric_character_reference_is_read():
    from diagnose.web.fetch import parse_html

    soup = parse_html("<p>&#" + "9" * 5000 + ";</p><p>&#x" + "f" * 5000 + ";</p><p>&#233;</p>")
    assert [p.get_text() for p in soup.find_all("p")] == ["\ufffd", "\ufffd", "\u00e9"]


# -- the end of a page that html.parser re-read from each '<' (quadratic on Python < 3.13.4) ---------


@pytest.mark.parametrize("tail", ["<a ", "<a b='", "<!-- >", "</a "])
def test_a_page_ending_in_constructs_left_open_is_parsed_at_once(site, tail):
    # 3 bytes * 150,000: the old parse took ~3 s for 8,000 and grew with the square (about 20 min here)
    redirect = '<html><head><meta http-equiv="refresh" content="0; url=/land"></head><body><p>hi</p>'
    site.add("/cut", Page(redirect + tail * 150_000))
    site.add("/land", Page(f"<html><head>{SNIPPET}</head><body>landed</body></html>"))
    result, _ = within(BOUND, run, "link", "--timeout", "3", "--allow-private-network", "--json", site.url("/cut"))
    assert result.exit_code != 3, result.output
    assert [h["kind"] for h in json.loads(result.output)["hops"]] == ["meta-refresh", "final"]


def test_what_a_cut_end_leaves_is_what_a_browser_shows():
    from diagnose.web.fetch import parse_html, without_cut_end

    assert without_cut_end("<p>a</p>b <a href='x") == "<p>a</p>b "  # a tag cut short: dropped
    assert without_cut_end("<p>a</p><!-- never closed <b>") == "<p>a</p>"  # a comment to the end: unseen
    assert without_cut_end("<p>a</p><script>location='/x'") == "<p>a</p><script>"  # an unclosed script never runs
    assert without_cut_end("<p>a &amp; b</p> 1 < 2 &") == "<p>a &amp; b</p> 1 < 2 &"  # text stays
    tree = parse_html("<title>T</title><p>kept</p>" + "<a " * 50)
    assert tree.title.string == "T" and tree.p.string == "kept" and not tree.find("a")
