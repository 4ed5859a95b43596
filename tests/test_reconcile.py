"""diagnose reconcile: reading, matching, buckets, customer answer, missed-out CSV, CLI."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.checks.reconcile import normalise_email, reconcile_files
from diagnose.cli import cli
from diagnose.core.csvsafe import neutralise, neutralise_frame
from diagnose.core.errors import BadInput
from diagnose.core.evidence import CheckResult, Status

DATA = Path(__file__).parent / "data" / "reconcile"
DASH = DATA / "dashboard.csv"
INTL = DATA / "internal.csv"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def accounting_holds(ev) -> bool:
    c = ev.counts
    pairs = c.matched + c.other_partner + c.pending
    return (c.dashboard == pairs + c.dashboard_only + c.rejected_dashboard + c.excluded_dashboard
            and c.internal == pairs + c.missing_from_dashboard + c.rejected_internal + c.excluded_internal
            and c.rejected == c.rejected_dashboard + c.rejected_internal)


# -- the hand-made fixture: every bucket and reason ------------------------------------------------


@pytest.fixture(scope="module")
def result():
    return reconcile_files(DASH, INTL, partner="jane")


def test_counts_and_buckets(result):
    ev = result.evidence
    c = ev.counts
    assert (c.dashboard, c.internal) == (7, 10)
    assert (c.matched, c.other_partner, c.pending) == (4, 1, 1)
    assert (c.missing_from_dashboard, c.dashboard_only, c.rejected, c.date_unreadable) == (3, 1, 1, 1)
    assert accounting_holds(ev)
    assert ev.complete


def test_match_reasons(result):
    ev = result.evidence
    by_name = {r.name: r.match_reason for r in ev.matched + ev.other_partner + ev.pending}
    assert by_name == {"Ann": "customer-key", "Bob": "case-or-space", "Zed2": "customer-key",
                       "Fay": "exact", "Cy": "plus-tag", "Dot": "gmail-dots"}
    assert ev.other_partner[0].partner_key == "john"
    assert ev.pending[0].status == "Approval pending"


def test_unmatched_rows_and_lines(result):
    ev = result.evidence
    missing = {r.name: (r.match_reason, r.line) for r in ev.missing_from_dashboard}
    assert missing == {"Eve\nEvans": ("no-match", 6), "Zed3": ("duplicate", 9), "Gus": ("no-match", 12)}
    (only,) = ev.dashboard_only
    assert only.anonymised and only.match_reason == "anonymised-no-key" and only.line == 6
    rejected = {(r.side, r.line): r.reason for r in ev.rejected}
    assert rejected == {("internal", 11): "empty email and customer_key"}
    (unreadable,) = ev.date_unreadable  # kept, with the date unknown
    assert (unreadable.side, unreadable.line, unreadable.column, unreadable.value) == (
        "internal", 12, "signup_date", "not a date")


def test_problems_and_window(result):
    assert result.status is Status.FAIL
    assert {"missing-from-dashboard", "other-partner", "pending", "outside-window", "duplicate-keys",
            "rejected-rows"} <= set(result.codes())
    ann = next(r for r in result.evidence.matched if r.name == "Ann")
    assert ann.days_click_to_signup == 366 and ann.outside_window
    dup = result.evidence.duplicates[0]
    assert (dup.side, dup.kind, dup.value, dup.rows, dup.lines) == ("internal", "customer_key", "k9", 2, (8, 9))
    wide = reconcile_files(DASH, INTL, partner="jane", window_days=400)
    assert not wide.has("outside-window")


def test_roundtrip_json(result):
    data = json.loads(json.dumps(result.to_dict()))
    for key in ("matched", "other_partner", "pending", "missing_from_dashboard", "dashboard_only", "rejected"):
        assert key in data
    for key in ("dashboard", "internal", "matched", "missing_from_dashboard", "dashboard_only",
                "other_partner", "pending", "rejected"):
        assert key in data["counts"]
    again = CheckResult.from_dict(data)
    assert again.evidence == result.evidence


def test_no_partner_means_no_other_partner():
    r = reconcile_files(DASH, INTL)
    assert r.evidence.counts.other_partner == 0 and r.evidence.counts.matched == 5


def test_loose_rules_switch_off():
    strict = reconcile_files(DASH, INTL, loose=False)
    assert strict.evidence.loose_rules == ()
    reasons = {r.match_reason for r in strict.evidence.matched + strict.evidence.pending}
    assert reasons <= {"customer-key", "exact"}
    assert strict.evidence.counts.missing_from_dashboard == 6
    no_plus = reconcile_files(DASH, INTL, plus_tag=False)
    assert "Cy" in {r.name for r in no_plus.evidence.missing_from_dashboard}
    no_gmail = reconcile_files(DASH, INTL, gmail_dots=False)
    assert "Dot" in {r.name for r in no_gmail.evidence.missing_from_dashboard}
    assert accounting_holds(strict.evidence) and accounting_holds(no_gmail.evidence)


def test_normalise_email():
    assert normalise_email(" D.o.T+x@GoogleMail.com ") == "dot@gmail.com"
    assert normalise_email("a.b+c@x.com") == "a.b@x.com"
    assert normalise_email("A@X.com", case=False, plus=False, gmail=False) == "A@X.com"


def test_rows_false_keeps_counts_and_first_rows():
    r = reconcile_files(DASH, INTL, partner="jane", rows=False)
    assert r.evidence.complete  # no list of the fixture is longer than its first rows (see test_reconcile_fixes)
    assert r.evidence.counts == reconcile_files(DASH, INTL, partner="jane").evidence.counts
    assert len(r.evidence.matched) == 4


# -- one customer ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query,bucket,reason", [
    ("DOT@gmail.com", "pending", "gmail-dots"),
    ("c@x.com", "other_partner", "plus-tag"),
    ("e@x.com", "missing_from_dashboard", "no-match"),
    ("k1", "matched", "customer-key"),
    ("j***@anonymized.com", "dashboard_only", "anonymised-no-key"),
])
def test_customer(query, bucket, reason):
    r = reconcile_files(DASH, INTL, partner="jane", customer=query)
    a = r.evidence.customer
    assert a.bucket == bucket and a.match_reason == reason
    assert a.found_internal == (bucket != "dashboard_only")
    assert a.found_dashboard == (bucket != "missing_from_dashboard")


def test_customer_details_and_problems():
    r = reconcile_files(DASH, INTL, partner="jane", customer="c@x.com")
    a = r.evidence.customer
    assert (a.dashboard_partner_key, a.dashboard_status, a.signup_date, a.dashboard_created_at) == (
        "john", "Paid", "2024-01-04", "2024-01-04")
    assert r.has("other-partner") and not r.has("missing-from-dashboard")
    gone = reconcile_files(DASH, INTL, customer="nobody@nowhere.com")
    assert gone.evidence.customer.bucket is None and gone.has("customer-not-found")
    ann = reconcile_files(DASH, INTL, customer="k1").evidence.customer
    assert ann.provider_key == "cus_1" and ann.days_click_to_signup == 366 and ann.outside_window


# -- reading ---------------------------------------------------------------------------------------

BASIC_D = "customer_key{d}email{d}partner_key\nk1{d}a@x.com{d}jane\n{d}b@x.com{d}jane\n"
BASIC_I = "customer_key{d}email\nk1{d}a@x.com\n{d}b@x.com\n{d}c@x.com\n"


@pytest.mark.parametrize("delim", [",", ";", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_delimiters_and_encodings(tmp_path, delim, encoding):
    d = write(tmp_path / "d.csv", BASIC_D.format(d=delim), encoding)
    i = write(tmp_path / "i.csv", BASIC_I.format(d=delim), encoding)
    c = reconcile_files(d, i, partner="jane").evidence.counts
    assert (c.matched, c.missing_from_dashboard, c.rejected) == (2, 1, 0)


def test_latin1_is_converted(tmp_path):
    d = write(tmp_path / "d.csv", "Email,Partner\nrené@x.com,jane\n", "latin-1")
    i = write(tmp_path / "i.csv", "email\nrené@x.com\n", "utf-8")
    r = reconcile_files(d, i)
    assert r.evidence.counts.matched == 1 and r.evidence.dashboard_encoding.startswith("cp1252")


def test_crlf_quotes_and_wrong_field_counts(tmp_path):
    d = write(tmp_path / "d.csv", 'Email,Name\r\n"a@x.com","A, the ""first""\r\nline two"\r\nb@x.com,B,extra\r\nc@x.com\r\n\r\n')
    i = write(tmp_path / "i.csv", "email\na@x.com\n")
    ev = reconcile_files(d, i).evidence
    assert ev.counts.matched == 1 and ev.matched[0].name == 'A, the "first"\r\nline two'
    assert {(r.line, r.reason) for r in ev.rejected} == {
        (4, "has 3 fields, the header has 2"), (5, "has 1 fields, the header has 2")}
    assert accounting_holds(ev)


def test_jsonl(tmp_path):
    d = write(tmp_path / "d.jsonl", '{"Email": "a@x.com", "Partner Key": "jane", "Status": "Paid"}\n'
                                    'not json\n[1]\n\n{"Email": "z@x.com"}\n')
    i = write(tmp_path / "i.csv", "email,created\nA@x.com,2024-02-01\n")
    ev = reconcile_files(d, i, partner="jane").evidence
    assert ev.counts.matched == 1 and ev.matched[0].match_reason == "case-or-space"
    assert [r.line for r in ev.rejected] == [2, 3]
    assert ev.counts.dashboard == 4 and accounting_holds(ev)


def test_mapping_override(tmp_path):
    d = write(tmp_path / "d.csv", "Who,E-mail address (work)\njane,a@x.com\n")
    i = write(tmp_path / "i.csv", "email\na@x.com\n")
    with pytest.raises(BadInput, match="no email column.*E-mail address"):
        reconcile_files(d, i)
    r = reconcile_files(d, i, mapping={"dashboard.email": "e-mail address (WORK)",
                                       "dashboard.partner_key": "Who"}, partner="jane")
    assert r.evidence.counts.matched == 1
    with pytest.raises(BadInput, match="no such column"):
        reconcile_files(d, i, mapping={"dashboard.email": "Mail"})
    with pytest.raises(BadInput, match="SIDE.FIELD"):
        reconcile_files(d, i, mapping={"email": "Mail"})


@pytest.mark.parametrize("content,message", [
    ("", "is empty"), ("\ufeff\n\n", "is empty"), ("name,phone\nx,1\n", "no email column"),
])
def test_bad_files(tmp_path, content, message):
    d = write(tmp_path / "d.csv", content)
    with pytest.raises(BadInput, match=message):
        reconcile_files(d, INTL)
    with pytest.raises(BadInput, match="does not exist"):
        reconcile_files(tmp_path / "nope.csv", INTL)


def test_dates_and_since_until(tmp_path):
    d = write(tmp_path / "d.csv", "email,created at\na@x.com,2024-03-01T10:00:00Z\nz@x.com,2023-01-01\n")
    i = write(tmp_path / "i.csv", "email,signup date,click date\na@x.com,03/01/2024,12/01/2023\n"
                                  "b@x.com,2023-06-01,\nc@x.com,2024-04-02 10:00,\n")
    r = reconcile_files(d, i, since=date(2024, 1, 1), until=date(2024, 3, 31))
    ev = r.evidence
    assert ev.counts.matched == 1 and ev.matched[0].days_click_to_signup == 91
    assert r.has("outside-window")
    assert ev.counts.excluded == 3 and ev.counts.missing_from_dashboard == 0
    assert accounting_holds(ev)


def test_key_conflict_not_matched_by_a_loose_email(tmp_path):
    d = write(tmp_path / "d.csv", "customer_key,email\nk1,a+promo@x.com\n")
    i = write(tmp_path / "i.csv", "customer_key,email\nk2,a@x.com\n")
    ev = reconcile_files(d, i).evidence
    assert ev.counts.matched == 0
    assert ev.missing_from_dashboard[0].match_reason == "key-conflict"


# -- CSV safety and missed-out ---------------------------------------------------------------------


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("ok", "ok"), ("a=b", "a=b"), ("", ""), (5, 5), (None, None),
])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_neutralise_frame_matches_function():
    import polars as pl

    values = ["=x", "+x", "-x", "@x", "\tx", "\rx", "x=", None, ""]
    out = neutralise_frame(pl.DataFrame({"v": values}))["v"].to_list()
    assert out == [neutralise(v) for v in values]


def test_missed_out_csv(tmp_path):
    i = write(tmp_path / "i.csv", "id,email,name,signup_date,stripe_customer_id\n"
                                  "m1,=cmd@x.com,=HYPERLINK(\"x\"),2024-01-02,cus_1\nm2,q@x.com,Bo,2024-01-03,\n")
    out = tmp_path / "missed.csv"
    reconcile_files(DASH, i, partner="jane", missed_out=out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == ["customer_key", "email", "name", "partner_key", "provider_key", "created_at"]
    assert rows[0] == {"customer_key": "m1", "email": "'=cmd@x.com", "name": "'=HYPERLINK(\"x\")",
                       "partner_key": "jane", "provider_key": "cus_1", "created_at": "2024-01-02"}
    assert len(rows) == 2


# -- accounting on arbitrary rows ------------------------------------------------------------------

EMAILS = st.sampled_from(["a@x.com", "A@X.com", "a+t@x.com", "a.b@gmail.com", "ab@googlemail.com",
                          "b@y.org", "", " c@z.io", "j***@anon.com", "x"])
KEYS = st.sampled_from(["", "k1", "k2", "k3"])
DATES = st.sampled_from(["", "2024-01-01", "2024-06-30T10:00:00Z", "bad", "01/02/2024"])
ROW = st.tuples(KEYS, EMAILS, DATES, st.sampled_from(["Paid", "Approval pending", ""]),
                st.sampled_from(["jane", "john", ""]), st.integers(0, 4))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ROW, min_size=1, max_size=12), st.lists(ROW, min_size=1, max_size=12),
       st.sampled_from([",", ";", "\t"]), st.booleans())
def test_accounting_holds_for_arbitrary_rows(tmp_path, drows, irows, delim, loose):
    def render(rows, header):
        lines = [delim.join(header)]
        for key, email, when, status, partner, extra in rows:
            cells = [key, email, when, status, partner]
            if extra == 4:
                cells = cells[:3]  # a short row
            lines.append(delim.join(f'"{c}"' if c else c for c in cells))
        return "\n".join(lines) + "\n"

    header = ["customer_key", "email", "created_at", "status", "partner_key"]
    d = write(tmp_path / "hd.csv", render(drows, header))
    i = write(tmp_path / "hi.csv", render(irows, header))
    ev = reconcile_files(d, i, partner="jane", loose=loose, since=date(2024, 1, 1)).evidence
    assert ev.counts.dashboard == len(drows) and ev.counts.internal == len(irows)
    assert accounting_holds(ev)
    seen_i = [r.internal_line for r in ev.matched + ev.other_partner + ev.pending] + \
        [r.line for r in ev.missing_from_dashboard] + [r.line for r in ev.rejected if r.side == "internal"] + \
        [r.line for r in ev.excluded if r.side in ("internal", "both")]
    assert sorted(seen_i) == list(range(2, len(irows) + 2))


# -- CLI -------------------------------------------------------------------------------------------


def run(*args):
    return CliRunner().invoke(cli, ["reconcile", *map(str, args)])


def test_cli_fail_json():
    res = run("--dashboard", DASH, "--internal", INTL, "--partner", "jane", "--json")
    assert res.exit_code == 1, res.output
    data = json.loads(res.output)
    assert data["check"] == "reconcile" and data["status"] == "fail"
    assert data["counts"]["matched"] == 4 and len(data["matched"]) == 4


def test_cli_ok_and_terminal(tmp_path):
    d = write(tmp_path / "d.csv", "email,partner\na@x.com,jane\n")
    i = write(tmp_path / "i.csv", "email\na@x.com\n")
    res = run("--dashboard", d, "--internal", i, "--partner", "jane")
    assert res.exit_code == 0, res.output
    assert "reconcile check: PASS" in res.output and "counts.matched" in res.output


def test_cli_bad_input(tmp_path):
    res = run("--dashboard", tmp_path / "none.csv", "--internal", INTL)
    assert res.exit_code == 2
    res = run("--dashboard", DASH, "--internal", INTL, "--map", "nonsense")
    assert res.exit_code == 2
    res = run("--dashboard", DASH, "--internal", INTL, "--map", 'dashboard.email="Email"',
              "--customer", "k1", "--strict-email", "--json")
    assert res.exit_code == 1 and json.loads(res.output)["customer"]["bucket"] == "matched"


def test_cli_missed_out(tmp_path):
    out = tmp_path / "m.csv"
    res = run("--dashboard", DASH, "--internal", INTL, "--missed-out", out)
    assert res.exit_code == 1
    assert out.read_text().splitlines()[0] == "customer_key,email,name,partner_key,provider_key,created_at"


def test_fast_reader_agrees_with_csv_module():
    from diagnose.checks.reconcile.csvread import _read_csv_polars, _read_csv_python

    data = ('Email;Name;Note\n"a@x.com";"A; the ""first""\nline two";x\n\nb@x.com;B\n'
            'c@x.com;C;y;z\n;;\n"d@x.com";D;"multi\n\nline"\n').encode()
    fast_h, fast_cells, fast_bad = _read_csv_polars(data, ";")
    slow_h, slow_cells, slow_bad = _read_csv_python(data, ";")
    assert fast_h == slow_h == ["Email", "Name", "Note"]
    cols = ["c0", "c1", "_line"]
    assert fast_cells.select(cols).fill_null("").rows() == slow_cells.select(cols).fill_null("").rows()
    assert fast_bad.select("line", "reason").rows() == slow_bad.select("line", "reason").rows()


def test_anonymised_detection(tmp_path):
    d = write(tmp_path / "d.csv", "customer_key,email\n,a@example.com\n,j***@x.com\nk1,hidden@anonymized.partnerstack.com\n")
    i = write(tmp_path / "i.csv", "customer_key,email\n,a@example.com\n,j@x.com\nk1,real@x.com\n")
    ev = reconcile_files(d, i).evidence
    assert {(r.match_reason, r.email) for r in ev.matched} == {("exact", "a@example.com"), ("customer-key", "real@x.com")}
    assert ev.dashboard_only[0].anonymised and ev.missing_from_dashboard[0].email == "j@x.com"


def test_customer_by_name_fallback():
    a = reconcile_files(DASH, INTL, partner="jane", customer="  dot ").evidence.customer
    assert a.bucket == "pending" and a.email == "dot@gmail.com"
    assert reconcile_files(DASH, INTL, customer="Nobody Known").evidence.customer.bucket is None
