"""`diagnose snippet`: the static-HTML inspection of the landing page, on the variants seen in real sites."""

import pytest

from diagnose.checks.snippet import analyse_html, check_snippet_file, check_snippet_url, strip_js_comments
from diagnose.demo.site import Page, partnerstack_snippet, redirect

KEY = "pk_" + "A1b2C3d4" * 4
OTHER = "pk_" + "Z9y8X7w6" * 4


def snippet(key_arg=f"'{KEY}'", host="https://js.partnerstack.com/v1/", obj="growsumo"):
    return partnerstack_snippet(key_arg, src=host, obj=obj)


def page(head="", body=""):
    return f"<!doctype html><html><head><title>Acme</title>{head}</head><body><h1>Acme</h1>{body}</body></html>"


def analyse(html, expected=None):
    ev, problems = analyse_html(html, base_url="https://www.acme.example/", expected_key=expected)
    return ev, [p.code for p in problems]


@pytest.mark.parametrize(
    "host",
    ["https://js.partnerstack.com/v1/", "https://snippet.growsumo.com/growsumo.min.js",
     "https://partners.acme.example/pr/js", "//js.partnerstack.com/v1/", "/pr/js"],
)
def test_official_snippet_on_every_known_host(host):
    ev, codes = analyse(page(snippet(host=host)))
    assert codes == []
    assert ev.snippet_found and ev.in_head
    assert ev.public_key == KEY and ev.public_key_status == "ok"
    assert ev.script_src == host
    assert ev.script_host == (host.split("//")[1].split("/")[0] if "//" in host else "www.acme.example")


def test_partnerstack_object_name_is_accepted():
    ev, codes = analyse(page(snippet(obj="window.partnerstack")))
    assert codes == [] and ev.public_key == KEY


def test_script_tag_plus_separate_initialize():
    html = page(f'<script src="https://js.partnerstack.com/v1/"></script><script>growsumo._initialize("{KEY}")</script>')
    ev, codes = analyse(html)
    assert codes == [] and ev.public_key_status == "ok"


@pytest.mark.parametrize(
    "arg, status, code",
    [
        ("''", "missing", "public-key-missing"),
        ("", "missing", "public-key-missing"),
        ("undefined", "missing", "public-key-missing"),
        ("'${PARTNER_STACK_PUBLIC_KEY}'", "placeholder", "public-key-placeholder"),
        ("`${process.env.PS_KEY}`", "placeholder", "public-key-placeholder"),
        ("'{{ ps_key }}'", "placeholder", "public-key-placeholder"),
        ("'<?php echo $key ?>'", "placeholder", "public-key-placeholder"),
        ("'<%= ps_public_key %>'", "placeholder", "public-key-placeholder"),
        ("'YOUR_PUBLIC_KEY'", "placeholder", "public-key-placeholder"),
        ("'pk_123'", "malformed", "public-key-malformed"),
        ("'sk_live_abc'", "malformed", "public-key-malformed"),
        ("window.PS_KEY", "unresolved", "public-key-unresolved"),
    ],
)
def test_broken_public_keys(arg, status, code):
    ev, codes = analyse(page(snippet(key_arg=arg)))
    assert ev.snippet_found
    assert ev.public_key_status == status
    assert code in codes


def test_mismatch_only_with_an_expected_key():
    html = page(snippet(key_arg=f"'{OTHER}'"))
    assert analyse(html)[1] == []
    ev, codes = analyse(html, expected=KEY)
    assert ev.public_key_status == "mismatch" and codes == ["public-key-mismatch"]


def test_script_loaded_without_initialize_is_missing_key():
    ev, codes = analyse(page('<script async src="https://js.partnerstack.com/v1/"></script>'))
    assert ev.snippet_found and ev.public_key_status == "missing"
    assert "public-key-missing" in codes


def test_no_snippet():
    ev, codes = analyse(page('<script src="/app.js"></script><script>console.log("growsumo")</script>'))
    assert not ev.snippet_found
    assert codes == ["no-snippet"]


def test_snippet_only_in_an_html_comment_is_not_found():
    ev, codes = analyse(page("<!-- " + snippet() + " -->"))
    assert not ev.snippet_found and ev.commented_out
    assert codes == ["snippet-commented-out"]


def test_snippet_commented_out_inside_the_script():
    ev, codes = analyse(page(f"<script>// growsumo._initialize('{KEY}');\n/* gs.src='https://js.partnerstack.com/v1/' */</script>"))
    assert not ev.snippet_found and ev.commented_out
    assert codes == ["snippet-commented-out"]


def test_js_comment_stripping_keeps_urls_in_strings():
    assert strip_js_comments("a = 'https://x/y'; // c\nb = 1 /* d */;") == "a = 'https://x/y'; \nb = 1  ;"


def test_snippet_in_body_is_a_warning():
    ev, codes = analyse(page(body=snippet()))
    assert ev.snippet_found and ev.in_head is False
    assert codes == ["snippet-not-in-head"]


def test_two_snippets_with_different_keys():
    ev, codes = analyse(page(snippet() + snippet(key_arg=f"'{OTHER}'")))
    assert ev.keys == (KEY, OTHER)
    assert "multiple-keys" in codes


def test_same_snippet_twice_is_a_warning():
    ev, codes = analyse(page(snippet() + snippet()))
    assert codes == ["multiple-keys"]


@pytest.mark.parametrize(
    "code, flagged",
    [
        ("growsumo.data = { name: n, email: e, customer_key: k };", True),
        ("window.growsumo = { createSignup: function(){} };", True),
        ("var growsumo = {};", True),
        ("delete growsumo.data;", True),
        ("growsumo.data.name = n; growsumo.data.email = e;", False),  # the documented way
        ("growsumo.data = Object.assign({}, growsumo.data, {email: e});", False),
        ("growsumo.data = {...growsumo.data, email: e};", False),
        ("window.growsumo = window.growsumo || {};", False),
        ("if (growsumo.data == null) {}", False),
        ('growsumo["data"] = {name: n, email: e};', True),
        ("Object.assign(growsumo, {data: {email: e}});", True),
        ("growsumo.data = {name: n, email: e, partner_key_note: 1};", True),
        ("growsumo.data = {email: e, partner_key: growsumo.data.partner_key};", False),
    ],
)
def test_site_code_overwriting_growsumo_data(code, flagged):
    ev, codes = analyse(page(snippet(), body=f"<script>{code}</script>"))
    assert ("growsumo-data-overwritten" in codes) is flagged
    assert bool(ev.data_overwrites) is flagged


def test_consent_blocked_script_type():
    html = page(snippet().replace("<script>", '<script type="text/plain" data-cookieconsent="marketing">'))
    assert "snippet-inert-type" in analyse(html)[1]


@pytest.mark.parametrize("key", ["sk_" + "a" * 32, "sk_live_" + "Ab3" * 8, "sk_test_" + "Z9" * 12])
def test_secret_key_on_the_page(key):
    ev, codes = analyse(page(snippet(), body=f"<script>var k='{key}'</script>"))
    assert ev.secret_key_exposed and "secret-key-exposed" in codes


@pytest.mark.parametrize("text", ["task_" + "a" * 32, "sk_live_short", "var disk_" + "a" * 32, "pk_" + "a" * 32])
def test_what_is_no_whole_secret_key_is_not_reported(text):
    ev, codes = analyse(page(snippet(), body=f"<script>var k='{text}'</script>"))
    assert not ev.secret_key_exposed and "secret-key-exposed" not in codes


def test_hostile_markup_does_not_break_the_parser():
    html = "<html><head><title><script>alert(1)</script></title>" + snippet() + "<scr<script>ipt>" + "<" * 1000
    ev, codes = analyse(html)
    assert ev.snippet_found


def test_snippet_from_a_url_follows_redirects(site, local_policy):
    site.add("/go", redirect("/landing?gspk=x"))
    site.add("/landing", Page(page(snippet())))
    r = check_snippet_url(site.url("/go"), local_policy, KEY)
    assert r.status == "pass", r.problems
    assert r.evidence.url == site.url("/landing?gspk=x")
    assert r.evidence.http_status == 200
    assert r.evidence.page_title == "Acme"


def test_snippet_url_error_page(site, local_policy):
    r = check_snippet_url(site.url("/missing"), local_policy)
    assert r.codes()[:2] == ["http-error", "no-snippet"]


def test_snippet_url_unreachable(site):
    from diagnose.web.fetch import NetPolicy

    r = check_snippet_url(site.url("/x"), NetPolicy(timeout=1))
    assert r.codes() == ["private-network"]


def test_snippet_from_file(tmp_path):
    f = tmp_path / "p.html"
    f.write_text(page(snippet()), encoding="utf-8")
    r = check_snippet_file(f, KEY)
    assert r.status == "pass" and r.evidence.file == str(f)


def test_bracket_access_to_initialize():
    html = page(f'<script src="https://js.partnerstack.com/v1/"></script><script>window["growsumo"]._initialize("{KEY}")</script>')
    ev, codes = analyse(html)
    assert codes == [] and ev.public_key == KEY


def test_utf16_page_with_a_meta_charset(site, local_policy):
    body = page(snippet()).replace("<head>", '<head><meta charset="utf-16">').encode("utf-16")
    site.add("/u16", Page(body, content_type="text/html"))  # no charset in the header
    r = check_snippet_url(site.url("/u16"), local_policy)
    assert r.evidence.snippet_found and r.status == "pass", r.problems


def test_snippet_file_is_capped_and_must_be_a_file(tmp_path):
    from diagnose.core.errors import BadInput

    big = tmp_path / "big.html"
    big.write_text(page(snippet()) + "x" * 200, encoding="utf-8")
    r = check_snippet_file(big, max_bytes=len(page(snippet())) + 10)
    assert "body-truncated" in r.codes() and r.evidence.snippet_found
    with pytest.raises(BadInput, match="not a regular file"):
        check_snippet_file(tmp_path)
    with pytest.raises(BadInput, match="not a regular file"):
        check_snippet_file("/dev/zero")
