"""What the fuzz suite (tests/fuzzing.py, benchmarks/fuzz.py) found in the code it covers, each kept
as a plain regression test: it failed before its fix."""

from __future__ import annotations

import io
import json

import pytest

from diagnose.checks.reconcile import reconcile_files
from diagnose.checks.reconcile.read import read_table
from diagnose.core.errors import BadInput
from diagnose.core.reading import MAX_DEPTH, parse_yaml
from diagnose.core.ticket import from_mapping, load, with_overrides

# -- reconcile: JSON Lines and the --json stream --------------------------------------------------------


def test_jsonl_with_huge_integers_and_escaped_surrogates_is_read(tmp_path):
    """A 5,000-digit integer is a rejected line (json raises a plain ValueError, without .msg); an
    escaped lone surrogate in a value or a key becomes U+FFFD (no column can hold it)."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"email": "a@x.com", "name": "\\ud800"}\n{"email": ' + "9" * 5000 + "}\n"
                    '{"email": "b@x.com", "\\udfff": 1}\n', encoding="utf-8")
    table = read_table(path, "dashboard")
    assert table.total == 3 and table.rows["email"].to_list() == ["a@x.com", "b@x.com"]
    assert table.rows["name"].to_list() == ["\ufffd", None]
    assert "\ufffd" in table.headers
    assert table.rejected["line"].to_list() == [2] and "Exceeds the limit" in table.rejected["reason"][0]


def test_a_jsonl_line_nested_too_deeply_is_a_rejected_line(tmp_path):
    """json.loads raises RecursionError, not ValueError, past ~1,000 levels (exit 3 before)."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"email": "a@x.com"}\n' + "[" * 5000 + "]" * 5000 + '\n{"email": "b@x.com", "x": [[1]]}\n',
                    encoding="utf-8")
    table = read_table(path, "dashboard")
    assert table.total == 3 and table.rows["email"].to_list() == ["a@x.com", "b@x.com"]
    assert table.rejected["line"].to_list() == [2] and "nested too deeply" in table.rejected["reason"][0]


def test_the_reconcile_json_stream_never_fails_to_encode(tmp_path):
    (tmp_path / "d.csv").write_text("email,name\na@x.com,Ann\n", encoding="utf-8")
    (tmp_path / "i.csv").write_text("email,name\nb@x.com,Bob\n", encoding="utf-8")
    out = io.StringIO()
    reconcile_files(tmp_path / "d.csv", tmp_path / "i.csv", customer="\udcff", rows=False, json_out=out)
    assert json.loads(out.getvalue().encode("utf-8"))["customer"]["query"] == "\ufffd"


# -- tickets: YAML tags, nesting, paths -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["click_browser: !!bool x\n", "click_date: !!timestamp 1:20:30\n",
                                  "customer_name: !!int abc\n", "customer_name: !!float x\n",
                                  "link: [!!bool x]\n", "link: {a: !!timestamp x}\n"])
def test_a_yaml_tag_on_a_value_it_cannot_build_is_bad_input(text):
    """PyYAML's constructors raise KeyError, AttributeError, ValueError ... on such a value (exit 3 before)."""
    with pytest.raises(BadInput, match="not valid YAML at line 1"):
        parse_yaml(text, "ticket t.yaml")


def test_yaml_nesting_is_refused_while_composing(monkeypatch):
    """At MAX_DEPTH + 1 levels, not when Python's recursion limit stops the composer hundreds of levels
    later (the scanner's work grows with the square of the open nesting: ~3x slower)."""
    import yaml.composer

    nodes = []
    compose = yaml.composer.Composer.compose_node
    monkeypatch.setattr(yaml.composer.Composer, "compose_node",
                        lambda self, *a: (nodes.append(1), compose(self, *a))[1])
    with pytest.raises(BadInput, match="nested too deeply"):
        parse_yaml("link: " + "[" * 50_000, "ticket t.yaml")
    assert len(nodes) <= MAX_DEPTH + 2
    deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert parse_yaml("a: " + deep, "t") == {"a": json.loads(deep)}


@pytest.mark.parametrize("value", ["a\x00b.csv", "\ud800.csv"])
def test_a_ticket_path_that_cannot_be_a_file_name_is_bad_input(tmp_path, value):
    ticket = tmp_path / "t.json"
    ticket.write_text(json.dumps({"dashboard": value}), encoding="utf-8")
    with pytest.raises(BadInput, match="ticket key 'dashboard': .* cannot be a file name"):
        load(ticket)
    with pytest.raises(BadInput, match="cannot be a file name"):
        with_overrides(from_mapping({}), {"internal": value})


# -- messages quote a bounded excerpt ---------------------------------------------------------------------


@pytest.mark.parametrize("key, value", [("link", "https://a.b/\t" + "f" * 5000), ("link", "x" * 5000),
                                        ("signup_url", "ftp://" + "a" * 5000), ("link", "http://[::1" + "a" * 5000),
                                        ("expected_public_key", "pk_" + "9" * 5000)])
def test_a_long_bad_value_is_quoted_as_an_excerpt(key, value):
    """core/urls.py and core/partnerstack.py quoted the whole value (a 1 MB ticket: a 1 MB message)."""
    with pytest.raises(BadInput) as info:
        from_mapping({key: value})
    assert len(str(info.value)) < 400 and key in str(info.value)


# -- snippet: a page address that is no URL -------------------------------------------------------------


@pytest.mark.parametrize("base, src, host", [
    ("http://[::1", "https://js.partnerstack.com/v1/", "js.partnerstack.com"),  # the page's address
    ("https://acme.example/", "https://[::1/x.js", None),  # the script's src
    (None, "/pr/js", "example.invalid"),
])
def test_a_script_src_against_an_address_with_an_unclosed_ipv6_bracket_is_read(base, src, host):
    """urljoin / urlsplit raise ValueError ('Invalid IPv6 URL'): the snippet check crashed (hypothesis,
    CI's lowest releases: a page read with --url 'http://[::1')."""
    from diagnose.checks.snippet import check_snippet_html

    result = check_snippet_html(f"<script src='{src}'></script>", url=base)
    assert result.evidence.script_host == host
