"""Sorting rows into buckets: why an unmatched row is unmatched (``no-match``, ``key-conflict``,
``duplicate``, ``anonymised-no-key``), which bucket a pair lands in (``other_partner``, ``pending`` by
the dashboard status vocabulary of core/partnerstack.py, else ``matched``), the days from click to
signup, the rows outside ``since`` / ``until``, and the counts. Slim frames: line numbers, reasons,
dates; the full rows are built later, only for the rows shown (rows.py)."""

from __future__ import annotations

from typing import Any

from diagnose.core.partnerstack import STATUS_DECLINED, STATUS_PENDING
from diagnose.checks.reconcile.frames import Both, Rows, line_mask
from diagnose.checks.reconcile.model import ReconcileCounts
from diagnose.checks.reconcile.options import ReconcileOptions


def status_class_expr(status: Any) -> Any:
    """The class of each dashboard status (platforms.DASHBOARD_STATUSES: first match wins, case
    ignored; null when blank, unknown when none matches), as a polars expression."""
    import polars as pl

    from diagnose.core.partnerstack import DASHBOARD_STATUSES, STATUS_UNKNOWN

    out = pl.lit(STATUS_UNKNOWN)
    for cls, pattern in reversed(DASHBOARD_STATUSES):
        out = pl.when(status.str.contains(f"(?i){pattern}")).then(pl.lit(cls)).otherwise(out)
    return pl.when(status.str.strip_chars().fill_null("") == "").then(None).otherwise(out)


def unmatched(frame: Any, paired: Any, conflicted: Any, dups: Any, rows: Rows, window_days: int) -> Any:
    """The rows of one side that no pair took: ``_line``, ``created_at``, ``match_reason`` (why), and
    on the internal side ``click_date``, ``days_click_to_signup`` and ``outside_window``."""
    import polars as pl

    cols = ["_line", "created_at"] + (["anonymised", "customer_key"] if "anonymised" in frame.columns
                                      else ["click_date"])
    un = frame.select(cols).filter(~rows.taken(paired))
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


def pair_dates(pairs: Any, index: dict[str, Rows], both: Both) -> tuple[Any, Any]:
    """The columns the buckets need, gathered for the pairs from each side (one thread each)."""
    return both(lambda side, lines, cols: index[side].at(lines, **cols),
                ("internal", pairs["_iline"], {"created_at": "_signup", "click_date": "_iclick"}),
                ("dashboard", pairs["_dline"], {"partner_key": "partner_key", "status": "status",
                                                "created_at": "_dcreated", "click_date": "_dclick"}))


def bucket_pairs(pairs: Any, at_i: Any, at_d: Any, opts: ReconcileOptions) -> Any:
    """Each pair's bucket (``_bucket``), days from click to signup, whether that is outside the window,
    its date for since / until (``_when``) and whether its dashboard status is a decline (``_declined``:
    the pair stays in its bucket); sorted by internal line (so is every list of pairs)."""
    import polars as pl

    p = pairs.hstack(at_i).hstack(at_d)
    signup = pl.coalesce("_signup", "_dcreated")
    click = pl.coalesce("_iclick", "_dclick")
    days = (signup - click).dt.total_days()
    if opts.partner is not None:
        other = pl.col("partner_key").is_null() | (
            pl.col("partner_key").str.to_lowercase() != opts.partner.strip().lower())
    else:
        other = pl.lit(False)
    # each distinct status classified once (platforms.DASHBOARD_STATUSES), not each row
    statuses = p.select(pl.col("status").unique().drop_nulls()).with_columns(
        status_class_expr(pl.col("status")).alias("_class"))

    def of_class(cls: str) -> Any:
        found = statuses.filter(pl.col("_class") == cls)["status"].to_list()
        return pl.col("status").is_in(found) if found else pl.lit(False)

    pend = of_class(STATUS_PENDING)
    return p.select(
        "_iline", "_dline", "match_reason", "key_conflict", "_signup", "_dcreated",
        click.alias("_click"), days.alias("days_click_to_signup"),
        (days > opts.window_days).fill_null(False).alias("outside_window"), signup.alias("_when"),
        of_class(STATUS_DECLINED).alias("_declined"),
        pl.when(other).then(pl.lit("other_partner")).when(pend).then(pl.lit("pending"))
        .otherwise(pl.lit("matched")).alias("_bucket"),
    ).sort("_iline")


def split_by_dates(p: Any, i_un: Any, d_un: Any, opts: ReconcileOptions) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """((pairs, internal-only, dashboard-only) kept, (the same) outside --since / --until). Rows
    without a date, or with a date that could not be read, are kept."""
    import polars as pl

    if not (opts.since or opts.until):
        return (p, i_un, d_un), (p.clear(), i_un.clear(), d_un.clear())

    def outside(col: str) -> Any:
        cond = pl.lit(False)
        if opts.since:
            cond = cond | (pl.col(col) < opts.since).fill_null(False)
        if opts.until:
            cond = cond | (pl.col(col) > opts.until).fill_null(False)
        return cond

    parts = ((p, "_when"), (i_un, "created_at"), (d_un, "created_at"))
    return (tuple(f.filter(~outside(c)) for f, c in parts),  # type: ignore[return-value]
            tuple(f.filter(outside(c)) for f, c in parts))


def count(dash: Any, intl: Any, p: Any, i_un: Any, d_un: Any, excluded: tuple[Any, Any, Any],
          rejected: Any, duplicates: Any, unreadable: Any) -> ReconcileCounts:
    """Every count, over all rows (whatever the lists show)."""
    ex_p, ex_i, ex_d = excluded
    n_bucket = {b: 0 for b in ("matched", "other_partner", "pending")}
    n_bucket.update(dict(p["_bucket"].value_counts().iter_rows()))
    return ReconcileCounts(
        dashboard=dash.total, internal=intl.total,
        matched=n_bucket["matched"], missing_from_dashboard=i_un.height,
        dashboard_only=d_un.height, other_partner=n_bucket["other_partner"], pending=n_bucket["pending"],
        rejected=rejected.height, excluded=ex_p.height + ex_i.height + ex_d.height,
        rejected_dashboard=dash.rejected.height, rejected_internal=intl.rejected.height,
        excluded_dashboard=ex_p.height + ex_d.height, excluded_internal=ex_p.height + ex_i.height,
        outside_window=int(p["outside_window"].sum()) + int(i_un["outside_window"].sum()),
        duplicate_keys=duplicates.height, key_conflicts=int(p["key_conflict"].sum()),
        date_unreadable=unreadable.height, declined=int(p["_declined"].sum()),
    )
