"""Findings of a new-user tester of issue 10 (hostile input): a compressed export, a file of mixed
encodings, CR-only line endings, random bytes in a sweep list, a link with two gspk values and a
Refresh header whose delay is not a number. Each bad input gets a one-line error (exit 2), nothing
the user gave is dropped in silence, and row totals equal Python's csv / json readers."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from cli_output import one_line_error
from click.testing import CliRunner

from diagnose.checks.reconcile.read import read_table
from diagnose.cli import cli

INTERNAL = "email,customer_key\nkim@example.com,k1\n"


def reconcile(tmp_path: Path, dashboard: Path, *extra: str):
    internal = tmp_path / "internal.csv"
    internal.write_text(INTERNAL, encoding="utf-8")
    return CliRunner().invoke(cli, ["reconcile", "--dashboard", str(dashboard), "--internal", str(internal),
                                    *extra])


# -- 1. compressed exports ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, body", [
    ("gzip", b"\x1f\x8b\x08\x00" + b"\0" * 50),  # the tester's file: polars said "corrupt deflate stream" (exit 3)
    ("gzip", gzip.compress(b"email,customer_key\nkim@example.com,k1\n")),
    ("zstd", b"\x28\xb5\x2f\xfd" + b"\0" * 20),
    ("bzip2", b"BZh91AY&SY" + b"\0" * 20),
    ("xz", b"\xfd7zXZ\x00" + b"\0" * 20),
], ids=["gzip-corrupt", "gzip-valid", "zstd", "bzip2", "xz"])
def test_a_compressed_export_is_refused_in_one_line_naming_the_file(tmp_path, name, body):
    path = tmp_path / "export.csv"
    path.write_bytes(body)
    line = one_line_error(reconcile(tmp_path, path))
    assert "export.csv" in line and f"{name}-compressed" in line


def test_text_that_starts_like_a_zlib_stream_is_read_as_csv(tmp_path):
    # polars takes a file starting "x^" (0x78 0x5e) for zlib and fails: the csv module reads it
    path = tmp_path / "x.csv"
    text = "x^a,email\n1,kim@example.com\n2,lee@example.com\n"
    path.write_text(text, encoding="utf-8")
    table = read_table(path, "dashboard")
    assert table.total == len(list(csv.reader(io.StringIO(text)))) - 1
    assert table.rows["email"].to_list() == ["kim@example.com", "lee@example.com"]


# -- 2. a UTF-8 export with one cp1252 row -------------------------------------------------------------

MIXED = (b"Customer Key,Email,Name,Partner Key,Created At,Status\n"
         + "c1,zoë@x.com,Zoë,jane,2026-10-01,signed up\n".encode()
         + "c2,café@x.com,José,jane,2026-10-01,signed up\n".encode("cp1252")  # the tester's file
         + "c3,über@x.com,Ü,jane,2026-10-02,signed up\n".encode())


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_utf8_text_stays_utf8_when_another_line_is_cp1252(tmp_path, suffix):
    path = tmp_path / f"d{suffix}"
    if suffix == ".csv":
        path.write_bytes(MIXED)
    else:
        path.write_bytes(b'{"email": "zo\xc3\xab@x.com"}\n{"email": "caf\xe9@x.com"}\n{"email": "\xc3\xbcber@x.com"}\n')
    table = read_table(path, "dashboard")
    # the whole file was read as cp1252 before: zoë@x.com became zoÃ«@x.com
    assert table.rows["email"].to_list() == ["zoë@x.com", "café@x.com", "über@x.com"]
    assert table.total == 3
    # the evidence still says that some bytes were not UTF-8, how many lines and where the first was
    line = 3 if suffix == ".csv" else 2  # the header is line 1 of the CSV
    assert table.encoding.startswith(f"cp1252 where not UTF-8: 1 line(s), the first line {line} ")


def test_the_encoding_counts_each_line_with_bytes_that_are_not_utf8_once(tmp_path):
    path = tmp_path / "d.csv"
    body = b"email,name\n" + b"".join(b"a%d@x.com,Jos\xe9 Ren\xe9\n" % i for i in range(3)) + b"b@x.com,B\n"
    path.write_bytes(body)
    table = read_table(path, "dashboard")
    assert table.total == len(list(csv.reader(io.StringIO(body.decode("cp1252"))))) - 1
    assert table.rows["name"].to_list()[:3] == ["José René"] * 3
    first = body.index(b"\xe9")
    assert f"3 line(s), the first line 2 (byte {first})" in table.encoding


def test_reconcile_finds_the_utf8_customer_of_a_mixed_export(tmp_path):
    dash = tmp_path / "d.csv"
    dash.write_bytes(MIXED)
    internal = tmp_path / "i.csv"
    internal.write_text("email,name,signup_date\nzoë@x.com,Zoë,2026-10-01\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["reconcile", "--dashboard", str(dash), "--internal", str(internal),
                                      "--customer", "zoë@x.com", "--json"])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.output)
    counts = data["evidence"]["counts"] if "evidence" in data else data["counts"]
    assert counts["matched"] == 1 and counts["missing_from_dashboard"] == 0


# -- 5. one partner key parameter given twice, with two values -------------------------------------------


def test_a_gspk_given_twice_with_two_partners_is_reported_as_disagreeing():
    from diagnose.checks.gspk import check_gspk

    r = check_gspk("http://x/?gspk=amFuZQ&gspk=Ym9i")  # jane, then bob: it answered jane with no note
    assert r.evidence.partner_key == "jane"
    assert r.codes() == ["params-disagree"]
    message = r.problems[0].message
    assert "gspk='amFuZQ'" in message and "gspk='Ym9i'" in message
    assert check_gspk("http://x/?gspk=amFuZQ&gspk=amFuZQ").codes() == []  # the same key twice agrees
    assert check_gspk("http://x/?gspk=amFuZQ&ps_partner_key=amFuZQ&gspk=Ym9i").codes() == ["params-disagree"]


def test_a_landing_url_with_gspk_twice_is_reported_as_disagreeing(site, local_policy):
    from diagnose.checks.link import check_link
    from diagnose.demo.site import Page

    site.add("/l", Page("<!doctype html><html><head><title>Acme</title></head><body><p>Welcome</p></body></html>"))
    r = check_link(site.url("/l?gspk=amFuZQ&gspk=Ym9i&gsxid=a"), local_policy)
    assert r.codes() == ["params-disagree"]
    r = check_link(site.url("/l?gspk=amFuZQ&gsxid=a&gsxid=b"), local_policy)  # two click ids
    assert r.codes() == ["params-disagree"]
    assert check_link(site.url("/l?gspk=amFuZQ&gspk=amFuZQ&gsxid=a"), local_policy).codes() == []


# -- 6. a Refresh delay that is not a number -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1;url=/ok", "1e400;url=/ok", "url=/ok", "/ok", "0x;url=/ok", "+1;url=/ok",
                                   "\u00a00;url=/ok"])
def test_a_refresh_whose_delay_is_not_a_number_is_ignored_as_browsers_do(site, local_policy, value):
    from diagnose.checks.link import check_link
    from diagnose.demo.site import Page

    site.add("/r", Page("", headers=(("Refresh", value),)))
    site.add("/ok", Page("<!doctype html><html><head><title>ok</title></head><body><p>ok</p></body></html>"))
    r = check_link(site.url("/r"), local_policy)
    # it was followed to /-1;url=/ok and /e400;url=/ok: the page with the header is the landing page
    assert [h.kind for h in r.evidence.hops] == ["final"]
    assert r.evidence.final_url == site.url("/r")


@pytest.mark.parametrize("value, target", [
    ("0;url=/ok", "/ok"), ("5; URL='/ok'", "/ok"), ("1. , url = /ok", "/ok"), (".5;/ok", "/ok"), ("0 /ok", "/ok"),
    ("\t3,url=\"/ok\"", "/ok"),
])
def test_a_refresh_with_a_delay_is_followed(value, target):
    from diagnose.checks.link import _refresh_target

    assert _refresh_target(value) == target


def test_a_long_ascii_line_in_a_cp1252_file_is_read_at_once(tmp_path):
    import time

    # the count of lines holding cp1252 bytes went back over every character of a 140 KB line
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"email": "' + b"x" * 300_000 + b'"}\n{"email": "caf\xe9@x.com"}\n')
    start = time.monotonic()
    table = read_table(path, "dashboard")
    assert time.monotonic() - start < 5
    assert table.total == 2 and table.encoding.startswith("cp1252 where not UTF-8: 1 line(s), the first line 2")


# -- 4. random bytes in a sweep list ---------------------------------------------------------------------


@pytest.mark.parametrize("host", ["a<b.com", "a>b.com", 'a"b.com', "a\x07b.com", "a\x1bb.com", "a\x7fb.com",
                                  "a\x85b.com", "a|b.com", "a^b.com"])
def test_a_host_no_host_name_can_hold_is_a_bad_row_before_any_lookup(tmp_path, host):
    from diagnose.core.urls import url_problem
    from diagnose.pipeline.sweep_input import LinkSource

    assert "which no host name holds" in (url_problem(f"https://{host}/x") or "")
    path = tmp_path / "links.txt"
    path.write_bytes(f"{host}/x\nhttps://{host}/y\nhttps://ok.example/z\n".encode())
    rows = list(LinkSource(str(path)).rows())
    assert [r.url is None for r in rows] == [True, True, False]  # the two are bad rows: never looked up
    assert all(r.error and "\n" not in r.error for r in rows[:2])  # one line ("\x85" splits a text line: two values)


@pytest.mark.parametrize("url", ["https://acme.partnerlinks.io/jane", "http://[::1]:8080/", "http://127.0.0.1/",
                                 "https://bücher.example/", "https://xn--bcher-kva.example/"])
def test_ordinary_hosts_are_still_usable(url):
    from diagnose.core.urls import url_problem

    assert url_problem(url) is None


# -- 3. lines that end at a carriage return alone ----------------------------------------------------------


def test_a_cr_only_sweep_list_has_the_rows_the_csv_module_reads(tmp_path):
    from diagnose.pipeline.sweep_input import LinkSource

    links = [f"https://acme.example/ok?gspk=amFuZQ&i={i}" for i in range(6)]
    path = tmp_path / "links.csv"
    text = "link,partner_key\r" + "".join(f"{link},jane\r" for link in links)
    path.write_bytes(text.encode())
    source = LinkSource(str(path))
    rows = list(source.rows())  # it was one bad row
    assert len(rows) == source.count() == len(list(csv.reader(io.StringIO(text, newline="")))) - 1
    assert [r.url for r in rows] == links and [r.line for r in rows] == list(range(2, 8))
    txt = tmp_path / "links.txt"
    txt.write_bytes("\r".join(links).encode())
    assert [r.url for r in LinkSource(str(txt)).rows()] == links


def test_a_cr_only_line_longer_than_the_cap_is_one_bad_row_and_the_rest_is_read(tmp_path, monkeypatch):
    from diagnose.pipeline import sweep_input

    monkeypatch.setattr(sweep_input, "MAX_LINE", 100)
    path = tmp_path / "links.txt"
    path.write_bytes(b"https://a.example/1\rhttps://b.example/" + b"x" * 500 + b"\rhttps://c.example/3\r")
    rows = list(sweep_input.LinkSource(str(path)).rows())
    assert [(r.line, r.url is None) for r in rows] == [(1, False), (2, True), (3, False)]
    assert "longer than" in rows[1].error


def test_a_cr_only_json_lines_export_is_read_line_by_line(tmp_path):
    path = tmp_path / "d.jsonl"
    body = "\r".join(f'{{"email": "u{i}@x.com", "name": "a\\u2028b\u2028c"}}' for i in range(20)) + "\r"
    path.write_text(body, encoding="utf-8", newline="")
    table = read_table(path, "dashboard")  # refused whole before ("Extra data")
    assert table.total == table.rows.height == 20
    assert table.rows["name"][0] == "a\u2028b\u2028c"  # a U+2028 in a string never splits a row
    mixed = tmp_path / "m.jsonl"  # a file with "\n" anywhere is split at "\n" only
    mixed.write_text('{"email": "a@x.com"}\n{"email": "b@x.com"}\r\n', encoding="utf-8", newline="")
    assert read_table(mixed, "dashboard").total == 2
