"""The fuzz suite's targets: one per untrusted input (a gspk value, page HTML, the Refresh / meta / JS
redirects, CSV / JSON Lines exports, ticket YAML / JSON, saved evidence JSON), each a hypothesis
strategy aimed at the known weak spots and a function that calls the real entry point in-process, as
the CLI does, then renders what a user would see (JSON and terminal text encoded as UTF-8; HTML for
reports). The limits and the outcome of an example: tests/fuzzing.py."""

from __future__ import annotations

import copy
import csv
import html.parser
import io
import json
from pathlib import Path
from typing import Any

from fuzzing import (
    GOLDEN,
    HUGE,
    Target,
    WrongResult,
    WrongRows,
    base64_junk,
    dumps,
    emit,
    encode,
    shorten,
    text_of,
    weighted,
    workdir,
)
from hypothesis import strategies as st

# -- 1. gspk: a GSPK / ps_partner_key value, or a URL carrying one ----------------------------------

GSPK_ATOMS = ["gspk=", "ps_partner_key=", "gsxid=", "?", "&", ";", "#", "%", "%2", "%3D", "%F0%9F%98", "%ED%A0%80",
              "http://", "https://", "HTTPS://", "//", "=", "+", "/", "_", "-", "YTFiMmMzZDRlNWY2", "Z3N0ZXN0",
              "pk_", "[::1", "@", ":", "xn--", "\\", " "]
PARAMS = ["gspk", "ps_partner_key", "gsxid", "ps_xid", "pscd", "GSPK", "gspk[]", "ps_partner_key%00", "gspk "]


def _link(scheme: str, host: str, path: str, params: list[tuple[str, str]], sep: str, fragment: str) -> str:
    return scheme + host + path + "?" + sep.join(f"{k}={v}" for k, v in params) + fragment


SHORT = text_of(GSPK_ATOMS, max_parts=4, max_run=300)
LINKS = st.builds(_link, st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "//", "", "javascript:"]),
                  st.one_of(st.sampled_from(["x.com", "acme.partnerlinks.io", "127.0.0.1", "[::1]", "[::1", "xn--"]),
                            SHORT),
                  st.sampled_from(["/", "/go/jane", "", "/a%2Fb", "/;p"]),
                  st.lists(st.tuples(st.sampled_from(PARAMS), st.one_of(base64_junk(), SHORT)), max_size=5),
                  st.sampled_from(["&", ";", "&&", "&amp;"]), st.sampled_from(["", "#", "#gspk=Z3N0ZXN0", "#x"]))
GSPK = st.tuples(st.one_of(text_of(GSPK_ATOMS), base64_junk(), LINKS), st.one_of(st.none(), SHORT))


def run_gspk(example: tuple[str, str | None]) -> None:
    from diagnose.checks.gspk import check_gspk
    from diagnose.report import render

    value, partner = example
    if not value.strip():
        return  # the command refuses an empty VALUE before the check
    result = check_gspk(value, partner)
    emit(render("json", result), render("terminal", result))


# -- 2. page HTML: the static snippet check on a page's bytes --------------------------------------

KEY = "pk_" + "a1" * 16
SNIPPET = f"<script src='https://js.partnerstack.com/v1/'></script><script>growsumo._initialize('{KEY}')</script>"
PAGE_ATOMS = ["<script>", "</script>", "<script src='https://js.partnerstack.com/v1/'>", "growsumo._initialize(",
              "partnerstack._initialize(", f"'{KEY}'", "pk_", "sk_live_" + "b2" * 16, ")", "(", ",", "{a: 1}", "//",
              "/*", "*/", "<!--", "-->", "<![foo[bar]]>", "<!DOCTYPE x [<!ENTITY y>]>", "<!", "<head>", "</head>",
              "<body>", "<title>", "</title>", '<meta charset="', '">', "<noscript>", "<template>", "</template>",
              '<script type="text/plain">', '<script type="application/json">', "growsumo = {}", "growsumo.data = ",
              "window.growsumo", "<img src=x onload=\"growsumo._initialize('x')\">", "`", "${", "\\", "'", '"', "<<",
              "&lt;", "&#", "&#x110000;", "snippet.growsumo.com", "/pr/js", "{{ key }}", "__PUBLIC__", "<%= key %>",
              "<svg><script>", "<math>", "<?php ?>", "<p", "=", " ", "\n", '<meta charset="idna">',
              '<meta charset="undefined">', '<meta charset="utf-7">', "<meta charset=x-user-defined>",
              '<meta http-equiv="Content-Type" content="text/html; charset=punycode">']
CHARSETS = [None, None, None, "utf-8", "utf-16", "utf-7", "cp1252", "latin-1", "shift_jis", "iso-2022-jp", "utf-32", "x-bogus",
            "rot13", "base64", "", '"utf-8"', "UTF-8'", "idna", "punycode", "undefined"]
PAGE_TEXT = text_of(PAGE_ATOMS, max_parts=16, max_run=60_000)
PAGES = st.one_of(
    st.tuples(st.just("page"), PAGE_TEXT, st.sampled_from(["utf-8", "utf-8-raw", "utf-16", "cp1252", "utf-7", "shift_jis"]),
              st.sampled_from(CHARSETS), st.sampled_from([None, "https://acme.example/landing", "http://[::1",
                                                          "https://x.com/?a=%ud800"]),
              st.sampled_from([None, KEY, "pk_" + "0" * 32])),
    st.tuples(st.just("kept"), PAGE_TEXT),  # a snippet in <head>, then anything: still found
)


def run_page(example: tuple) -> None:
    from diagnose.checks.snippet import check_snippet_html
    from diagnose.report import render
    from diagnose.web.fetch import decode_html

    if example[0] == "kept":
        html = f"<html><head>{SNIPPET}</head><body>{example[1]}</body></html>"
        result = check_snippet_html(html, url="https://acme.example/landing")
        if not result.evidence.snippet_found or KEY not in result.evidence.keys:
            raise WrongResult(f"the snippet in <head> was lost: snippet_found={result.evidence.snippet_found}, "
                              f"keys={shorten(result.evidence.keys)}")
    else:
        _, text, encoding, charset, url, expected = example
        html = decode_html(encode(text, encoding), charset)
        result = check_snippet_html(html, url=url, http_status=200, expected_key=expected)
    emit(render("json", result), render("terminal", result))


# -- 3. redirects: the Refresh header, meta refresh and JS location the link check follows --------

PAGE_URL = "https://acme.example/go/jane?gspk=YTFiMmMzZDRlNWY2&gsxid=x1#top"
REDIRECT_ATOMS = ["0", "5", "0.5", "-1", ";", ",", "url", "URL", "=", " ", "'", '"', "/next", "http://x.com/?gspk=YTFi",
                  "javascript:", "url='", '<meta http-equiv="refresh" content="', '<meta http-equiv=refresh content=',
                  '">', "<noscript>", "</noscript>", "<script>", "</script>", "location.href=", "location.href = '",
                  "window.location.replace(", "location.assign(", "document.location", "top.location=",
                  "+ location.search", "+ location.hash", "`", "${", "\\", "<![foo[bar]]>", "<!DOCTYPE x [<!ENTITY y>]>",
                  "<!--", "-->", "<p>", "</p>", "<a ", "<a b='", "</a ", "&#0;", "&#x110000;", "&amp;", "&quot;", "http://[::1", "\t", "\x0c"]
REDIRECT_TEXT = text_of(REDIRECT_ATOMS, max_parts=12, max_run=70_000)
CLEAN_TARGET = st.text(st.sampled_from("abcXYZ019/?=&.:_-%#~"), min_size=1, max_size=40)
REDIRECTS = st.one_of(
    st.tuples(st.just("header"), st.sampled_from([200, 204, 301, 302, 404, 500]), REDIRECT_TEXT, REDIRECT_TEXT,
              st.sampled_from(["text/html", "text/plain", "", "text/html; charset=utf-8", "application/xhtml+xml"])),
    st.tuples(st.just("page"), REDIRECT_TEXT, st.sampled_from(CHARSETS)),
    # a well-formed redirect, padded with white space (the whole value within the 8 KB read): its target exactly
    st.tuples(st.just("refresh"), st.sampled_from(["0", "5", "0.5", "", "1."]), st.sampled_from([";", ",", "; ", " ;  "]),
              st.sampled_from(["url=", "URL = ", "Url=", ""]), st.sampled_from(["", "'", '"']), CLEAN_TARGET,
              st.sampled_from(["header", "meta"]), st.sampled_from(["", " ", "\t", " \t ", " " * 2000])),
    st.tuples(st.just("js"), st.sampled_from(["window.location.href = {}", "location = {}", "location.replace({})",
                                              "document.location.assign( {} )", "top.location.href={}"]),
              st.sampled_from(["'", '"', "`"]), CLEAN_TARGET, st.booleans(), st.booleans()),
)


def _page(status: int, headers: dict[str, str], body: bytes):
    from diagnose.web.fetch import Fetched

    return Fetched(PAGE_URL, status, headers, body, False, 0)


def run_redirect(example: tuple) -> None:
    from urllib.parse import urljoin

    from diagnose.checks.link import _next_hop
    from diagnose.core.partnerstack import partner_params
    from diagnose.core.urls import url_problem

    kind = example[0]
    expected = None
    if kind == "header":
        _, status, refresh, body, ctype = example
        headers = {"refresh": refresh, "content-type": ctype}
        if 300 <= status < 400:
            headers["location"] = refresh[:100]
        page = _page(status, headers, encode(body, "utf-8-raw"))
    elif kind == "page":
        _, body, charset = example
        ctype = "text/html" + (f"; charset={charset}" if charset is not None else "")
        page = _page(200, {"content-type": ctype}, encode(body, "utf-8-raw"))
    elif kind == "refresh":
        _, delay, sep, word, quote, target, where, pad = example
        value = (f"{delay}{pad}{sep}{pad}{word}" if (delay or word) else pad) + f"{quote}{target}{quote}{pad}"
        if not (delay or word or quote) and target[0] in "0123456789.":
            where = "ambiguous"  # "5" alone is a delay, not a target: no expectation
        elif not delay:
            where = "ignored"  # no delay: browsers ignore the value (HTML's shared declarative refresh steps)
        if where in ("ambiguous", "ignored"):
            page = _page(200, {"refresh": value, "content-type": "text/html"}, b"")
        elif where == "header":
            page, expected = _page(200, {"refresh": value, "content-type": "text/html"}, b""), ("refresh-header", target)
        else:
            from html import escape

            body = f'<html><head><meta http-equiv="Refresh" content="{escape(value)}"></head><body></body></html>'
            page, expected = _page(200, {"content-type": "text/html"}, body.encode()), ("meta-refresh", target)
    else:
        _, form, quote, target, keep, escaped = example
        written = target.replace("/", "\\/") if escaped else target  # "https:\/\/...", as JSON encoders write it
        code = form.format(f"{quote}{written}{quote}" + (" + location.search" if keep else ""))
        body = f"<html><head><script>{code};</script></head><body></body></html>"
        page = _page(200, {"content-type": "text/html"}, body.encode())
        query = "?gspk=YTFiMmMzZDRlNWY2&gsxid=x1"
        expected = ("javascript", target + (("&" if "?" in target else "?") + query[1:] if keep else ""))
    hop = _next_hop(page)
    if kind == "refresh" and where == "ignored" and hop is not None:
        raise WrongResult(f"a Refresh value with no delay ({shorten(value)}) was followed: {hop!r}")
    if expected is not None and hop != expected:
        raise WrongResult(f"the redirect read is {hop!r}, expected {expected!r}")
    if hop is None:
        return
    how, target = hop
    if not isinstance(target, str) or len(target) > 8192 + len(PAGE_URL) or how not in (
            "http", "refresh-header", "meta-refresh", "javascript"):
        raise WrongResult(f"an odd redirect: {shorten(hop)}")
    try:  # what link.follow does next
        absolute = urljoin(PAGE_URL, target)
    except ValueError:
        return
    url_problem(absolute)
    partner_params(absolute)


# -- 4. tickets: YAML or JSON text, read as `diagnose ticket FILE` reads it -------------------------

TICKET_FIELDS = ["partner_key", "link", "customer_email", "customer_name", "click_date", "signup_date",
                 "purchase_date", "click_browser", "typed_url", "cleared_cookies", "expected_public_key",
                 "signup_url", "integration", "dashboard", "internal"]
TICKET_ATOMS = ["2024-01-02", "2024-02-30", "2024-01-02T25:00", "9999-12-31", "0001-01-01", "yes", "no", "on", "off",
                "~", "null", "true", "https://x.com/?gspk=YTFiMmMzZDRlNWY2", "http://[::1", "javascript:alert(1)",
                KEY, "pk_", "js", "api", "webhook", "Safari", "kim@example.com", "&a", "*a", "!!binary", "!!set",
                "!!python/object/apply:os.system", "? ", "- ", "{", "}", "[", "]", ": ", "---", "...", "#", "|", ">",
                "'", '"', "\\", "%", "@", "`", "!", "<<: ", ",", "\t"]
TICKET_TEXT = text_of(TICKET_ATOMS, max_parts=10, max_run=4000)
JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**400, 10**400),
              st.floats(allow_nan=True, allow_infinity=True), text_of(TICKET_ATOMS, max_parts=4, max_run=300)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12)
MAPPING = st.dictionaries(st.one_of(st.sampled_from(TICKET_FIELDS), st.sampled_from(["unknown", "Click_Date", "", "<<"])),
                          JSONISH, max_size=6)
TAGS = ["!!binary", "!!timestamp", "!!python/object/apply:os.system", "!!python/name:os.system", "!!set", "!!omap",
        "!!pairs", "!!str", "!!int", "!!float", "!!bool", "!!null", "!custom", "!<tag:yaml.org,2002:str>", "!!merge"]


def _laughs(width: int, depth: int, key: str) -> str:
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, depth + 1)]
    return "\n".join(lines) + f"\n{key}: *a{depth}\n"


def _yaml_dump(mapping: dict, flow: bool) -> str:
    import yaml

    try:
        return yaml.safe_dump(mapping, default_flow_style=flow, allow_unicode=True)
    except (yaml.YAMLError, ValueError, UnicodeEncodeError):
        return repr(mapping)


def _json_dump(mapping: dict, ascii_only: bool) -> str:
    return dumps(mapping, ensure_ascii=ascii_only)


DATES = st.one_of(st.sampled_from(["2024-01-02", "2024-02-29", "2024-02-30", "2024-01-02T10:00:00", "2024-01-02 10:00",
                                   "2024-01-02T25:00", "0001-01-01", "9999-12-31", "20240102", "2024-1-2", "2024-01-02Z",
                                   " 2024-01-02 ", "2024-01-02\u2028"]), st.dates().map(str))
BOOLS = st.sampled_from(["yes", "no", "true", "false", "1", "0", "y", "n", "on", "off", "YES", " yes ", True, False])
TEXT_FIELDS = ["partner_key", "customer_email", "customer_name", "click_browser", "click_device", "signup_browser",
               "signup_device", "dashboard", "internal"]
VALUES = {
    **dict.fromkeys(TEXT_FIELDS, text_of(TICKET_ATOMS, max_parts=5, max_run=2000)),
    **dict.fromkeys(["click_date", "signup_date", "purchase_date"], DATES),
    **dict.fromkeys(["typed_url", "cleared_cookies", "blocks_cookies"], BOOLS),
    **dict.fromkeys(["link", "signup_url"], st.builds(lambda host, rest: host + rest, st.sampled_from(
        ["https://acme.example/", "acme.example/", "http://127.0.0.1/", "https://xn--80ak6aa92e.com/", "HTTPS://A.B/"]),
        text_of(GSPK_ATOMS, max_parts=5, max_run=500))),
    "integration": st.sampled_from(["js-snippet", "API", "web hook", "webhook", "js", "snippet", "JavaScript", "x"]),
    "expected_public_key": st.sampled_from([KEY] * 4 + [" " + KEY, KEY.upper(), "pk_", "{{ key }}", "sk_" + "a" * 32]),
}
PLAUSIBLE = st.lists(st.sampled_from(list(VALUES)), max_size=8, unique=True).flatmap(
    lambda keys: st.fixed_dictionaries({k: VALUES[k] for k in keys}))
HOSTILE_TICKETS = st.one_of(
    st.tuples(st.just(".yaml"), st.builds(_yaml_dump, MAPPING, st.booleans())),
    st.tuples(st.just(".json"), st.builds(_json_dump, MAPPING, st.booleans())),
    st.tuples(st.just(".yaml"), st.builds(_laughs, st.integers(1, 12), st.integers(1, 12), st.sampled_from(TICKET_FIELDS))),
    st.tuples(st.just(".yml"), st.builds(lambda k, n, o, c: f"{k}: " + o * n + c * n + "\n", st.sampled_from(TICKET_FIELDS),
              st.integers(1, 20_000), st.sampled_from(["[", "{a: ", "- "]), st.sampled_from(["]", "}", ""]))),
    st.tuples(st.just(".yaml"), st.builds(lambda k, n: f"{k}:\n" + "".join(" " * i + "- \n" for i in range(n)),
                                          st.sampled_from(TICKET_FIELDS), st.integers(1, 2000))),
    st.tuples(st.just(".yaml"), st.builds(lambda k, tag, v: f"{k}: {tag} {v}\n", st.sampled_from(TICKET_FIELDS),
                                          st.sampled_from(TAGS), st.one_of(TICKET_TEXT, st.sampled_from(["", "1", "x"])))),
    st.tuples(st.just(".yaml"), st.builds(lambda k, v, n: f"x: &x {v}\n" + "".join(f"{k}: *x\n" for _ in range(n)),
                                          st.sampled_from(TICKET_FIELDS),
                                          st.sampled_from(["1", "2024-01-02", "[1, 2]", "{a: 1}", "'é'"]), st.integers(1, 30))),
    st.tuples(st.just(".yaml"), st.builds(lambda k, v: f"{k}: {v}\n", st.sampled_from(TICKET_FIELDS),
                                          st.one_of(st.sampled_from(HUGE), TICKET_TEXT))),
    st.tuples(st.just(".json"), st.builds(lambda k, v: json.dumps({k: 0})[:-2] + v + "}", st.sampled_from(TICKET_FIELDS),
              st.one_of(st.sampled_from(HUGE + ['"\\ud800"', '"\\udfff x"', "[" * 5000 + "]" * 5000]), TICKET_TEXT))),
    st.tuples(st.sampled_from([".yaml", ".json", ".txt"]), TICKET_TEXT),
)
TICKET_TEXTS = weighted((3, st.tuples(st.just(".yaml"), st.builds(_yaml_dump, PLAUSIBLE, st.booleans()))),
                        (2, st.tuples(st.just(".json"), st.builds(_json_dump, PLAUSIBLE, st.booleans()))),
                        (5, HOSTILE_TICKETS))
TICKETS = st.builds(lambda pair, suffix, encoding: (suffix or pair[0], pair[1], encoding), TICKET_TEXTS,
                    st.sampled_from([None] * 8 + [".yml", ".json", ".txt", ".YAML"]),
                    st.sampled_from(["utf-8"] * 8 + ["utf-8-raw", "utf-8-sig", "utf-16", "cp1252"]))


def run_ticket(example: tuple[str, str, str]) -> None:
    from diagnose.core.ticket import load, with_overrides
    from diagnose.report import render
    from diagnose.report.model import build_report, exit_code

    suffix, text, encoding = example
    path = workdir() / f"ticket{suffix}"
    path.write_bytes(encode(text, encoding))
    ticket = with_overrides(load(path), {})  # as `diagnose ticket FILE` does, with no options given
    _ = ticket.slug, ticket.days_click_to_signup
    report = build_report(ticket, {}, embed_screenshots=False)
    exit_code(report)
    emit(render("json", report), render("terminal", report), render("html", report))


# -- 5. saved evidence: `diagnose explain FILE`, every output format, --redact -------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00\x00\x00\x01" * 2 + b"\x08\x02\x00\x00\x00" + b"\x00" * 4


def _golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:2]):
            out += _paths(value, (*prefix, i))
    return out


GOLDEN_PATHS = _paths(_golden())
EVIDENCE_ATOMS = ["<script>alert(1)</script>", "</textarea>", "\" onload=\"x", "javascript:alert(1)", "{{ 7*7 }}",
                  "{% raw %}", "&amp;", "kim.secret%40example.com", "zoë@exämple.com", "Kim.O'Neil@example.com",
                  "a1b2c3d4e5f6", "pass", "fail", "warn", "error", "link", "gspk", "cookie", "reconcile", "chromium",
                  "http://127.0.0.1:8765/", "=HYPERLINK(\"x\")", "\x1b[31m", "\x1b]8;;x\x07", "[bold]", "[/]", "|",
                  "-" * 3, "\u200b"]
SCREENSHOTS = ["/dev/zero", "/etc/passwd", "/proc/self/environ", "/", "", "\x00", "x" * 300, "<png>", "<secret>",
               "<png>/../" , "/dev/stdin"]
MUTATION = st.tuples(
    st.sampled_from(GOLDEN_PATHS),
    st.sampled_from(["same"] * 12 + ["any", "any", "delete", "repeat", "deep", "rename"]),
    text_of(EVIDENCE_ATOMS, max_parts=6, max_run=3000),
    weighted((6, st.integers()), (1, st.integers(-10**5000, 10**5000)), (1, st.sampled_from([0, -1, 2**63, 10**4300]))),
    st.one_of(st.floats(), st.sampled_from([float("nan"), float("inf"), -0.0])),
    JSONISH,
    st.integers(1, 400),
)
SOMETIMES = [None] * 20  # most files are whole, well encoded and well named: their values reach the report
EVIDENCE = st.tuples(
    st.lists(MUTATION, max_size=4),
    st.one_of(st.none(), st.sampled_from(SCREENSHOTS)),
    st.sampled_from([*SOMETIMES, ("cookie", "link"), ("link", "gspk"), ("snippet", "reconcile")]),  # swapped
    st.sampled_from(["ascii"] * 6 + ["utf-8"] * 10 + ["surrogatepass", "bom"]),
    weighted((12, st.none()), (1, st.tuples(st.floats(0, 1), st.sampled_from(["cut", "insert", "delete"]),
                                             st.binary(max_size=8)))),
    st.sampled_from(["evidence.json"] * 8 + ["e" * 250 + ".json", "évidence .json"]),
)


def _mutate(data: Any, mutation: tuple) -> None:
    path, how, text, number, real, anything, n = mutation
    parent = data
    for step in path[:-1]:
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return  # an earlier mutation changed the way
    key = path[-1]
    try:
        old = parent[key]
    except (KeyError, IndexError, TypeError):
        return
    if how == "delete":
        del parent[key]
        return
    if how == "rename" and isinstance(parent, dict):
        parent[text[:40]] = parent.pop(key)
        return
    if how == "same":
        if isinstance(old, bool):
            new = not old
        elif isinstance(old, int):
            new = number
        elif isinstance(old, float):
            new = real
        elif isinstance(old, (str, type(None))):
            new = text
        elif isinstance(old, list):
            new = [copy.deepcopy(old[0]) if old else text] * min(n, 50) + [anything]
        else:
            new = {**old, text[:40]: anything}
    elif how == "any":
        new = anything
    elif how == "repeat":
        new = (old * min(n, 3000 // max(len(old), 1))) if isinstance(old, (str, list)) and old else [old] * n
    else:  # deep
        new = old
        for _ in range(n):
            new = [new]
    parent[key] = new


def _evidence_file(example: tuple) -> tuple[Path, dict | None, str | None]:
    mutations, screenshot, swap, encoding, damage, name = example
    data = _golden()
    for mutation in mutations:
        _mutate(data, mutation)
    png, secret = workdir() / "shot.png", workdir() / "secret.env"
    if not png.exists():
        png.write_bytes(PNG)
        secret.write_bytes(b"\x89PNG but a key file: SECRET_KEY=hunter2\n")
    evidence = data.get("evidence") if isinstance(data, dict) else None
    if screenshot is not None and isinstance(evidence, dict) and isinstance(evidence.get("cookie"), dict):
        evidence["cookie"]["screenshot"] = screenshot.replace("<png>", str(png)).replace("<secret>", str(secret))
    if swap and isinstance(evidence, dict) and all(isinstance(evidence.get(k), dict) for k in swap):
        a, b = swap
        evidence[a], evidence[b] = evidence[b], evidence[a]
    text = dumps(data, ensure_ascii=encoding == "ascii", indent=1)
    raw = text.encode("utf-8", errors="surrogatepass" if encoding == "surrogatepass" else "replace")
    raw = (b"\xef\xbb\xbf" if encoding == "bom" else b"") + raw
    if damage is not None:
        where, how, junk = damage
        at = int(where * len(raw))
        raw = raw[:at] if how == "cut" else raw[:at] + junk + raw[at:] if how == "insert" else raw[:at] + raw[at + 1:]
    path = workdir() / name
    try:
        path.write_bytes(raw)
    except OSError:
        pass  # a name too long to write: the reader must say so
    return path, data, str(png)


class _Markup(html.parser.HTMLParser):
    """The tags and attributes of a rendered report, for the no-script oracle."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.bad: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "base", "form", "link", "frame"):
            self.bad.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.bad.append(f"<{tag} {name}=...>")
            elif name in ("href", "xlink:href", "action", "formaction", "srcset", "background", "poster"):
                self.bad.append(f"<{tag} {name}={shorten(value, 60)}>")
            elif name == "src":
                if tag == "img" and (value or "").startswith("data:image/png;base64,"):
                    self.images.append(value or "")
                else:
                    self.bad.append(f"<{tag} src={shorten(value, 60)}>")
        if tag == "meta" and any(n == "http-equiv" and (v or "").lower() == "refresh" for n, v in attrs):
            self.bad.append("<meta http-equiv=refresh>")


def _check_html(page: str, expect_image: bool) -> None:
    markup = _Markup()
    markup.feed(page)
    markup.close()
    if markup.bad:
        raise WrongResult(f"the HTML report carries active markup: {', '.join(markup.bad[:3])}")
    if bool(markup.images) != expect_image:
        raise WrongResult(f"the HTML report embeds {len(markup.images)} image(s); expected "
                          f"{'the PNG screenshot' if expect_image else 'none'}")


def run_evidence(example: tuple) -> None:
    from diagnose.pipeline.evidence_io import load_evidence, save_evidence
    from diagnose.report import render
    from diagnose.report.model import build_report, exit_code, redacted

    path, data, png = _evidence_file(example)
    ticket, evidence = load_evidence(path)
    report = build_report(ticket, evidence, embed_screenshots=True)
    if exit_code(report) not in (0, 1, 3):
        raise WrongResult(f"exit code {exit_code(report)}")
    page = render("html", report)
    emit(render("json", report), render("terminal", report), page)
    shots = [v.get("screenshot") for v in data["evidence"].values() if isinstance(v, dict)]
    _check_html(page, png in shots)
    hidden = redacted(report)
    emit(render("json", hidden), render("terminal", hidden), render("html", hidden))
    # saved again (ticket --save-evidence) and explained again: the same report
    again = workdir() / "again.json"
    save_evidence(again, ticket, evidence)
    if render("json", build_report(*load_evidence(again), embed_screenshots=True)) != render("json", report):
        raise WrongResult("the evidence saved again and loaded again gives another report")


# -- 6. exports: CSV / JSON Lines read by `diagnose reconcile`; every row accounted for -----------------

LONG = "<LONG>"  # a 140 KB field: past the 128 KB where a cp1252 read once stopped
CSV_ATOMS = ["a@x.com", "B@X.COM ", "ann+tag@gmail.com", "a.n.n@gmail.com", "j***@x.com", '"', '""', '"Ann" Lee',
             '=F("u","x")', "=1+1", "+1", "-1", "@SUM(A1)", "\uff1dSUM(A1)", "\u200b=1", "\ufeff=1", "\t=1", "\r=1",
             ",", ";", "\t", "\\", "\\\"", "'", "\x1f", "\x00", "\u2028", "\x85", "\r", "\n", "\r\n", "é", "€", "ß",
             "2024-01-02", "02/01/2024", "13/13/2024", "Paid", "Declined", "jane", " ", "YTFi", "k1", "NaN"]
CELL = st.one_of(text_of(CSV_ATOMS, max_parts=4, max_run=3000), st.sampled_from(["", " ", "k1", "k2", LONG]))
EMAIL = st.sampled_from(["a@x.com", "b@y.org", " c@z.io ", "", " ", "dé@x.com", "A@X.com", "a+x@x.com", "=a@x.com"])
HEADERS = ["customer_key", "email", "name", "partner_key", "created_at", "status"]
CSV_LINE = st.one_of(
    st.tuples(st.just("row"), st.tuples(CELL, EMAIL, CELL, CELL, CELL, CELL)),
    st.tuples(st.just("row"), st.lists(CELL, max_size=8)),  # too few or too many fields
    st.tuples(st.just("raw"), st.one_of(st.sampled_from(["", "  ", "\t", '""', 'x,"Ann" Lee,1', "\x1fq,w,e",
                                                          'a@x.com,"open', "a,b", '"', '"""', ",,,,,"]),
                                        text_of(CSV_ATOMS, max_parts=8, max_run=3000))),
)
CSV_FILE = st.tuples(st.just("csv"), st.sampled_from(["", "\n", " \r\n", "\n\n"]), st.lists(CSV_LINE, max_size=10),
                     st.sampled_from([",", ";", "\t"]), st.sampled_from(["\n", "\r\n", "\r"]),
                     st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
                     st.sampled_from(["utf-8", "utf-8-raw", "utf-8-sig", "cp1252", "utf-16"]))
JSON_LINE = st.one_of(
    st.builds(lambda d, a: dumps(d, ensure_ascii=a),
              st.dictionaries(st.sampled_from(["email", "name", "customer_key", "status", "x", ""]),
                              st.one_of(CELL, EMAIL, JSONISH), max_size=4), st.booleans()),
    st.sampled_from(["", "  ", "\x1f", "[1]", "{bad", '{"email": "a@x.com"}\u2028', '"x"', "null", "1e999",
                     '{"email": "\\ud800"}', '{"email": ' + "9" * 5000 + "}", "{" * 3000 + "}" * 3000, '\t{"a":1}\r']),
    text_of(CSV_ATOMS + ["{", "}", '":', "[", "]"], max_parts=8, max_run=3000),
)
JSONL_FILE = st.tuples(st.just("jsonl"), st.lists(JSON_LINE, max_size=10), st.sampled_from(["\n", "\r\n"]),
                       st.sampled_from(["utf-8", "utf-8", "utf-8-raw", "utf-8-sig", "utf-16", "cp1252"]))
EXPORTS = st.tuples(
    st.one_of(CSV_FILE, JSONL_FILE), st.one_of(CSV_FILE, JSONL_FILE),
    st.sampled_from([None, "jane", "k1", "a@x.com", " \ud800", "=1"]),  # --customer
    st.sampled_from([None, "jane", "\u200b"]),  # --partner
    st.sampled_from(["key+email", "email", "key"]), st.booleans(),  # --missed-out
)


def _export_text(spec: tuple) -> tuple[str, str, str]:
    """(the file's text, its encoding, its suffix)."""
    if spec[0] == "jsonl":
        _, lines, ending, encoding = spec
        text = ending.join(['{"email": "h@x.com", "customer_key": "h"}', *lines]) + ending
        text = text.replace(LONG, "x" * 140_000)
        return text, encoding, ".jsonl"
    _, lead, lines, delim, ending, quoting, encoding = spec
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delim, lineterminator=ending, quoting=quoting)
    writer.writerow(HEADERS)
    for kind, value in lines:
        if kind == "raw":
            out.write(value.replace(",", delim) + ending)
        else:
            writer.writerow([c.replace(LONG, "x" * 140_000) for c in value])
    return lead + out.getvalue(), encoding, ".csv"


def _stored(text: str, encoding: str) -> str:
    """The text a reader gets back from the file (what cp1252 cannot hold becomes '?')."""
    if encoding == "cp1252":
        return text.encode("cp1252", errors="replace").decode("cp1252")
    return text.encode("utf-8", errors="replace").decode("utf-8") if encoding != "utf-16" else text


def csv_rows(text: str, delim: str) -> int:
    """The data rows the csv module reads (records after the header; blank lines are not rows)."""
    physical = io.StringIO(text, newline="").readlines()
    reader = csv.reader(physical, delimiter=delim)
    rows, start, header = 0, 1, False
    for _ in reader:
        end = reader.line_num
        if "".join(physical[start - 1:end]).strip(" \r\n"):
            rows += header
            header = True
        start = end + 1
    return rows


def jsonl_rows(text: str) -> tuple[int, int]:
    """(the non-blank lines of a JSON Lines text, how many of them are not a JSON object)."""
    lines = [line for line in text.split("\n") if line.strip(" \t\r")]
    bad = 0
    for line in lines:
        try:
            bad += not isinstance(json.loads(line), dict)
        except (ValueError, RecursionError):  # RecursionError: nested past ~1,000 levels
            bad += 1
    return len(lines), bad


def run_export(example: tuple) -> None:
    from diagnose.checks.reconcile import reconcile_files
    from diagnose.core.csvsafe import neutralise
    from diagnose.report import render

    dash_spec, intl_spec, customer, partner, match_on, missed = example
    expected, not_objects, files = {}, {}, {}
    for side, spec in (("dashboard", dash_spec), ("internal", intl_spec)):
        text, encoding, suffix = _export_text(spec)
        files[side] = workdir() / f"{side}{suffix}"
        files[side].write_bytes(encode(text, encoding) if encoding != "utf-16"
                                else text.encode("utf-16", errors="surrogatepass"))
        stored = _stored(text, encoding).removeprefix("\ufeff")
        if suffix == ".jsonl":
            expected[side], not_objects[side] = jsonl_rows(stored)
        else:
            expected[side], not_objects[side] = csv_rows(stored, spec[3]), 0
    out_csv = workdir() / "missed.csv"
    stream = io.StringIO()
    result = reconcile_files(files["dashboard"], files["internal"], customer=customer, partner=partner,
                             match_on=match_on, rows=False, missed_out=out_csv if missed else None, json_out=stream)
    c = result.evidence.counts
    pairs = c.matched + c.other_partner + c.pending
    got = {"dashboard": c.dashboard, "internal": c.internal}
    if got != expected:
        raise WrongRows(f"the tool counts {got}, the csv / json modules read {expected}")
    sums = {"dashboard": pairs + c.dashboard_only + c.rejected_dashboard + c.excluded_dashboard,
            "internal": pairs + c.missing_from_dashboard + c.rejected_internal + c.excluded_internal}
    if sums != expected:
        raise WrongRows(f"the buckets hold {sums} rows, the files {expected}")
    rejected = {"dashboard": c.rejected_dashboard, "internal": c.rejected_internal}
    if any(rejected[side] < not_objects[side] for side in rejected):
        raise WrongRows(f"{not_objects} lines are not JSON objects, only {rejected} rows are rejected")
    full = json.loads(stream.getvalue())
    listed = {k: len(full[k]) for k in ("matched", "other_partner", "pending", "missing_from_dashboard",
                                        "dashboard_only", "rejected", "excluded")}
    counted = {k: getattr(c, k) for k in listed}
    if listed != counted:
        raise WrongRows(f"the --json lists hold {listed} rows, the counts say {counted}")
    emit(stream.getvalue(), render("terminal", result), render("json", result))
    if missed:
        with open(out_csv, newline="", encoding="utf-8") as fh:
            written = list(csv.reader(fh))
        if len(written) - 1 != c.missing_from_dashboard:
            raise WrongRows(f"--missed-out holds {len(written) - 1} rows, missing_from_dashboard is {c.missing_from_dashboard}")
        unsafe = [cell for row in written[1:] for cell in row if neutralise(cell) != cell]
        if unsafe:
            raise WrongResult(f"--missed-out writes a formula cell: {shorten(unsafe[0], 80)}")


# -- the targets -------------------------------------------------------------------------------------------


def _warm_export() -> None:
    run_export((("csv", "", [("row", ("k1", "a@x.com", "Ann", "jane", "2024-01-02", "Paid"))], ",", "\n",
                 csv.QUOTE_MINIMAL, "utf-8"), ("jsonl", ['{"email": "a@x.com"}'], "\n", "utf-8"), "a@x.com", "jane",
                "key+email", True))


def _warm_evidence() -> None:
    run_evidence(([], "<png>", None, "utf-8", None, "evidence.json"))


TARGETS = {t.name: t for t in (
    Target("gspk", GSPK, run_gspk, weight=25),
    Target("page-html", PAGES, run_page, weight=15, warm=lambda: run_page(("kept", ""))),
    Target("redirects", REDIRECTS, run_redirect, weight=25, warm=lambda: run_redirect(("page", "<p>", None))),
    Target("ticket", TICKETS, run_ticket, weight=15, warm=lambda: run_ticket((".yaml", "link: x.com\n", "utf-8"))),
    Target("evidence", EVIDENCE, run_evidence, weight=10, warm=_warm_evidence),
    Target("exports", EXPORTS, run_export, weight=10, warm=_warm_export),
)}
