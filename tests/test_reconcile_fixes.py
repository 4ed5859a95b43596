"""What a tester found in reconcile: --match-on email that still compared keys, declined statuses
taken for tracked, --customer warned about other rows, ``complete: no`` with every row shown,
placeholder e-mails judged by a prefix, a damaged .xls shown as an engine error, --help without Excel."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.checks.reconcile import PREVIEW_ROWS, reconcile_files
from diagnose.checks.reconcile.excel import OLE2_MAGIC
from diagnose.cli import cli
from diagnose.core.evidence import Status
from diagnose.core.partnerstack import STATUS_DECLINED

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")

DATA = Path(__file__).parent / "data" / "reconcile"
DASH, INTL = DATA / "dashboard.csv", DATA / "internal.csv"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: object):
    return CliRunner().invoke(cli, ["reconcile", *map(str, args)])


# -- --match-on email ignores customer_keys -----------------------------------------------------------

CAT_D = "customer_key,email,partner_key\ncus_C3,cat+promo@example.com,jane\ncus_D4,dog@example.com,jane\n"
CAT_I = "customer_key,email\n9003,cat@example.com\n9004,dog@example.com\n"


def test_match_on_email_ignores_the_keys(tmp_path):
    d, i = write(tmp_path / "d.csv", CAT_D), write(tmp_path / "i.csv", CAT_I)
    keyed = reconcile_files(d, i)  # key+email: the keys differ, so a plus-tag match is refused
    ev = keyed.evidence
    assert [(r.email, r.match_reason) for r in ev.missing_from_dashboard] == [("cat@example.com", "key-conflict")]
    assert [(r.email, r.match_reason) for r in ev.dashboard_only] == [("cat+promo@example.com", "key-conflict")]
    (dog,) = ev.matched
    assert dog.key_conflict and dog.note and ev.counts.key_conflicts == 1
    assert "--match-on email" in keyed.problem("key-conflict").message

    email = reconcile_files(d, i, match_on="email")
    ev = email.evidence
    assert {(r.email, r.match_reason, r.key_conflict, r.note) for r in ev.matched} == {
        ("cat@example.com", "plus-tag", False, None), ("dog@example.com", "exact", False, None)}
    assert ev.counts.key_conflicts == 0 and not ev.missing_from_dashboard and not ev.dashboard_only
    assert not email.has("key-conflict") and email.status is Status.PASS
    a = reconcile_files(d, i, match_on="email", customer="9003").evidence.customer
    assert (a.bucket, a.match_reason, a.key_conflict, a.note) == ("matched", "plus-tag", False, None)


# -- declined statuses ------------------------------------------------------------------------------


def test_declined_pairs_are_counted_and_warned(tmp_path):
    d = write(tmp_path / "d.csv", "email,status,partner_key\na@x.com,Declined,jane\nb@x.com,Paid,jane\n"
                                  "c@x.com,Not approved,jane\nd@x.com,Pending approval,jane\n")
    i = write(tmp_path / "i.csv", "email\na@x.com\nb@x.com\nc@x.com\nd@x.com\n")
    result = reconcile_files(d, i, partner="jane")
    ev = result.evidence
    assert {r.email for r in ev.matched} == {"a@x.com", "b@x.com", "c@x.com"}  # still matched, but flagged
    assert ev.counts.declined == 2
    problem = result.problem("declined")
    assert problem is not None and problem.severity is Status.WARN and "2 " in problem.message
    assert result.status is Status.WARN

    one = reconcile_files(d, i, partner="jane", customer="a@x.com")
    a = one.evidence.customer
    assert (a.bucket, a.dashboard_status, a.dashboard_status_class) == ("matched", "Declined", STATUS_DECLINED)
    assert one.has("declined") and "'a@x.com'" in one.problem("declined").message
    b = reconcile_files(d, i, partner="jane", customer="b@x.com")
    assert b.evidence.customer.dashboard_status_class == "tracked" and not b.has("declined")
    assert reconcile_files(d, i, customer="d@x.com").evidence.customer.dashboard_status_class == "pending"
    assert reconcile_files(d, i, customer="nobody@x.com").evidence.customer.dashboard_status_class is None
    data = json.loads(run("--dashboard", d, "--internal", i, "--json").output)
    assert data["counts"]["declined"] == 2


# -- --customer: problems about that customer only ----------------------------------------------------


def test_customer_problems_are_about_that_customer_only():
    # the fixture has an unreadable date (Gus, line 12), a rejected row (line 11), a duplicated key (k9)
    fay = reconcile_files(DASH, INTL, partner="jane", customer="f@x.com")
    assert fay.evidence.customer.bucket == "matched"
    assert fay.problems == () and fay.status is Status.PASS
    res = run("--dashboard", DASH, "--internal", INTL, "--partner", "jane", "--customer", "f@x.com")
    assert res.exit_code == 0, res.output

    gus = reconcile_files(DASH, INTL, partner="jane", customer="g@x.com")
    assert gus.has("date-unreadable") and "'not a date'" in gus.problem("date-unreadable").message
    assert not gus.has("duplicate-keys") and not gus.has("rejected-rows")
    zed = reconcile_files(DASH, INTL, partner="jane", customer="k9")
    assert zed.has("duplicate-keys") and "'k9'" in zed.problem("duplicate-keys").message
    assert not zed.has("date-unreadable")
    # without --customer, the whole files
    whole = reconcile_files(DASH, INTL, partner="jane")
    assert {"date-unreadable", "duplicate-keys", "rejected-rows"} <= set(whole.codes())


def test_a_rejected_row_that_names_the_customer(tmp_path):
    d = write(tmp_path / "d.csv", "email,partner_key\nann@x.com,jane\nbob@x.com,jane\n")
    i = write(tmp_path / "i.csv", "email,name\nann@x.com,Ann\nbob@x.com,Bob,extra\n")
    bob = reconcile_files(d, i, customer="Bob@x.com")
    assert bob.evidence.customer.bucket == "dashboard_only"
    assert bob.has("rejected-rows") and "line 3" in bob.problem("rejected-rows").message
    ann = reconcile_files(d, i, customer="ann@x.com")
    assert ann.problems == ()


# -- complete ---------------------------------------------------------------------------------------


def test_complete_when_every_row_is_shown(tmp_path):
    short = reconcile_files(DASH, INTL, partner="jane", rows=False)
    assert short.evidence.complete  # every list is within the first rows
    terminal = run("--dashboard", DASH, "--internal", INTL, "--partner", "jane").output
    assert [line.split() for line in terminal.splitlines() if line.startswith("complete ")] == [["complete", "yes"]]
    n = PREVIEW_ROWS + 2
    d = write(tmp_path / "d.csv", "email\nsomeone@x.com\n")
    i = write(tmp_path / "i.csv", "email\n" + "".join(f"u{k}@x.com\n" for k in range(n)))
    cut = reconcile_files(d, i, rows=False).evidence
    assert not cut.complete and len(cut.missing_from_dashboard) == PREVIEW_ROWS
    assert cut.counts.missing_from_dashboard == n
    assert reconcile_files(d, i).evidence.complete


# -- placeholder e-mails -----------------------------------------------------------------------------

ORDINARY = ["anonymous42@example.com", "redacted.user@gmail.com", "redacted_7@x.com", "hiddenvalley@gmail.com",
            "noemail.fan@x.com", "unknown.pleasures@x.com", "anna@nonexistent.org"]
PLACEHOLDERS = ["anonymous@example.com", "Redacted@x.com", "hidden@anonymized.partnerstack.com", "kim@masked.example",
                "j***@x.com", "xxx@x.com", "noemail@x.com", "no-email@x.com", "unknown@x.com", "none@x.com",
                "N/A", "[redacted]", "Anonymised"]


def test_a_placeholder_is_masked_or_a_whole_placeholder_word(tmp_path):
    d = write(tmp_path / "d.csv", "email\n" + "\n".join(ORDINARY + PLACEHOLDERS) + "\n")
    i = write(tmp_path / "i.csv", "email\n" + "\n".join(ORDINARY + PLACEHOLDERS) + "\n")  # the same in both files
    ev = reconcile_files(d, i).evidence
    assert {r.email for r in ev.matched} == set(ORDINARY)
    assert {r.email: (r.anonymised, r.match_reason) for r in ev.dashboard_only} == {
        p: (True, "anonymised-no-key") for p in PLACEHOLDERS}


# -- a damaged Excel file ------------------------------------------------------------------------------


def one_line(res) -> str:
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    return lines[0]


def damaged_xls(tmp_path: Path) -> Path:
    bad = tmp_path / "export.xls"
    bad.write_bytes(OLE2_MAGIC + b"\x00" * 504)
    return bad


def test_a_damaged_xls_is_one_plain_line(tmp_path):
    pytest.importorskip("fastexcel")
    bad = damaged_xls(tmp_path)
    line = one_line(run("--dashboard", bad, "--internal", INTL))
    assert f"dashboard file {bad}" in line and "not a readable Excel file" in line
    assert "Calamine" not in line and "Cfb" not in line and "OLE" not in line


def test_a_damaged_workbook_whatever_the_engine_says(tmp_path, monkeypatch):
    import polars as pl

    class CalamineError(Exception):
        pass

    engine = types.ModuleType("fastexcel")
    engine.FastExcelError, engine.CalamineError = Exception, CalamineError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fastexcel", engine)

    def damaged(*args, **kwargs):
        raise CalamineError("calamine error: Xls error: Cfb error: Invalid OLE signature (not an office document?)")

    monkeypatch.setattr(pl, "read_excel", damaged)
    bad = damaged_xls(tmp_path)
    line = one_line(run("--dashboard", bad, "--internal", INTL))
    assert f"dashboard file {bad} is not a readable Excel file (.xls)" in line
    assert "CalamineError" not in line and "Cfb" not in line and "export the sheet as CSV" in line


def test_help_mentions_excel():
    text = " ".join(run("--help").output.split())
    assert "export (CSV, JSON Lines or Excel)" in text and "records (CSV, JSON Lines or Excel)" in text


@pytest.mark.parametrize("name", ["/dev/zero", "fifo", "z" * 300 + ".csv"])
def test_an_export_that_is_no_regular_file_is_bad_input_at_once(tmp_path, name):
    """Found by a new-user test: /dev/zero filled memory, a FIFO hung, a long name was exit 3."""
    import os

    from diagnose.checks.reconcile import reconcile_files
    from diagnose.core.errors import BadInput

    if name == "fifo":
        name = str(tmp_path / "fifo.csv")
        os.mkfifo(name)
    internal = tmp_path / "i.csv"
    internal.write_text("email\na@x.com\n", encoding="utf-8")
    with pytest.raises(BadInput, match="regular file|too long"):
        reconcile_files(name, internal)
