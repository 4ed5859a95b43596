"""``--customer``: the ticket's question for one customer (in our records? in the dashboard? whose?
since?). The query is looked up as a customer_key or an e-mail (with the loose rules in force), then,
when neither finds anything and it is not an e-mail, as the customer's name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from diagnose.core.partnerstack import dashboard_status_class
from diagnose.checks.reconcile.emails import add_email_levels, normalise_email
from diagnose.checks.reconcile.model import PAIR_BUCKETS, CustomerAnswer, DuplicateKey, RejectedRow, UnreadableDate
from diagnose.checks.reconcile.options import ReconcileOptions
from diagnose.checks.reconcile.rows import RowBuilder


def customer_lines(query: str, i: Any, d: Any, opts: ReconcileOptions) -> tuple[list[int], list[int]]:
    """The internal and the dashboard lines of the rows that are the customer ``query``."""
    import polars as pl

    case, plus, gmail = opts.rules
    canon_q = normalise_email(query, case, plus, gmail) if "@" in query else None

    def hit(frame: Any, by_name: bool = False) -> list[int]:
        if by_name:  # a ticket may only name the customer: same name, case and spaces aside
            cond = pl.col("name").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars() == \
                " ".join(query.lower().split())
            return frame.filter(cond.fill_null(False))["_line"].to_list()
        cond = pl.col("customer_key") == query
        if canon_q is not None:
            frame, _ = add_email_levels(frame.select("_line", "customer_key", "email"), "email", "_canon",
                                        case, plus, gmail, keep=False)
            cond = cond | (pl.col("_canon") == canon_q)
        cond = cond | (pl.col("email").str.strip_chars().str.to_lowercase() == query.lower())
        return frame.filter(cond.fill_null(False))["_line"].to_list()

    hi, hd = hit(i), hit(d)
    if not hi and not hd and "@" not in query:
        hi, hd = hit(i, by_name=True), hit(d, by_name=True)
    return hi, hd


def among(column: str, values: list[Any]) -> Any:
    """``column`` is one of ``values`` (a short Python list: polars 2 deprecates is_in with a Series of
    the column's own type, and polars 1.0 cannot take an empty list of unknown type)."""
    import polars as pl

    return pl.col(column).is_in(values) if values else pl.lit(False)


def answer(query: str, lines: tuple[list[int], list[int]], p: Any, i_un: Any, d_un: Any,
           rows: RowBuilder) -> CustomerAnswer:
    """The first hit among the customer's rows (pairs, then internal only, then dashboard only)."""
    hi, hd = lines
    pairs = rows.pairs(p.filter(among("_iline", hi) | among("_dline", hd)).sort("_iline"))
    missing = rows.missing(i_un.filter(among("_line", hi)).sort("_line"))
    donly = rows.dashboard_only(d_un.filter(among("_line", hd)).sort("_line"))
    found = [(row["_bucket"], row) for row in pairs.iter_rows(named=True)]
    found += [("missing_from_dashboard", row) for row in missing.iter_rows(named=True)]
    found += [("dashboard_only", row) for row in donly.iter_rows(named=True)]
    if not found:
        return CustomerAnswer(query, False, False, None, None, None, None, None, None, None, None, None, None, None,
                              None, False, False, None, None, 0)
    bucket, r = found[0]
    in_pair = bucket in PAIR_BUCKETS
    internal = in_pair or bucket == "missing_from_dashboard"
    dashboard = in_pair or bucket == "dashboard_only"
    return CustomerAnswer(
        query=query, found_internal=internal, found_dashboard=dashboard, bucket=bucket,
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
        dashboard_status_class=dashboard_status_class(r.get("status")) if dashboard else None,
    )


@dataclass(frozen=True)
class CustomerRows:
    """The file-wide findings that touch the customer's own rows (its problems name only these)."""

    unreadable: tuple[UnreadableDate, ...] = ()  # dates on its rows that could not be read
    duplicates: tuple[DuplicateKey, ...] = ()  # its customer_key or e-mail on several rows of a file
    rejected: tuple[RejectedRow, ...] = ()  # unreadable rows whose text names the query


def customer_rows(query: str, lines: tuple[list[int], list[int]], i: Any, d: Any, rejected: Any, unreadable: Any,
                  duplicates: Any, opts: ReconcileOptions) -> CustomerRows:
    """The customer's share of ``unreadable`` dates, ``duplicates`` and ``rejected`` rows."""
    import polars as pl

    hi, hd = lines
    on_mine = ((pl.col("side") == "internal") & among("line", hi)) | (
        (pl.col("side") == "dashboard") & among("line", hd))
    theirs = [f.filter(among("_line", x)).select("customer_key", "email") for f, x in ((i, hi), (d, hd))]
    keys = pl.concat(theirs)["customer_key"].drop_nulls().unique().to_list()
    emails = [normalise_email(e, *opts.rules) for e in pl.concat(theirs)["email"].drop_nulls().unique()]
    dups = duplicates.filter(((pl.col("kind") == "customer_key") & among("value", keys))
                             | ((pl.col("kind") == "email") & among("value", emails)))
    # an unreadable row names the customer when the query stands in its text as a whole value
    named = re.compile(rf"(?i)(?:^|[^0-9a-z_@.+-]){re.escape(query)}(?:$|[^0-9a-z_@.+-])")
    maybe = rejected.filter(pl.col("raw").str.to_lowercase().str.contains(query.lower(), literal=True).fill_null(False))
    return CustomerRows(
        unreadable=tuple(UnreadableDate(*r) for r in unreadable.filter(on_mine).sort("side", "line").iter_rows()),
        duplicates=tuple(DuplicateKey(*r[:4], tuple(r[4])) for r in dups.select(
            "side", "kind", "value", "rows", "lines").iter_rows()),
        rejected=tuple(RejectedRow(*r) for r in maybe.sort("side", "line").iter_rows() if named.search(r[4])),
    )
