"""Issue #8: the static snippet check on the forms seen in real integrations: the key in an onload
attribute, reading or aliasing the growsumo global, snippet hosts that are only data, and the
case-8 finding built on that evidence."""

import re
import time

import pytest

from diagnose.checks import load_all
from diagnose.checks.snippet import analyse_html, check_snippet_html
from diagnose.checks.snippet_js import mask_strings, src_literals
from diagnose.demo.site import partnerstack_snippet
from diagnose.rules.engine import RULES, Facts, Verdict, evaluate
from diagnose.core.ticket import from_mapping

load_all()

KEY = "pk_" + "A1b2C3d4" * 4
OTHER = "pk_" + "Z9y8X7w6" * 4
HOST = "https://js.partnerstack.com/v1/"
LEGACY = "https://snippet.growsumo.com/growsumo.min.js"


def page(head="", body=""):
    return f"<!doctype html><html><head><title>Acme</title>{head}</head><body><h1>Acme</h1>{body}</body></html>"


def analyse(html, expected=None):
    ev, problems = analyse_html(html, base_url="https://www.acme.example/", expected_key=expected)
    return ev, [p.code for p in problems]


def finding(rule_id, html, expected=None, ticket=None):
    result = check_snippet_html(html, url="https://www.acme.example/", expected_key=expected)
    facts = Facts(from_mapping({"expected_public_key": expected, **(ticket or {})} if expected else ticket or {}),
                  {"snippet": result})
    return evaluate(RULES[rule_id], facts)


def onload_tag(arg, attr="onload", quote='"'):
    return f"<script src={quote}{HOST}{quote} async {attr}={quote}growsumo._initialize({arg}){quote}></script>"


# 1. The key in the script tag's onload attribute (or another inline event handler)

def test_key_in_the_onload_attribute_is_found():
    ev, codes = analyse(page(onload_tag(f"'{KEY}'")), expected=KEY)
    assert codes == []
    assert ev.snippet_found and ev.in_head
    assert ev.public_key == KEY and ev.public_key_status == "ok"
    assert ev.script_src == HOST and ev.script_host == "js.partnerstack.com"
    assert [i.how for i in ev.instances] == ["script-src", "attribute"]
    assert ev.instances[1].script_src == HOST


@pytest.mark.parametrize(
    "arg, expected, status, code",
    [
        (f"'{OTHER}'", KEY, "mismatch", "public-key-mismatch"),
        ("'{{ ps_key }}'", None, "placeholder", "public-key-placeholder"),
        ("'YOUR_PUBLIC_KEY'", None, "placeholder", "public-key-placeholder"),
        ("''", None, "missing", "public-key-missing"),
        ("'pk_123'", None, "malformed", "public-key-malformed"),
        ("window.PS_KEY", None, "unresolved", "public-key-unresolved"),
    ],
)
def test_broken_keys_in_the_onload_attribute_read_as_in_inline_code(arg, expected, status, code):
    ev, codes = analyse(page(onload_tag(arg)), expected=expected)
    assert ev.public_key_status == status
    assert code in codes


@pytest.mark.parametrize(
    "tag",
    [
        f"<script src='{HOST}' onload='partnerstack._initialize(\"{KEY}\")'></script>",  # double quotes inside
        f'<script src="{HOST}" onload="growsumo._initialize(&quot;{KEY}&quot;)"></script>',  # entities
        f'<script src="{HOST}" ONLOAD="window.growsumo._initialize(`{KEY}`)"></script>',
        f'<script src="{HOST}" onreadystatechange="growsumo._initialize(\'{KEY}\')"></script>',
        f'<script src="{HOST}" onload="/* init */ try {{ growsumo._initialize(\'{KEY}\'); }} catch (e) {{}}"></script>',
    ],
)
def test_onload_variants(tag):
    ev, codes = analyse(page(tag), expected=KEY)
    assert codes == [] and ev.public_key == KEY


def test_key_in_the_body_onload_handler():
    ev, codes = analyse(page(f'<script src="{HOST}"></script>').replace(
        "<body>", f"<body onload=\"growsumo._initialize('{KEY}')\">"))
    assert codes == [] and ev.public_key == KEY
    assert ev.instances[-1].how == "attribute" and not ev.instances[-1].in_head


def test_onload_without_an_initialize_call_is_still_missing():
    ev, codes = analyse(page(f'<script src="{HOST}" onload="startApp()"></script>'))
    assert ev.public_key_status == "missing" and "public-key-missing" in codes


def test_an_onload_key_is_not_confirmed_as_case_8():
    html = page(onload_tag(f"'{KEY}'"))
    assert finding("case-8", html, expected=KEY).verdict is Verdict.RULED_OUT
    broken = finding("case-8", page(onload_tag("''")))
    assert broken.verdict is Verdict.CONFIRMED and "None" not in broken.reason


def test_event_handler_that_replaces_growsumo_data_is_an_overwrite():
    html = page(onload_tag(f"'{KEY}'"), '<form onsubmit="growsumo.data = {email: this.email.value}"></form>')
    ev, codes = analyse(html)
    assert "growsumo-data-overwritten" in codes
    assert ev.data_overwrites and "growsumo.data" in ev.data_overwrites[0]


# 2. Reading or aliasing the global is not replacing it

@pytest.mark.parametrize(
    "code, flagged",
    [
        ("window.growsumo = growsumo;", False),
        ("window.growsumo = window.growsumo;", False),
        ("self.growsumo = growsumo", False),
        ("let growsumo = window.growsumo;", False),
        ("var growsumo = window.growsumo || {};", False),
        ('var growsumo = window["growsumo"];', False),
        ("const gs = window.growsumo; gs.data.email = e;", False),
        ("var a = 1, growsumo = window.growsumo, b = 2;", False),
        ("window.growsumo = null;", True),
        ("growsumo = {};", True),
        ("var growsumo = new Something();", True),
        ("window.growsumo = growsumo.data;", True),
        ("let growsumo = window.growsumoStub;", True),
        ("growsumo.data = {email: e};", True),
        ("const gs = window.growsumo; gs.data = {email: e};", True),  # replaced through the alias
        ("const gs = window.growsumo; gs.data = {email: e, partner_key: gs.data.partner_key};", False),
        ("Object.assign(growsumo, {data: {email: e}});", True),
    ],
)
def test_reading_aliasing_and_replacing_the_global(code, flagged):
    ev, codes = analyse(page(partnerstack_snippet(f"'{KEY}'", src=HOST), f"<script>{code}</script>"))
    assert ("growsumo-data-overwritten" in codes) is flagged, ev.data_overwrites
    assert bool(ev.data_overwrites) is flagged


def test_an_alias_is_not_case_7():
    html = page(partnerstack_snippet(f"'{KEY}'", src=HOST), "<script>var growsumo = window.growsumo;</script>")
    assert finding("case-7", html).verdict is Verdict.POSSIBLE


# 3. A snippet host's URL that is only data loads nothing

DATA_ONLY = [
    f'<script>var blocked = ["{HOST}", "{LEGACY}"];</script>',
    f"<script>var trackers = [{{name: 'ps', url: '{HOST}'}}];</script>",
    f'<script>if (url.indexOf("{HOST}") === 0) {{ block(url); }}</script>',
    f'<script>if (s.src === "{HOST}") s.type = "text/plain";</script>',
    f'<script>console.log("blocked {HOST}", "{LEGACY}");</script>',
    f"<script>var PS = '{HOST}'; if (blocked.includes(PS)) {{ warn(PS); }}</script>",
    f'<script type="application/json">{{"trackers": ["{HOST}"], "src": "{HOST}"}}</script>',
    f'<script type="application/ld+json">{{"url": "{LEGACY}"}}</script>',
    f'<script type="importmap">{{"imports": {{"ps": "{HOST}"}}}}</script>',
    f"<!-- trackers we block: {HOST} and {LEGACY} -->",
    f'<link rel="preconnect" href="{HOST}"><link rel="dns-prefetch" href="//snippet.growsumo.com">',
    f"<meta name=\"csp-note\" content=\"script-src {HOST}\"><div data-trackers='[\"{HOST}\"]'></div>",
]


@pytest.mark.parametrize("markup", DATA_ONLY)
def test_a_host_url_that_is_only_data_is_no_snippet(markup):
    ev, codes = analyse(page(markup))
    assert not ev.snippet_found and not ev.commented_out
    assert ev.public_key_status is None and ev.script_src is None
    assert codes == ["no-snippet"]
    result = check_snippet_html(page(markup))
    assert "only as data" in result.problems[0].message


@pytest.mark.parametrize("markup", DATA_ONLY[:2] + DATA_ONLY[6:7] + DATA_ONLY[9:10])
def test_data_strings_confirm_neither_case_4_nor_case_8(markup):
    assert finding("case-8", page(markup)).verdict is Verdict.CANNOT_TELL
    assert finding("case-4", page(markup)).verdict is not Verdict.CONFIRMED


LOADERS = [
    f"var s = document.createElement('script'); s.setAttribute('src', '{HOST}'); document.head.appendChild(s);",
    f"var u = '{HOST}'; var s = document.createElement('script'); s.src = u; document.head.appendChild(s);",
    f"window.PS_URL = \"{HOST}\"; var s = document.createElement('script'); s.src = window.PS_URL;",
    f"loadScript('{HOST}', function () {{}});",
    f'$.getScript("{HOST}");',
    f"s['src'] = `{HOST}`;",
    f"document.write('<script src=\"{HOST}\"><\\/script>');",
    f'_jsx(Script, {{src: "{HOST}", strategy: "afterInteractive"}});',
    "s.src = 'https://' + location.host + '/pr/js';",
    f"gs.src = prod ? '{HOST}' : '/dev/ps.js';",
]


@pytest.mark.parametrize("code", LOADERS)
def test_loader_code_still_loads_the_snippet(code):
    ev, codes = analyse(page(f"<script>{code}</script>"))
    assert ev.snippet_found and ev.public_key_status == "missing"
    assert ev.script_src and ("js.partnerstack.com" in ev.script_src or ev.script_src.endswith("/pr/js"))
    assert "public-key-missing" in codes


def test_the_loaded_url_is_the_script_src_not_a_listed_one():
    html = page(f'<script>var blocked = ["{LEGACY}"];</script>' + partnerstack_snippet(f"'{KEY}'", src=HOST))
    ev, codes = analyse(html)
    assert codes == [] and ev.script_src == HOST
    mixed = page(f"<script>var known = ['{LEGACY}']; growsumo._initialize('{KEY}');</script>")
    ev, codes = analyse(mixed)
    assert ev.instances[0].script_src is None and ev.public_key == KEY


def test_a_snippet_really_commented_out_is_still_reported_as_such():
    for markup in (f'<!-- <script src="{HOST}"></script> -->',
                   f"<!-- <script>var gs = document.createElement('script'); gs.src = '{HOST}';</script> -->",
                   f"<!-- growsumo._initialize('{KEY}') -->"):
        ev, codes = analyse(page(markup))
        assert ev.commented_out and codes == ["snippet-commented-out"], markup


def test_src_literals_reads_context_not_strings():
    code = f"var list = ['{HOST}']; var s = 'x=1;y:2(' + 3; gs.src = 'https://' + 'a.b' + '/pr/js';"
    assert src_literals(code) == [(HOST, False), ("/pr/js", True)]
    masked = mask_strings(code)
    assert len(masked) == len(code) and "x 1 y 2 " in masked


# 5. What worked before still works

@pytest.mark.parametrize(
    "call",
    [
        f'partnerstack._initialize("{KEY}")',
        f"window.partnerstack._initialize('{KEY}')",
        f'window["growsumo"]["_initialize"]("{KEY}")',
        f"growsumo._initialize(`{KEY}`)",
        f"growsumo._initialize(`\n    {KEY}\n  `)",
    ],
)
def test_initialize_forms_and_quotes(call):
    ev, codes = analyse(page(f'<script src="{HOST}"></script><script>{call}</script>'), expected=KEY)
    assert codes == [] and ev.public_key == KEY and ev.public_key_status == "ok"


def test_a_template_literal_with_an_expression_is_a_placeholder():
    ev, codes = analyse(page(f"<script src=\"{HOST}\"></script><script>growsumo._initialize(`pk_${{env.PS}}`)</script>"))
    assert ev.public_key_status == "placeholder" and "public-key-placeholder" in codes


# case-8's texts name what is missing, never a Python None

@pytest.mark.parametrize(
    "snippet, cookie, words",
    [
        ({"public_key_status": "missing", "public_key": None, "snippet_found": True}, None, "no public key"),
        ({"public_key_status": "missing", "public_key": "", "snippet_found": True}, None, "empty"),
        ({"public_key_status": "placeholder", "public_key": "{{ k }}", "snippet_found": True}, None, "{{ k }}"),
        (None, {"growsumo": {"loaded": True, "initialize_called": True, "public_key": None}}, "no public key"),
        (None, {"problems": ["initialized-with-other-key"],
                "growsumo": {"loaded": True, "initialize_called": True, "public_key": OTHER}}, OTHER),
    ],
)
def test_case_8_reasons_never_print_none(snippet, cookie, words):
    from test_rules import build_result

    evidence = {}
    if snippet is not None:
        evidence["snippet"] = build_result("snippet", snippet)
    if cookie is not None:
        evidence["cookie"] = build_result("cookie", cookie)
    result = evaluate(RULES["case-8"], Facts(from_mapping({}), evidence))
    assert result.verdict is Verdict.CONFIRMED
    assert not re.search(r"\bNone\b", result.reason), result.reason
    assert words in result.reason


# Hostile pages stay fast

@pytest.mark.parametrize(
    "hostile",
    [
        "<script>" + "a" * 200_000 + "(" + "</script>",
        "<script>" + "x.src = " * 20_000 + "</script>",
        "<script>" + "'https://js.partnerstack.com/" * 20_000 + "</script>",
        "<script>" + "var a = window.growsumo;" * 5_000 + "a.data = {};" * 5_000 + "</script>",
        "<div " + " ".join(f'onclick{i}="growsumo._initialize(' for i in range(5_000)) + "></div>",
        "<!--" + "https://js.partnerstack.com/ <script " * 10_000 + "-->",
    ],
)
def test_hostile_pages_are_read_in_bounded_time(hostile):
    start = time.perf_counter()
    analyse(page(hostile))
    assert time.perf_counter() - start < 10


def test_a_stray_quote_does_not_hide_the_loader_on_the_next_lines():
    code = f"var re = /'/g;\nvar gs = document.createElement('script');\ngs.src = '{HOST}';"
    assert src_literals(code) == [(HOST, True)]
