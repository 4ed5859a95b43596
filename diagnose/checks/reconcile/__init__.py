"""Check: reconcile the PartnerStack dashboard's customers against the company's internal records
(guide: "Check and compare customer creation in your dashboard and internal records").

Matching (vectorised with polars; ``match_on``: ``key+email`` (default), ``email`` or ``key``):

1. by ``customer_key`` when both rows have one (reason ``customer-key``);
2. else by e-mail, recording why the pair matched: ``exact``, ``case-or-space`` (case and white
   space ignored), ``plus-tag`` (``user+tag@`` = ``user@``), ``gmail-dots`` (dots ignored in
   gmail.com / googlemail.com addresses). The three loose rules are on by default and each can be
   turned off. Two rows whose customer_keys differ still pair by the same address (exact, or case
   and spaces aside), with ``key_conflict`` and a note on the row, never by a looser rule
   (``key-conflict``). Placeholder dashboard e-mails (``j***@``, ``…@anonymized…``) match by key only.

Duplicate keys are paired one to one in file order (the first internal row with the first dashboard
row of the same key, ...), so that no row is collapsed; the duplicates are reported.

Buckets (every row of each file lands in exactly one; a pair counts once on each side):

* ``matched`` - a pair; ``other_partner`` - a pair the dashboard attributes to a partner other
  than ``partner`` (only with ``partner``); ``pending`` - a pair whose dashboard status is of the
  pending class of ``platforms.DASHBOARD_STATUSES`` (the vocabulary the rules read too);
* ``missing_from_dashboard`` - an internal row with no dashboard row (a missed-referral candidate);
* ``dashboard_only`` - a dashboard row with no internal row;
* ``rejected`` - a row that could not be read (file, line, reason);
* ``excluded`` - outside ``since`` / ``until`` (signup date; a dashboard-only row by its
  created date). Rows without a date, or with a date that could not be read, are kept.

Problems: ``missing-from-dashboard`` (fail), ``other-partner`` (fail), ``pending`` (warn),
``outside-window`` (warn: signup more than ``window_days`` after the click), ``key-conflict``,
``duplicate-keys``, ``date-unreadable``, ``rejected-rows`` (warn). With ``customer`` the bucket
problems are about that one customer (plus ``dashboard-only``, warn, and ``customer-not-found``,
fail); the customer is looked up by customer_key or e-mail, then by name.

Speed and memory: each side's work runs on its own thread; the loose e-mail forms are computed only
for the rows key matching left and only where a rule can change them; rows are found through a
line -> row lookup; full rows are built only for the rows shown (``rows=False``: the first 10 of a
bucket), for ``missed_out``, or a chunk at a time for ``json_out``. 1M x 1M rows: about 2 s and
0.8 GB peak RSS, --json too (benchmarks/reconcile.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import CheckResult, Problem, evidence, fail, sensitive, warn
from diagnose.core.partnerstack import STATUS_PENDING
from diagnose.checks.reconcile.read import (  # noqa: F401 (normalise_email, write_missed_out: public here too)
    FIELDS, MISSED_OUT_COLUMNS, Rows, add_email_levels, dup_lines, duplicate_keys, line_mask, normalise_email, ranked,
    status_class_expr, write_missed_out,
)

BUCKETS = ("matched", "other_partner", "pending", "missing_from_dashboard", "dashboard_only",
           "rejected", "excluded")
REASONS = ("customer-key", "exact", "case-or-space", "plus-tag", "gmail-dots")
PREVIEW_ROWS = 10
# Placeholder e-mails only: masked characters (j***@, j•••@, xxx@), a local part that is a placeholder
# word (hidden@, redacted_12@), a domain label that is one (…@anonymized.partnerstack.com), or the
# bare word. An ordinary address such as user100000@example.com is an e-mail, not a placeholder.
_PLACEHOLDER = r"(?:anonymi[sz]ed|anonymous|anon|redacted|hidden|masked|placeholder|withheld|undisclosed)"
ANONYMISED_RE = (rf"(?i)[*•●…]|^x{{3,}}@|^{_PLACEHOLDER}[-_.+0-9]*@|@(?:[^@]*[.-])?{_PLACEHOLDER}(?:[.-][^@]*)?$|"
                 rf"^[\[(<]?{_PLACEHOLDER}[\])>]?$")
MATCH_ON = ("key+email", "email", "key")
STAGES = ("reading a file", "reading a file", "matching by customer_key", "matching by e-mail", "duplicates",
          "sorting out unmatched rows", "bucketing pairs")


@dataclass(frozen=True)
class ReconcileCounts:
    dashboard: int = 0
    internal: int = 0
    matched: int = 0
    missing_from_dashboard: int = 0
    dashboard_only: int = 0
    other_partner: int = 0
    pending: int = 0
    rejected: int = 0
    excluded: int = 0
    rejected_dashboard: int = 0
    rejected_internal: int = 0
    excluded_dashboard: int = 0
    excluded_internal: int = 0
    outside_window: int = 0
    duplicate_keys: int = 0
    key_conflicts: int = 0  # pairs matched by the same e-mail although their customer_keys differ
    date_unreadable: int = 0  # rows kept with a date that could not be read


@dataclass(frozen=True)
class PairRow:
    """A customer in both files (matched / other_partner / pending)."""

    match_reason: str
    customer_key: str | None
    email: str | None
    dashboard_email: str | None
    name: str | None
    partner_key: str | None
    status: str | None
    provider_key: str | None
    signup_date: str | None
    dashboard_created_at: str | None
    click_date: str | None
    days_click_to_signup: int | None
    outside_window: bool
    internal_line: int
    dashboard_line: int
    key_conflict: bool = False  # same e-mail, different customer_key: matched, with a note
    note: str | None = None


@dataclass(frozen=True)
class InternalRow:
    """An internal record with no dashboard row. ``match_reason``: ``no-match``,
    ``key-conflict`` (same e-mail, different customer_key) or ``duplicate`` (an extra row of a
    duplicated key)."""

    match_reason: str
    customer_key: str | None
    email: str | None
    name: str | None
    provider_key: str | None
    signup_date: str | None
    click_date: str | None
    days_click_to_signup: int | None
    outside_window: bool
    line: int


@dataclass(frozen=True)
class DashboardRow:
    """A dashboard customer with no internal record. ``match_reason``: ``no-match``,
    ``key-conflict``, ``duplicate`` or ``anonymised-no-key``."""

    match_reason: str
    customer_key: str | None
    email: str | None
    name: str | None
    partner_key: str | None
    status: str | None
    provider_key: str | None
    created_at: str | None
    anonymised: bool
    line: int


@dataclass(frozen=True)
class RejectedRow:
    file: str
    side: str
    line: int
    reason: str
    raw: str | None


@dataclass(frozen=True)
class ExcludedRow:
    side: str
    line: int
    customer_key: str | None
    email: str | None
    date: str | None


@dataclass(frozen=True)
class ColumnRole:
    """Which column of a file plays which role: ``how`` is ``inferred`` (from the header), ``--map``
    or ``off`` (mapped to no column with --map SIDE.FIELD=)."""

    side: str
    field: str
    column: str | None
    how: str


@dataclass(frozen=True)
class UnreadableDate:
    """A row kept with its date unknown: the date text could not be read."""

    side: str
    line: int
    column: str
    value: str


@dataclass(frozen=True)
class DuplicateKey:
    side: str
    kind: str  # customer_key / email
    value: str
    rows: int
    lines: tuple[int, ...]


@dataclass(frozen=True)
class CustomerAnswer:
    """The ticket's question for one customer: in our records? in the dashboard? whose? since?

    ``query`` is matched as a customer_key or an e-mail (with the enabled loose rules), and, when
    neither finds anything and it is not an e-mail, as the customer's name."""

    query: str
    found_internal: bool
    found_dashboard: bool
    bucket: str | None
    match_reason: str | None
    dashboard_partner_key: str | None = sensitive("partner")
    dashboard_status: str | None
    provider_key: str | None = sensitive("account")
    customer_key: str | None
    email: str | None
    name: str | None = sensitive("person")
    signup_date: str | None
    dashboard_created_at: str | None
    click_date: str | None
    days_click_to_signup: int | None
    outside_window: bool
    anonymised: bool
    internal_line: int | None
    dashboard_line: int | None
    other_matches: int
    key_conflict: bool = False
    note: str | None = None


@evidence("reconcile")
@dataclass(frozen=True)
class ReconcileEvidence:
    dashboard_file: str = sensitive("path")
    internal_file: str = sensitive("path")
    partner: str | None
    since: str | None
    until: str | None
    window_days: int
    loose_rules: tuple[str, ...]
    dashboard_columns: dict[str, str]
    internal_columns: dict[str, str]
    dashboard_encoding: str
    internal_encoding: str
    complete: bool  # False: each bucket list holds only its first rows (counts are always whole)
    counts: ReconcileCounts
    customer: CustomerAnswer | None = None
    matched: tuple[PairRow, ...] = sensitive("rows", default=())
    other_partner: tuple[PairRow, ...] = sensitive("rows", default=())
    pending: tuple[PairRow, ...] = sensitive("rows", default=())
    missing_from_dashboard: tuple[InternalRow, ...] = sensitive("rows", default=())
    dashboard_only: tuple[DashboardRow, ...] = sensitive("rows", default=())
    rejected: tuple[RejectedRow, ...] = sensitive("rows", default=())
    excluded: tuple[ExcludedRow, ...] = sensitive("rows", default=())
    duplicates: tuple[DuplicateKey, ...] = sensitive("rows", default=())
    match_on: str = "key+email"  # key+email | email | key
    column_roles: tuple[ColumnRole, ...] = ()
    date_rules: dict[str, str] = dataclasses.field(default_factory=dict)  # "side.field" -> rule used
    date_unreadable: tuple[UnreadableDate, ...] = sensitive("rows", default=())


# -- the check ----------------------------------------------------------------------------------


def _tune_allocator() -> None:
    """Ask polars' allocator (jemalloc) to hand freed memory back to the system within 200 ms: the
    reads and joins free large buffers, and with jemalloc's default 10 s decay the peak RSS on 1M x
    1M rows is ~1.1 GB instead of ~0.85 GB (measured; 0 ms saves a little more memory but costs
    ~0.5 s). Only possible before polars is first imported; a value the user set is kept."""
    import os
    import sys

    if "polars" not in sys.modules:
        os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:200,muzzy_decay_ms:0")


def reconcile_files(
    dashboard: str | Path,
    internal: str | Path,
    *,
    partner: str | None = None,
    customer: str | None = None,
    mapping: dict[str, str | None] | None = None,
    match_on: str = "key+email",
    since: date | None = None,
    until: date | None = None,
    window_days: int = 90,
    loose: bool = True,
    case_or_space: bool = True,
    plus_tag: bool = True,
    gmail_dots: bool = True,
    rows: bool = True,
    missed_out: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    json_out: Any = None,
) -> CheckResult[ReconcileEvidence]:
    """Reconcile a dashboard export with internal records (see the module docstring).

    ``mapping``: ``{"dashboard.email": "E-mail address", ...}`` header overrides (``""`` / ``"-"``:
    no column for that field). ``match_on``: ``key+email`` (customer_key first, then e-mail),
    ``email`` or ``key`` (keys are then only shown, or e-mails only shown). ``loose=False``
    turns all loose e-mail rules off; ``case_or_space`` / ``plus_tag`` / ``gmail_dots`` turn one
    off. ``rows=False`` keeps only the first rows of each bucket (the counts stay whole).
    ``missed_out``: write the missing_from_dashboard rows as an import-ready CSV there.
    ``json_out``: a text stream that gets the whole result as JSON, every row of every list, written
    a chunk of rows at a time (never all rows as Python objects); the result returned then holds
    the first rows only. ``progress`` is called once per stage of :func:`stages`.
    Raises BadInput for a missing / empty file, a missing column or a bad mapping.
    """
    _tune_allocator()
    import polars as pl

    from diagnose.checks.reconcile.read import parse_mapping, read_table

    if window_days < 0:
        raise BadInput("--window-days must be 0 or more")
    if since and until and since > until:
        raise BadInput(f"--since {since} is after --until {until}")
    if customer is not None and not customer.strip():
        raise BadInput("--customer is empty: give an e-mail or a customer_key")
    if match_on not in MATCH_ON:
        raise BadInput(f"--match-on {match_on!r}: expected one of {', '.join(MATCH_ON)}")
    maps = parse_mapping(mapping)
    case_or_space, plus_tag, gmail_dots = (loose and case_or_space, loose and plus_tag, loose and gmail_dots)

    # Each side's work runs on its own thread: polars releases the GIL, and most string work on one
    # column is single-threaded, so the second core is otherwise idle (reads, e-mail forms, ...).
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=2)
    step = progress or (lambda stage: None)
    both = lambda f, *args: [fut.result() for fut in [pool.submit(f, *a) for a in args]]  # noqa: E731

    def read(path: Any, side: str) -> Any:
        table = read_table(path, side, maps[side], progress=progress)
        if side == "dashboard":
            table.rows = table.rows.with_columns(
                pl.col("email").str.contains(ANONYMISED_RE).fill_null(False).alias("anonymised"))
        return table

    with pool:
        dash, intl = both(read, (dashboard, "dashboard"), (internal, "internal"))
        step("matching by customer_key")
        d, i = dash.rows, intl.rows
        index = dict(zip(("internal", "dashboard"), both(Rows, (i,), (d,))))

        # Stage A: by customer_key, duplicates paired one to one in file order.
        by_key, by_email = match_on in ("key+email", "key"), match_on in ("key+email", "email")
        (ik, i_key_dups), (dk, d_key_dups) = both(
            lambda f: ranked(f.select("_line", "customer_key").filter(pl.col("customer_key").is_not_null()),
                              "customer_key"), (i,), (d,))
        pairs_a = ik.select("_line", "customer_key", "_rank").join(
            dk.select(pl.col("_line").alias("_dline"), "customer_key", "_rank"),
            on=["customer_key", "_rank"], how="inner",
        ).select(pl.col("_line").alias("_iline"), "_dline", pl.lit("customer-key").alias("match_reason"),
                 pl.lit(False).alias("key_conflict"))
        if not by_key:
            pairs_a, i_key_dups, d_key_dups = pairs_a.clear(), False, False

        step("matching by e-mail")

        # Stage B: by normalised e-mail, among the rows stage A left (the loose forms are computed
        # only for the rows left, never for key-matched ones; anonymised e-mails are not used).
        def rest(frame: Any, taken: Any, side: str) -> Any:
            email = pl.when(pl.col("anonymised")).then(None).otherwise(pl.col("email")) \
                if "anonymised" in frame.columns else pl.col("email")
            left = frame.select("_line", "customer_key", email.alias("email")).filter(~index[side].taken(taken))
            left, _ = add_email_levels(left if by_email else left.clear(), "email", "_canon",
                                       case_or_space, plus_tag, gmail_dots, keep=False)
            return ranked(left.filter(pl.col("_canon").is_not_null()), "_canon")

        (ie, i_email_dups), (de, d_email_dups) = both(rest, (i, pairs_a["_iline"], "internal"),
                                                      (d, pairs_a["_dline"], "dashboard"))
        cand = ie.select(pl.col("_line").alias("_iline"), "_canon", "_rank", pl.col("customer_key").alias("_ik"),
                         pl.col("email").alias("_ie")).join(
            de.select(pl.col("_line").alias("_dline"), "_canon", "_rank", pl.col("customer_key").alias("_dk"),
                      pl.col("email").alias("_de")),
            on=["_canon", "_rank"], how="inner",
        )
        # Two rows with different customer_keys: the same address (case and spaces aside) still pairs
        # them, with the conflict noted on the row; a looser e-mail match does not (key-conflict).
        same = pl.col("_ie") == pl.col("_de")
        cand = cand.with_columns((pl.col("_ik").is_not_null() & pl.col("_dk").is_not_null()
                                  & (pl.col("_ik") != pl.col("_dk"))).alias("key_conflict"))
        bare = lambda c: pl.col(c).str.to_lowercase().str.replace_all(r"\s+", "")  # noqa: E731
        suspects = cand.select((pl.col("key_conflict") & ~same).fill_null(False)).to_series().arg_true()
        weak = pl.repeat(False, cand.height, dtype=pl.Boolean, eager=True)
        if suspects.len():  # e-mails compared case and spaces aside only where the keys disagree
            differ = cand.select(pl.col("_ie", "_de").gather(suspects)).select(bare("_ie") != bare("_de")).to_series()
            weak = weak.scatter(suspects.filter(differ), True)
        conflicts = cand.filter(weak)
        cand = cand.filter(~weak)
        # the strictest level at which the two e-mails agree
        # (levels are computed only for the pairs whose e-mails are not identical)
        loose_pairs = cand.filter(~same).select("_iline", "_dline", "_ie", "_de", "key_conflict")
        loose_pairs, lv_i = add_email_levels(loose_pairs, "_ie", "_li", case_or_space, plus_tag, gmail_dots)
        loose_pairs, lv_d = add_email_levels(loose_pairs, "_de", "_ld", case_or_space, plus_tag, gmail_dots)
        chain = pl.lit(lv_i[-1][0])
        for (name, ei), (_, ed) in reversed(list(zip(lv_i[1:-1], lv_d[1:-1]))):
            chain = pl.when(pl.col(ei) == pl.col(ed)).then(pl.lit(name)).otherwise(chain)
        pairs = pl.concat([
            pairs_a,
            cand.filter(same).select("_iline", "_dline", pl.lit("exact").alias("match_reason"), "key_conflict"),
            loose_pairs.select("_iline", "_dline", chain.alias("match_reason"), "key_conflict"),
        ])

        step("duplicates")
        dup_i_lines, dup_d_lines = dup_lines(ik, i_key_dups), dup_lines(dk, d_key_dups)
        duplicates = duplicate_keys(ik, dk, dup_i_lines, dup_d_lines,
                                 ie if i_email_dups else None, de if d_email_dups else None, by_key)
        del ie, de, cand, loose_pairs, pairs_a  # free the matching's frames before the rows are built
        step("sorting out unmatched rows")

        # Why an unmatched row is unmatched (slim frames: line numbers, reasons, dates).
        def unmatched(frame: Any, paired: Any, conflicted: Any, dups: Any, side: str) -> Any:
            cols = ["_line", "created_at"] + (["anonymised", "customer_key"] if "anonymised" in frame.columns
                                              else ["click_date"])
            un = frame.select(cols).filter(~index[side].taken(paired))
            why = pl.when(line_mask(un["_line"], conflicted)).then(pl.lit("key-conflict")) \
                .when(line_mask(un["_line"], dups)).then(pl.lit("duplicate"))
            if "anonymised" in cols:  # dashboard
                why = why.when(pl.col("anonymised") & pl.col("customer_key").is_null()).then(pl.lit("anonymised-no-key"))
                return un.with_columns(why.otherwise(pl.lit("no-match")).alias("match_reason")).drop(
                    "anonymised", "customer_key")
            days = (pl.col("created_at") - pl.col("click_date")).dt.total_days()
            return un.with_columns(why.otherwise(pl.lit("no-match")).alias("match_reason"),
                                   days.alias("days_click_to_signup"),
                                   (days > window_days).fill_null(False).alias("outside_window"))

        i_un, d_un = both(unmatched, (i, pairs["_iline"], conflicts["_iline"], dup_i_lines, "internal"),
                          (d, pairs["_dline"], conflicts["_dline"], dup_d_lines, "dashboard"))

        step("bucketing pairs")
        at_i, at_d = both(lambda side, lines, cols: index[side].at(lines, **cols),
                          ("internal", pairs["_iline"], {"created_at": "_signup", "click_date": "_iclick"}),
                          ("dashboard", pairs["_dline"], {"partner_key": "partner_key", "status": "status",
                                                "created_at": "_dcreated", "click_date": "_dclick"}))
    p = pairs.hstack(at_i).hstack(at_d)
    signup = pl.coalesce("_signup", "_dcreated")
    click = pl.coalesce("_iclick", "_dclick")
    days = (signup - click).dt.total_days()
    if partner is not None:
        other = pl.col("partner_key").is_null() | (
            pl.col("partner_key").str.to_lowercase() != partner.strip().lower())
    else:
        other = pl.lit(False)
    # each distinct status classified once (platforms.DASHBOARD_STATUSES), not each row
    statuses = p.select(pl.col("status").unique().drop_nulls())
    pending = statuses.filter(status_class_expr(pl.col("status")) == STATUS_PENDING)["status"].to_list()
    pend = pl.col("status").is_in(pending) if pending else pl.lit(False)
    p = p.select(
        "_iline", "_dline", "match_reason", "key_conflict", "_signup", "_dcreated",
        click.alias("_click"), days.alias("days_click_to_signup"),
        (days > window_days).fill_null(False).alias("outside_window"), signup.alias("_when"),
        pl.when(other).then(pl.lit("other_partner")).when(pend).then(pl.lit("pending"))
        .otherwise(pl.lit("matched")).alias("_bucket"),
    ).sort("_iline")  # once: every list of pairs is then in internal line order
    del pairs

    # --since / --until
    def outside_dates(col: str) -> Any:
        cond = pl.lit(False)
        if since:
            cond = cond | (pl.col(col) < since).fill_null(False)
        if until:
            cond = cond | (pl.col(col) > until).fill_null(False)
        return cond

    ex_p, ex_i, ex_d = p.clear(), i_un.clear(), d_un.clear()
    if since or until:
        ex_p = p.filter(outside_dates("_when"))
        p = p.filter(~outside_dates("_when"))
        ex_i = i_un.filter(outside_dates("created_at"))
        i_un = i_un.filter(~outside_dates("created_at"))
        ex_d = d_un.filter(outside_dates("created_at"))
        d_un = d_un.filter(~outside_dates("created_at"))
    def excluded_rows(ex: Any, side: str, source: str, line: str, when: str) -> Any:
        return ex.select(pl.lit(side).alias("side"), pl.col(line).alias("line"), pl.col(when).cast(pl.String).alias("date"),
                         ).hstack(index[source].at(ex[line], customer_key="customer_key", email="email")
                                  ).select("side", "line", "customer_key", "email", "date")

    excluded = pl.concat([
        excluded_rows(ex_p, "both", "internal", "_iline", "_when"),
        excluded_rows(ex_i, "internal", "internal", "_line", "created_at"),
        excluded_rows(ex_d, "dashboard", "dashboard", "_line", "created_at"),
    ])

    # Full rows, built only for the rows shown (or all of them for --json / --missed-out).
    key_cols = (dash.columns.get("customer_key"), intl.columns.get("customer_key"))

    def pair_rows(sub: Any) -> Any:
        full = sub.hstack(
            index["internal"].at(sub["_iline"], customer_key="customer_key", email="email", name="name",
                                provider_key="_iprov")
        ).hstack(index["dashboard"].at(sub["_dline"], customer_key="_dkey", email="dashboard_email", name="_dname",
                     partner_key="partner_key", status="status", provider_key="_dprov"))
        return full.select(
            "match_reason", pl.coalesce("customer_key", "_dkey").alias("customer_key"), "email",
            "dashboard_email", pl.coalesce("name", "_dname").alias("name"), "partner_key", "status",
            pl.coalesce("_dprov", "_iprov").alias("provider_key"),
            pl.col("_signup").cast(pl.String).alias("signup_date"),
            pl.col("_dcreated").cast(pl.String).alias("dashboard_created_at"),
            pl.col("_click").cast(pl.String).alias("click_date"), "days_click_to_signup", "outside_window",
            pl.col("_iline").alias("internal_line"), pl.col("_dline").alias("dashboard_line"), "key_conflict",
            pl.when(pl.col("key_conflict")).then(pl.concat_str([
                pl.lit("customer_key differs: internal "), pl.col("customer_key"), pl.lit(f" ({key_cols[1]}), "
                                                                                     "dashboard "),
                pl.col("_dkey"), pl.lit(f" ({key_cols[0]}); same e-mail")])).alias("note"),
            "_bucket",
        )

    def missing_rows(sub: Any) -> Any:
        return sub.hstack(index["internal"].at(sub["_line"], customer_key="customer_key", email="email", name="name",
                              provider_key="provider_key")).select(
            "match_reason", "customer_key", "email", "name", "provider_key",
            pl.col("created_at").cast(pl.String).alias("signup_date"),
            pl.col("click_date").cast(pl.String).alias("click_date"), "days_click_to_signup",
            "outside_window", pl.col("_line").alias("line"),
        )

    def donly_rows(sub: Any) -> Any:
        return sub.hstack(index["dashboard"].at(sub["_line"], customer_key="customer_key", email="email", name="name",
                              partner_key="partner_key", status="status", provider_key="provider_key",
                              anonymised="anonymised")).select(
            "match_reason", "customer_key", "email", "name", "partner_key", "status", "provider_key",
            pl.col("created_at").cast(pl.String).alias("created_at"), "anonymised", pl.col("_line").alias("line"),
        )

    rejected_view = pl.concat([
        dash.rejected.select(pl.lit(dash.path).alias("file"), pl.lit("dashboard").alias("side"), "line", "reason", "raw"),
        intl.rejected.select(pl.lit(intl.path).alias("file"), pl.lit("internal").alias("side"), "line", "reason", "raw"),
    ])
    unreadable = pl.concat([t.unreadable.select(pl.lit(t.side).alias("side"), "line", "column", "value")
                            for t in (dash, intl)])
    n_bucket = {b: 0 for b in ("matched", "other_partner", "pending")}
    n_bucket.update(dict(p["_bucket"].value_counts().iter_rows()))
    n_outside = int(p["outside_window"].sum()) + int(i_un["outside_window"].sum())
    counts = ReconcileCounts(
        dashboard=dash.total, internal=intl.total,
        matched=n_bucket["matched"], missing_from_dashboard=i_un.height,
        dashboard_only=d_un.height, other_partner=n_bucket["other_partner"], pending=n_bucket["pending"],
        rejected=rejected_view.height, excluded=excluded.height,
        rejected_dashboard=dash.rejected.height, rejected_internal=intl.rejected.height,
        excluded_dashboard=ex_p.height + ex_d.height, excluded_internal=ex_p.height + ex_i.height,
        outside_window=n_outside, duplicate_keys=duplicates.height, key_conflicts=int(p["key_conflict"].sum()),
        date_unreadable=unreadable.height,
    )

    if missed_out is not None:
        step("writing the missed-out CSV")
        write_missed_out(missing_rows(i_un.sort("_line")), missed_out, partner)

    answer = None
    if customer is not None:
        q = customer.strip()
        canon_q = normalise_email(q, case_or_space, plus_tag, gmail_dots) if "@" in q else None

        def hit(frame: Any, by_name: bool = False) -> Any:
            if by_name:  # a ticket may only name the customer: same name, case and spaces aside
                cond = pl.col("name").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars() == \
                    " ".join(q.lower().split())
                return frame.filter(cond.fill_null(False))["_line"].to_list()
            cond = pl.col("customer_key") == q
            if canon_q is not None:
                frame, _ = add_email_levels(frame.select("_line", "customer_key", "email"), "email", "_canon",
                                            case_or_space, plus_tag, gmail_dots, keep=False)
                cond = cond | (pl.col("_canon") == canon_q)
            cond = cond | (pl.col("email").str.strip_chars().str.to_lowercase() == q.lower())
            return frame.filter(cond.fill_null(False))["_line"].to_list()

        hi, hd = hit(i), hit(d)
        if not hi and not hd and "@" not in q:
            hi, hd = hit(i, by_name=True), hit(d, by_name=True)
        answer = _answer(
            q,
            pair_rows(p.filter(pl.col("_iline").is_in(hi) | pl.col("_dline").is_in(hd)).sort("_iline")),
            missing_rows(i_un.filter(pl.col("_line").is_in(hi)).sort("_line")),
            donly_rows(d_un.filter(pl.col("_line").is_in(hd)).sort("_line")),
        )

    step("building evidence")
    as_is = lambda sub: sub  # noqa: E731
    lists = {  # evidence field -> (rows, builder of the full rows, row class, sort order)
        "matched": (p.filter(pl.col("_bucket") == "matched"), pair_rows, PairRow, None),  # sorted already
        "other_partner": (p.filter(pl.col("_bucket") == "other_partner"), pair_rows, PairRow, None),
        "pending": (p.filter(pl.col("_bucket") == "pending"), pair_rows, PairRow, None),
        "missing_from_dashboard": (i_un, missing_rows, InternalRow, None),
        "dashboard_only": (d_un, donly_rows, DashboardRow, None),
        "rejected": (rejected_view, as_is, RejectedRow, ["side", "line"]),
        "excluded": (excluded, as_is, ExcludedRow, ["side", "line"]),
        "duplicates": (duplicates, as_is, DuplicateKey, None),
        "date_unreadable": (unreadable, as_is, UnreadableDate, ["side", "line"]),
    }

    def take(sub: Any, build: Callable[[Any], Any], cls: type, by: str | list[str] | None) -> tuple[Any, ...]:
        if by or not rows:
            sub = (sub.sort(by) if rows else sub.bottom_k(PREVIEW_ROWS, by=by)) if by else sub.head(PREVIEW_ROWS)
        frame = build(sub).select([f.name for f in dataclasses.fields(cls)])
        return tuple(cls(*(tuple(v) if isinstance(v, list) else v for v in t)) for t in frame.iter_rows())

    ev = ReconcileEvidence(
        dashboard_file=dash.path, internal_file=intl.path, partner=partner,
        since=since.isoformat() if since else None, until=until.isoformat() if until else None,
        window_days=window_days,
        loose_rules=tuple(n for n, on in (("case-or-space", case_or_space), ("plus-tag", plus_tag),
                                           ("gmail-dots", gmail_dots)) if on),
        dashboard_columns=dash.columns, internal_columns=intl.columns,
        dashboard_encoding=dash.encoding, internal_encoding=intl.encoding,
        complete=rows, counts=counts, customer=answer,
        match_on=match_on, column_roles=_roles(dash, maps) + _roles(intl, maps),
        date_rules={f"{t.side}.{f}": rule for t in (dash, intl) for f, rule in t.date_rules.items()},
        **{name: take(*spec) for name, spec in lists.items()},
    )
    result = CheckResult("reconcile", ev, tuple(_problems(ev, partner, window_days)))
    if json_out is not None:
        step("writing JSON")
        from diagnose.checks.reconcile.read import stream_json

        stream_json(result.to_dict(), {name: (frame.sort(by) if by else frame, build,
                                              [f.name for f in dataclasses.fields(cls)])
                                       for name, (frame, build, cls, by) in lists.items()}, json_out)
    return result


def stages(*, missed_out: bool = False, json_out: bool = False) -> tuple[str, ...]:
    """The stages :func:`reconcile_files` reports to ``progress``, in order (one call each)."""
    return STAGES + (("writing the missed-out CSV",) if missed_out else ()) + ("building evidence",) + (
        ("writing JSON",) if json_out else ())


def _roles(table: Any, maps: dict[str, dict[str, str | None]]) -> tuple[ColumnRole, ...]:
    """Which column plays which role in ``table``, and whether --map said so."""
    mapped = maps[table.side]
    return tuple(ColumnRole(table.side, f, table.columns.get(f), "off" if mapped.get(f, "") is None
                            else "--map" if f in mapped else "inferred")
                 for f in FIELDS if f in table.columns or f in mapped)


def _answer(q: str, pairs: Any, missing: Any, donly: Any) -> CustomerAnswer:
    """The first hit among the rows that match the query (pairs, then internal, then dashboard)."""
    found = [(row["_bucket"], row) for row in pairs.iter_rows(named=True)]
    found += [("missing_from_dashboard", row) for row in missing.iter_rows(named=True)]
    found += [("dashboard_only", row) for row in donly.iter_rows(named=True)]
    if not found:
        return CustomerAnswer(q, False, False, None, None, None, None, None, None, None, None, None, None, None,
                              None, False, False, None, None, 0)
    bucket, r = found[0]
    in_pair = bucket in ("matched", "other_partner", "pending")
    internal = in_pair or bucket == "missing_from_dashboard"
    dashboard = in_pair or bucket == "dashboard_only"
    return CustomerAnswer(
        query=q, found_internal=internal, found_dashboard=dashboard, bucket=bucket,
        match_reason=r["match_reason"],
        dashboard_partner_key=r.get("partner_key") if dashboard else None,
        dashboard_status=r.get("status") if dashboard else None,
        provider_key=r.get("provider_key"), customer_key=r.get("customer_key"),
        email=r.get("email"), name=r.get("name"),
        signup_date=r.get("signup_date"),
        dashboard_created_at=r.get("dashboard_created_at") if in_pair else (r.get("created_at") if dashboard else None),
        click_date=r.get("click_date"), days_click_to_signup=r.get("days_click_to_signup"),
        outside_window=bool(r.get("outside_window")), anonymised=bool(r.get("anonymised")),
        internal_line=r.get("internal_line") if in_pair else (r.get("line") if internal else None),
        dashboard_line=r.get("dashboard_line") if in_pair else (r.get("line") if dashboard else None),
        other_matches=len(found) - 1,
        key_conflict=bool(r.get("key_conflict")), note=r.get("note"),
    )


_KEY_HINT = ("If one of these columns is not the customer's key, say so: --map internal.customer_key= "
             "(no column) or --match-on email")


def _problems(ev: ReconcileEvidence, partner: str | None, window_days: int) -> list[Problem]:
    c = ev.counts
    out: list[Problem] = []
    if ev.customer is not None:
        a = ev.customer
        who = f"customer {a.query!r}"
        if a.bucket is None:
            out.append(fail("customer-not-found", f"{who} is in neither the internal records nor the dashboard"))
        elif a.bucket == "missing_from_dashboard":
            out.append(fail("missing-from-dashboard",
                            f"{who} signed up ({a.signup_date or 'date unknown'}) but is not in the dashboard: "
                            "PartnerStack never got this customer (add the customer with --missed-out)"))
        elif a.bucket == "other_partner":
            out.append(fail("other-partner",
                            f"the dashboard attributes {who} to partner {a.dashboard_partner_key!r}, not {partner!r}"))
        elif a.bucket == "pending":
            out.append(warn("pending", f"{who} is in the dashboard with status {a.dashboard_status!r}: "
                                       "it waits on the company (approval or fulfilment)"))
        elif a.bucket == "dashboard_only":
            out.append(warn("dashboard-only", f"{who} is in the dashboard but not in the internal records"))
        if a.outside_window:
            out.append(warn("outside-window", f"{who} signed up {a.days_click_to_signup} days after the click, "
                                              f"outside the {window_days}-day attribution window"))
        if a.key_conflict:
            out.append(warn("key-conflict", f"{who}: {a.note}. {_KEY_HINT}"))
    else:
        if c.missing_from_dashboard:
            out.append(fail("missing-from-dashboard",
                            f"{c.missing_from_dashboard} internal customer(s) are not in the dashboard "
                            "(missed referrals? write them out with --missed-out)"))
        if c.other_partner:
            out.append(fail("other-partner",
                            f"{c.other_partner} customer(s) are attributed to a partner other than {partner!r}"))
        if c.pending:
            out.append(warn("pending", f"{c.pending} customer(s) wait on approval or fulfilment in the dashboard"))
        if c.outside_window:
            out.append(warn("outside-window", f"{c.outside_window} customer(s) signed up more than {window_days} "
                                              "days after the click (outside the attribution window)"))
        if c.key_conflicts:
            cols = {r.side: r.column for r in ev.column_roles if r.field == "customer_key"}
            out.append(warn("key-conflict", f"{c.key_conflicts} pair(s) matched by the same e-mail although their "
                                            f"customer_key differs (internal column {cols.get('internal')!r}, "
                                            f"dashboard column {cols.get('dashboard')!r}). {_KEY_HINT}"))
    if c.duplicate_keys:
        out.append(warn("duplicate-keys", f"{c.duplicate_keys} key(s) appear on more than one row of the same "
                                          "file (paired one to one in file order; see duplicates)"))
    if c.date_unreadable:
        first = ev.date_unreadable[0] if ev.date_unreadable else None
        example = f", e.g. {first.value!r} ({first.side} column {first.column!r}, line {first.line})" if first else ""
        out.append(warn("date-unreadable", f"{c.date_unreadable} date(s) could not be read{example}: the rows are "
                                           "kept with the date unknown (see date_unreadable and date_rules)"))
    if c.rejected:
        out.append(warn("rejected-rows", f"{c.rejected} row(s) could not be read "
                                         f"({c.rejected_dashboard} dashboard, {c.rejected_internal} internal; see rejected)"))
    return out
