"""Issue #8: dashboard statuses from the shared vocabulary, ordinary e-mails that are not anonymised,
key conflicts that must not hide an e-mail match, --match-on and --map FIELD= (no column)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from click.testing import CliRunner

import diagnose.checks.reconcile as reconcile_module
from diagnose.checks.reconcile import reconcile_files
from diagnose.cli import cli
from diagnose.core.errors import BadInput
from diagnose.core.partnerstack import STATUS_PENDING, dashboard_status_class

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: object):
    return CliRunner().invoke(cli, ["reconcile", *map(str, args)])


# -- statuses ----------------------------------------------------------------------------------------

STATUSES = ["Approved", "Pending approval", "Unfulfilled", "Not approved", "Approval pending", "Paid",
            "Signed Up", "APPROVED", "awaiting fulfilment", "Declined", "something else"]


def test_statuses_bucket_by_the_shared_vocabulary(tmp_path):
    d = write(tmp_path / "d.csv", "email,status\n" + "".join(f"c{n}@x.com,{s}\n" for n, s in enumerate(STATUSES)))
    i = write(tmp_path / "i.csv", "email\n" + "".join(f"c{n}@x.com\n" for n in range(len(STATUSES))))
    ev = reconcile_files(d, i).evidence
    pending = {r.status for r in ev.pending}
    matched = {r.status for r in ev.matched}
    assert {"Approved", "APPROVED", "Paid", "Not approved", "Declined"} <= matched
    assert {"Pending approval", "Unfulfilled", "Approval pending", "awaiting fulfilment"} <= pending
    for status in STATUSES:  # the check and the rules agree on every status
        assert (status in pending) == (dashboard_status_class(status) == STATUS_PENDING), status
    assert not hasattr(reconcile_module, "PENDING_RE")


# -- anonymised e-mails ------------------------------------------------------------------------------


def test_ordinary_emails_are_not_anonymised(tmp_path):
    # a placeholder word counts only as a whole part: redacted_7@ is an address (test_reconcile_fixes)
    ordinary = ["user100000@example.com", "customer-abc123@example.com", "xx@y.com", "hiddenvalley@gmail.com",
                "redacted_7@x.com"]
    masked = ["j***@x.com", "j•••@x.com", "hidden@anonymized.partnerstack.com", "redacted@x.com",
              "xxx@x.com", "REDACTED", "kim@masked.example"]
    d = write(tmp_path / "d.csv", "email\n" + "\n".join(ordinary + masked) + "\n")
    i = write(tmp_path / "i.csv", "email\n" + "\n".join(ordinary) + "\n")
    ev = reconcile_files(d, i).evidence
    assert {r.email for r in ev.matched} == set(ordinary)
    assert all(r.match_reason == "exact" for r in ev.matched)
    only = {r.email: (r.anonymised, r.match_reason) for r in ev.dashboard_only}
    assert only == {m: (True, "anonymised-no-key") for m in masked}


# -- key conflicts -----------------------------------------------------------------------------------

DASH_KEYS = "Customer Key,Email,Partner Key,Status\ncus_1,ann@x.com,jane,Paid\ncus_2,Bob@X.com ,jane,Paid\n" \
            "cus_3,cy+promo@x.com,jane,Paid\n"
INTL_USER_ID = "user_id,email,created_at\n101,ann@x.com,2026-10-01\n102,bob@x.com,2026-10-02\n" \
               "103,cy@x.com,2026-10-03\n"


def test_a_key_conflict_never_hides_the_same_email(tmp_path):
    d, i = write(tmp_path / "d.csv", DASH_KEYS), write(tmp_path / "i.csv", INTL_USER_ID)
    result = reconcile_files(d, i, partner="jane")
    ev = result.evidence
    pairs = {r.email: r for r in ev.matched}
    assert set(pairs) == {"ann@x.com", "bob@x.com"}
    assert pairs["ann@x.com"].match_reason == "exact" and pairs["bob@x.com"].match_reason == "case-or-space"
    assert all(r.key_conflict for r in pairs.values())
    assert "101" in pairs["ann@x.com"].note and "cus_1" in pairs["ann@x.com"].note
    assert "user_id" in pairs["ann@x.com"].note
    # a looser match (plus-tag) between different keys is still a conflict, not a pair
    (cy,) = ev.missing_from_dashboard
    assert (cy.email, cy.match_reason) == ("cy@x.com", "key-conflict")
    assert ev.counts.key_conflicts == 2
    assert "user_id" in result.problem("key-conflict").message
    roles = {(r.side, r.field): (r.column, r.how) for r in ev.column_roles}
    assert roles[("internal", "customer_key")] == ("user_id", "inferred")
    assert roles[("dashboard", "customer_key")] == ("Customer Key", "inferred")


def test_customer_lookup_agrees_with_the_pairing(tmp_path):
    d, i = write(tmp_path / "d.csv", DASH_KEYS), write(tmp_path / "i.csv", INTL_USER_ID)
    for query in ("ann@x.com", "101", "cus_1"):
        result = reconcile_files(d, i, partner="jane", customer=query)
        a = result.evidence.customer
        assert (a.bucket, a.found_internal, a.found_dashboard, a.key_conflict) == ("matched", True, True, True), query
        assert not result.has("missing-from-dashboard") and result.has("key-conflict")


def test_map_a_field_to_no_column(tmp_path):
    d, i = write(tmp_path / "d.csv", DASH_KEYS), write(tmp_path / "i.csv", INTL_USER_ID)
    for off in ("", "-"):
        ev = reconcile_files(d, i, mapping={"internal.customer_key": off}).evidence
        assert ev.counts.matched == 3 and ev.counts.key_conflicts == 0
        assert {r.match_reason for r in ev.matched} == {"exact", "case-or-space", "plus-tag"}
        roles = {(r.side, r.field): (r.column, r.how) for r in ev.column_roles}
        assert roles[("internal", "customer_key")] == (None, "off")
        assert "customer_key" not in ev.internal_columns
    assert reconcile_files(d, i, mapping={"internal.customer_key": "-"}, customer="101").evidence.customer.bucket is None


def test_match_on(tmp_path):
    d = write(tmp_path / "d.csv", "customer_key,email\nk1,a@x.com\n,b@x.com\nk3,c@x.com\n")
    i = write(tmp_path / "i.csv", "customer_key,email\nk1,other@x.com\n,b@x.com\nk9,c@x.com\n")
    both = reconcile_files(d, i).evidence
    assert {(r.match_reason, r.key_conflict) for r in both.matched} == {
        ("customer-key", False), ("exact", False), ("exact", True)}
    email = reconcile_files(d, i, match_on="email").evidence
    assert email.match_on == "email"
    assert {r.email for r in email.matched} == {"b@x.com", "c@x.com"}
    assert [r.email for r in email.missing_from_dashboard] == ["other@x.com"]
    key = reconcile_files(d, i, match_on="key").evidence
    assert [(r.match_reason, r.email) for r in key.matched] == [("customer-key", "other@x.com")]
    assert key.counts.missing_from_dashboard == 2 and key.counts.dashboard_only == 2
    with pytest.raises(BadInput, match="--match-on"):
        reconcile_files(d, i, match_on="name")


def test_cli_match_on_map_off_and_roles(tmp_path):
    d, i = write(tmp_path / "d.csv", DASH_KEYS), write(tmp_path / "i.csv", INTL_USER_ID)
    res = run("--dashboard", d, "--internal", i, "--json")
    data = json.loads(res.output)
    assert data["counts"]["key_conflicts"] == 2 and data["matched"][0]["key_conflict"] is True
    assert {"side": "internal", "field": "customer_key", "column": "user_id", "how": "inferred"} in data["column_roles"]
    terminal = run("--dashboard", d, "--internal", i).output
    assert "column_roles" in terminal and "user_id" in terminal and "key-conflict" in terminal
    off = json.loads(run("--dashboard", d, "--internal", i, "--map", "internal.customer_key=", "--json").output)
    assert off["counts"]["matched"] == 3
    assert {"side": "internal", "field": "customer_key", "column": None, "how": "off"} in off["column_roles"]
    email = json.loads(run("--dashboard", d, "--internal", i, "--match-on", "email", "--json").output)
    # e-mail only: the keys play no part, so cy+promo@ pairs with cy@ by plus-tag, with no conflict
    assert email["match_on"] == "email" and email["counts"]["matched"] == 3 and email["counts"]["key_conflicts"] == 0
    assert run("--dashboard", d, "--internal", i, "--match-on", "nope").exit_code == 2
    help_text = " ".join(run("--help").output.split())
    assert "--match-on [key+email|email|key]" in help_text and "maps the field to no column" in help_text


# -- the loosest e-mail form, computed only where a rule can change it --------------------------------

EMAIL_PARTS = st.sampled_from(["a", "B", "c.d", "e+tag", " f", "g ", "Ⓐ", "é", "É", "x\ty", "", "."])
DOMAINS = st.sampled_from(["x.com", "GMAIL.com", "gmail.com", "googlemail.com", "GoogleMail.COM", "y.org", ""])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.lists(EMAIL_PARTS, min_size=1, max_size=3), DOMAINS), min_size=1, max_size=30),
       st.booleans(), st.booleans(), st.booleans())
def test_the_shortcut_gives_the_loosest_level(parts, case, plus, gmail):
    import polars as pl

    from diagnose.checks.reconcile import add_email_levels

    emails = ["".join(local) + "@" + domain for local, domain in parts] + [None]
    frame = pl.DataFrame({"e": emails}, schema={"e": pl.String})
    full, levels = add_email_levels(frame, "e", "_l", case, plus, gmail)
    short, (reason,) = add_email_levels(frame, "e", "_canon", case, plus, gmail, keep=False)
    assert short["_canon"].to_list() == full[levels[-1][1]].to_list()
    assert reason[0] == levels[-1][0]
