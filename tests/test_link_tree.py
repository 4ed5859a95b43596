"""The landing page in a sweep: the link check's look for a client-side redirect parses it only when
something on it could redirect, reads the tree without changing it, and the page is decoded once."""

from __future__ import annotations

import random

import pytest

from diagnose.checks.link import (
    _client_redirect,
    find_client_redirect,
    follow,
    visible_strings,
)
from diagnose.demo.site import Page, partnerstack_snippet, redirect
from diagnose.pipeline.sweep_check import check_row
from diagnose.pipeline.sweep_input import LinkRow
from diagnose.web import fetch as net
from diagnose.web.policy import NetPolicy

GSPK = "NWMzOGRkZGJmN2Zj"
PK = "pk_" + "a1" * 16
FRAGMENTS = [
    "<script>a</script>", "<style>b</style>", "<noscript>c<p>d</p></noscript>", "<template><p>e</p>f</template>",
    "<!-- g -->", "<![CDATA[h]]>", "<?pi i?>", "<p>j", "</p>", "<div>", "</div>", "k l", "<svg><script>m</script></svg>",
    "<!DOCTYPE html>", "&amp;", "<title>t</title>", "<textarea>u</textarea>", "<SCRIPT>v</SCRIPT>", "<script", ">",
    "<![foo[bar]]>", "<template><script>w</script></template>", "<noscript><style>x</style></noscript>", "<head>",
    "<body>", "</template>", "</noscript>", "<Style>y", "\n  ", "<b>z</b>",
]


def _removing(text: str) -> str:
    """The visible text as it was found before the tree was shared: those elements removed."""
    soup = net.parse_html(text)
    for tag in soup.find_all(["script", "style", "noscript", "template"]):
        tag.decompose()
    return " ".join(soup.get_text(" ").split())


def _pages(count: int, seed: int = 12):
    rng = random.Random(seed)
    for _ in range(count):
        yield "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 16)))


def test_the_visible_text_is_the_same_without_removing_anything():
    for text in _pages(3000):
        soup = net.parse_html(text)
        before = soup.decode()
        assert " ".join(" ".join(visible_strings(soup)).split()) == _removing(text), text
        assert soup.decode() == before  # nothing removed or changed


def test_a_page_nested_past_the_recursion_limit_is_read():
    text = "<div>" * 5000 + "deep" + "</div>" * 5000
    assert visible_strings(net.parse_html(text)) == ["deep"]


def _fetched(body: str, url: str = "https://shop.example/landing") -> net.Fetched:
    return net.Fetched(url, 200, {"content-type": "text/html; charset=utf-8"}, body.encode(), False, 1)


@pytest.mark.parametrize("body, expected", [
    ("<script>location.href = '/next'</script>", ("javascript", "/next")),
    ("<meta http-equiv=refresh content='0; url=/m'>", ("meta-refresh", "/m")),
    (f"<head>{partnerstack_snippet(repr(PK))}</head><p>short</p>", None),
    ("<p>" + "words " * 60 + "</p><script>location.href = '/next'</script>", None),
])
def test_looking_for_a_client_redirect_leaves_the_tree_whole(body, expected):
    page = _fetched(body)
    before = page.tree().decode()
    assert find_client_redirect(page) == expected
    assert page.tree().decode() == before


def test_a_page_is_decoded_and_parsed_once(monkeypatch):
    page = _fetched("<title>Café</title>")
    calls: list[str] = []
    real = net.parse_html
    monkeypatch.setattr(net, "parse_html", lambda text: calls.append(text) or real(text))
    assert page.text() is page.text()
    assert page.tree() is page.tree()
    assert calls == ["<title>Café</title>"]
    assert page.tree().title.get_text() == "Café"


REDIRECTING = [
    "<meta http-equiv=refresh content='0; url=/a'>", "<META HTTP-EQUIV='Refresh' CONTENT='1;URL=/b'>",
    "<meta http-equiv='&#114;efresh' content='0;url=/c'>", "<meta http-equiv='&#x52;EFRESH' content='0;url=/d'>",
    "<noscript><meta http-equiv=refresh content='0;url=/e'></noscript>", "<script>location.href = '/f'</script>",
    "<script>window.location.replace('/g' + location.search)</script>", "<script>top.location='/h'</script>",
    "<script>var location = 1</script>", "<meta http-equiv='re&#102;resh' content='/i'>", "<meta name=refresh>",
    "<p>location</p>", "<meta charset=utf-8>", "&#114;efresh", "<meta http-equiv=x content=refresh>",
]


def test_a_page_that_cannot_redirect_is_not_parsed_and_the_answer_is_the_same():
    rng = random.Random(7)
    for _ in range(3000):
        body = "".join(rng.choice(FRAGMENTS + REDIRECTING) for _ in range(rng.randint(0, 10)))
        page = _fetched(body, "https://shop.example/landing?gspk=x")
        assert find_client_redirect(page) == _client_redirect(_fetched(body, page.url)), body


def test_a_sweep_parses_a_landing_page_only_if_it_could_redirect(site, monkeypatch):
    """The snippet check reads the page in a pass of its own; the link check parses it only where
    something could send the browser on (a meta refresh, a script naming location)."""
    site.add("/r", redirect("/landing?gspk=" + GSPK + "&gsxid=x1"))
    site.add("/landing", Page(f"<html><head>{partnerstack_snippet(repr(PK))}</head><body>Hi</body></html>"))
    site.add("/meta", Page(f"<html><head><meta http-equiv=X-UA-Compatible content=IE=edge>"
                           f"{partnerstack_snippet(repr(PK))}<script>if (location.hash) {{}}</script></head></html>"))
    calls: list[str] = []
    real = net.parse_html
    monkeypatch.setattr(net, "parse_html", lambda text: calls.append(text) or real(text))
    policy = NetPolicy(timeout=2, allow_private=True)
    record = check_row(LinkRow(line=1, link=site.url("/r"), url=site.url("/r"), expected_key=PK), policy)
    assert record.status == "ok" and record.public_key == PK and record.checks == ("link", "snippet")
    assert calls == []
    url = site.url("/meta?gspk=" + GSPK + "&gsxid=x1")
    record = check_row(LinkRow(line=2, link=url, url=url, expected_key=PK), policy)
    assert record.status == "ok" and record.public_key == PK
    assert len(calls) == 1


def test_a_shared_tree_gives_the_same_findings_as_a_fresh_one(site):
    """The sweep's record (shared tree) against the link and snippet checks run on their own."""
    from diagnose.checks.snippet import check_snippet_html

    pages = {
        "/a": f"<head>{partnerstack_snippet(repr(PK))}</head><body><p>{'text ' * 80}</p></body>",
        "/b": f"<body>{partnerstack_snippet(repr('pk_wrong'))}</body>",
        "/c": "<!-- <script src='https://js.partnerstack.com/v1/'></script> --><p>nothing</p>",
        "/d": f"<noscript><p>{'x ' * 300}</p></noscript>{partnerstack_snippet(repr(PK))}",
    }
    policy = NetPolicy(timeout=2, allow_private=True)
    for path, body in pages.items():
        site.add(path, Page(body))
        url = site.url(path + "?gspk=" + GSPK)
        record = check_row(LinkRow(line=1, link=url, url=url, expected_key=PK), policy)
        outcome = follow(url, policy)
        alone = check_snippet_html(net.decode_html(body.encode(), "utf-8"), url=url, http_status=200,
                                   expected_key=PK)
        expected = [p.code for p in outcome.result.problems] + [p.code for p in alone.problems]
        assert [f.code for f in record.findings] == list(dict.fromkeys(expected)), path
        assert record.public_key == alone.evidence.public_key
