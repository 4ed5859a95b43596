"""The snippet check on hostile pages (issue 10): the page is read in one streaming pass, linear in
its size and without a tree (200,000 unclosed <div> took ~20 s and hundreds of MB as a
BeautifulSoup tree); what html.parser leaves open at the end of the page is read as HTML5 reads it,
never again from each '<' (quadratic), and a malformed character reference hides nothing after it."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from click.testing import CliRunner

from diagnose.checks.snippet import analyse_html
from diagnose.checks.snippet_page import TITLE_MAX, outline
from diagnose.cli import cli
from diagnose.demo.site import partnerstack_snippet

KEY = "pk_" + "A1b2C3d4" * 4
SNIPPET = partnerstack_snippet(repr(KEY))


def cpu_seconds(f, *args) -> float:
    start = time.process_time()
    f(*args)
    return time.process_time() - start


@pytest.mark.parametrize("unit", ["<div>", "<a\n", "<a ", "<!--x>", "</x", "<", "&#;"],
                         ids=["unclosed-div", "unclosed-tag-newline", "unclosed-tag-space", "open-comments",
                              "end-tags-in-a-script", "lone-lt", "bad-charref"])
def test_reading_a_hostile_page_is_linear(unit):
    """Four times the page takes about four times as long, not sixteen ('<a ' repeated is quadratic in
    html.parser's own end-of-page recovery: 16,000 of them took 15 s). Best of three, interleaved, so
    that a busy machine weighs on both sizes, with generous slack."""
    prefix = "<script>" if unit == "</x" else ""

    def page(n: int) -> str:
        return f"<html><head>{SNIPPET}</head><body>" + prefix + unit * n

    small, large = page(5_000), page(20_000)
    runs = [(cpu_seconds(analyse_html, small), cpu_seconds(analyse_html, large)) for _ in range(3)]
    base, big = min(r[0] for r in runs), min(r[1] for r in runs)
    assert big < 8 * base + 0.05, f"{unit!r}: 20,000 took {big:.3f} s, 5,000 {base:.3f} s"
    ev, _ = analyse_html(large)
    assert ev.snippet_found and ev.keys == (KEY,) and ev.in_head


def test_200000_unclosed_divs_are_read_quickly_and_without_a_tree(tmp_path):
    html = f"<html><head><title>Shop</title>{SNIPPET}</head><body>" + "<div>" * 200_000
    part = html[:250_000]  # memory is measured on a quarter of it (tracing every allocation is slow)
    tracemalloc.start()
    try:
        page = outline(part)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20, f"{peak / 2**20:.0f} MB to read a 250 KB page"  # the tree took ~40 MB
    assert page.title == "Shop" and [e.name for e in page.elements] == ["script"]
    path = tmp_path / "divs.html"
    path.write_text(html, encoding="utf-8")
    start = time.process_time()
    result = CliRunner().invoke(cli, ["snippet", "--file", str(path), "--json"])
    assert time.process_time() - start < 5, "200,000 unclosed <div> took ~20 s"
    assert result.exit_code in (0, 1), result.output
    assert KEY in result.output


def test_a_malformed_character_reference_hides_nothing_after_it():
    """BeautifulSoup's own reference handling read the rest of the page as text after a '&#' that starts
    no reference (twice, or once with no ';' after it): the snippet after it was not found."""
    for text in ("Q&#A", "&#; and &#;", "&#x;&#"):
        ev, problems = analyse_html(f"<html><head><title>{text}</title>{SNIPPET}</head><body>x</body></html>")
        assert ev.snippet_found and ev.keys == (KEY,) and ev.in_head, (text, problems)
        assert ev.page_title == text


@pytest.mark.parametrize(("tail", "commented"), [
    ("<!-- " + SNIPPET, True),  # a comment the page never closes runs to its end (HTML5)
    ('<meta charset="' + SNIPPET, False),  # an attribute value never closed: the tag swallows the rest
    ("<![foo[bar]]>" + SNIPPET, False),  # a bogus comment up to the next '>' (html.parser raised on it)
])
def test_what_is_open_at_the_end_of_the_page_is_read_as_a_browser_reads_it(tail, commented):
    ev, problems = analyse_html("<html><head><title>t</title></head><body>" + tail)
    codes = [p.code for p in problems]
    if tail.startswith("<![foo[bar]]>"):
        assert ev.snippet_found and ev.keys == (KEY,)
    else:
        assert not ev.snippet_found
        assert ("snippet-commented-out" in codes) == commented


def test_an_unclosed_script_at_the_end_of_the_page_runs_nothing():
    ev, _ = analyse_html(f"<html><head>{SNIPPET}</head><body><script>growsumo = {{}}; growsumo._initialize('x')")
    assert ev.keys == (KEY,) and ev.data_overwrites == ()


@pytest.mark.parametrize(("html", "title"), [
    ("<title> Acme &amp; <b>Co</b> </title><title>second</title>", "Acme & Co"),
    ("<title/><title>second</title>", ""),
    ("<template><title>hidden</title></template><title>shown</title>", ""),
    ("<title>a<script>var x = 1</script>b<!-- c --></title>", "a b"),
    ("<p>no title</p>", None),
    ("<title>" + "word " * 10_000, ("word " * 10_000).strip()[:TITLE_MAX]),
])
def test_the_title_is_read_as_before(html, title):
    assert outline(html).title == title


def test_elements_nest_as_the_html_parser_tree_nests_them():
    html = ("<head><script>a()</script><link rel=x><br/><meta charset=utf-8><script src='/one.js'></script>"
            "</head><body><div><script>b()</script><img src=x onload=\"growsumo._initialize('k')\">"
            "<head><script>c()</script></div><script>d()</script><script></script>")
    page = outline(html)
    got = [(e.name, e.in_head, e.text or e.get("onload") or e.get("src")) for e in page.elements]
    assert got == [("script", True, "a()"), ("script", True, "/one.js"), ("script", False, "b()"),
                   ("img", False, "growsumo._initialize('k')"), ("script", True, "c()"), ("script", False, "d()")]
