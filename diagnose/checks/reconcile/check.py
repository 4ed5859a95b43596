"""The check itself: :func:`reconcile_files` runs the stages in order, each a plain function of its
own module (read, match, buckets, rows, answer, problems; missed_out and stream for the outputs)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from diagnose.core.evidence import CheckResult
from diagnose.checks.reconcile.answer import answer, customer_lines, customer_rows
from diagnose.checks.reconcile.cache import cached_read
from diagnose.checks.reconcile.buckets import bucket_pairs, count, pair_dates, split_by_dates, unmatched
from diagnose.checks.reconcile.columns import column_roles, parse_mapping
from diagnose.checks.reconcile.emails import is_placeholder
from diagnose.checks.reconcile.frames import Both, Rows
from diagnose.checks.reconcile.match import find_duplicates, match_by_email, match_by_key
from diagnose.checks.reconcile.missed_out import write_missed_out
from diagnose.checks.reconcile.model import (
    PREVIEW_ROWS, DashboardRow, DuplicateKey, ExcludedRow, InternalRow, PairRow, ReconcileEvidence, RejectedRow,
    UnreadableDate,
)
from diagnose.checks.reconcile.options import ReconcileOptions
from diagnose.checks.reconcile.problems import problems
from diagnose.checks.reconcile.read import Table, read_table
from diagnose.checks.reconcile.rows import RowBuilder, rejected_rows, unreadable_dates
from diagnose.checks.reconcile.stream import stream_json


def _tune_allocator() -> None:
    """Ask polars' allocator (jemalloc) to hand freed memory back to the system within 200 ms: the
    reads and joins free large buffers, and with jemalloc's default 10 s decay the peak RSS on 1M x
    1M rows is ~1.1 GB instead of ~0.85 GB (measured; 0 ms saves a little more memory but costs
    ~0.5 s). Only possible before polars is first imported; a value the user set is kept."""
    import os
    import sys

    if "polars" not in sys.modules:
        os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:200,muzzy_decay_ms:0")


def _quiet(stage: str) -> None:
    pass


def reconcile_files(
    dashboard: str | Path,
    internal: str | Path,
    options: ReconcileOptions | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    json_out: Any = None,
    **settings: Any,
) -> CheckResult[ReconcileEvidence]:
    """Reconcile a dashboard export with internal records (see the package docstring).

    ``options`` (or its fields as keywords, e.g. ``partner="jane", rows=False``): what to do, see
    :class:`ReconcileOptions`. ``json_out``: a text stream that gets the whole result as JSON, every
    row of every list, written a chunk of rows at a time (never all rows as Python objects); the
    result returned then holds the first rows only. ``progress`` is called once per stage of
    :func:`stages`. Raises BadInput for a missing / empty file, a missing column or a bad option.
    """
    opts = dataclasses.replace(options or ReconcileOptions(), **settings)
    opts.check()
    maps = parse_mapping(opts.mapping)
    _tune_allocator()
    step = progress or _quiet
    # Each side's work runs on its own thread: polars releases the GIL, and most string work on one
    # column is single-threaded, so the second core is otherwise idle (reads, e-mail forms, ...).
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        both = Both(pool)
        dash, intl = both(_read, (dashboard, "dashboard", maps, progress), (internal, "internal", maps, progress))
        step("matching by customer_key")
        d, i = dash.rows, intl.rows
        index = dict(zip(("internal", "dashboard"), both(Rows, (i,), (d,))))
        by_key = match_by_key(i, d, opts, both)
        step("matching by e-mail")
        by_email = match_by_email(i, d, index, by_key, opts, both)
        step("duplicates")
        duplicates, dup_i, dup_d = find_duplicates(by_key, by_email, opts.by_key)
        pairs, conflicts = by_email.pairs, by_email.conflicts
        del by_key, by_email  # free the matching's frames before the rows are built
        step("sorting out unmatched rows")
        i_un, d_un = both(unmatched,
                          (i, pairs["_iline"], conflicts["_iline"], dup_i, index["internal"], opts.window_days),
                          (d, pairs["_dline"], conflicts["_dline"], dup_d, index["dashboard"], opts.window_days))
        step("bucketing pairs")
        at_i, at_d = pair_dates(pairs, index, both)
    p = bucket_pairs(pairs, at_i, at_d, opts)
    del pairs, at_i, at_d
    (p, i_un, d_un), outside = split_by_dates(p, i_un, d_un, opts)
    rows = RowBuilder(index, (dash.columns.get("customer_key"), intl.columns.get("customer_key")))
    rejected, unreadable, excluded = rejected_rows(dash, intl), unreadable_dates(dash, intl), rows.excluded(*outside)
    counts = count(dash, intl, p, i_un, d_un, outside, rejected, duplicates, unreadable)

    if opts.missed_out is not None:
        step("writing the missed-out CSV")
        write_missed_out(rows.missing(i_un.sort("_line")), opts.missed_out, opts.partner)
    customer = mine = None
    if opts.customer is not None:
        query = opts.customer.strip()
        lines = customer_lines(query, i, d, opts)
        customer = answer(query, lines, p, i_un, d_un, rows)
        mine = customer_rows(query, lines, i, d, rejected, unreadable, duplicates, opts)

    step("building evidence")
    lists = _lists(p, i_un, d_un, rejected, excluded, duplicates, unreadable, rows)
    complete = opts.rows or all(frame.height <= PREVIEW_ROWS for frame, *_ in lists.values())
    ev = ReconcileEvidence(
        dashboard_file=opts.dashboard_label or dash.path, internal_file=intl.path, partner=opts.partner,
        since=opts.since.isoformat() if opts.since else None, until=opts.until.isoformat() if opts.until else None,
        window_days=opts.window_days, loose_rules=opts.loose_rules,
        dashboard_columns=dash.columns, internal_columns=intl.columns,
        dashboard_encoding=dash.encoding, internal_encoding=intl.encoding,
        complete=complete, counts=counts, customer=customer,
        match_on=opts.match_on, column_roles=column_roles(dash, maps) + column_roles(intl, maps),
        date_rules={f"{t.side}.{f}": rule for t in (dash, intl) for f, rule in t.date_rules.items()},
        **{name: _preview(*spec, all_rows=opts.rows) for name, spec in lists.items()},
    )
    result = CheckResult("reconcile", ev, tuple(problems(ev, opts.partner, opts.window_days, mine)))
    if json_out is not None:
        step("writing JSON")
        stream_json(result.to_dict(), {name: (frame.sort(by) if by else frame, build,
                                              [f.name for f in dataclasses.fields(cls)])
                                       for name, (frame, build, cls, by) in lists.items()}, json_out)
    return result


def _read(path: str | Path, side: str, maps: dict[str, dict[str, str | None]],
          progress: Callable[[str], None] | None) -> Table:
    """One file read (once per batch: cache.py); on the dashboard side each e-mail is marked when it
    is a placeholder."""
    import polars as pl

    def read() -> Table:
        table = read_table(path, side, maps[side], progress=progress)
        if side == "dashboard":
            table.rows = table.rows.with_columns(is_placeholder(pl.col("email")).alias("anonymised"))
        return table

    return cached_read(path, side, maps[side], read)


def _as_is(sub: Any) -> Any:
    return sub


def _lists(p: Any, i_un: Any, d_un: Any, rejected: Any, excluded: Any, duplicates: Any, unreadable: Any,
           rows: RowBuilder) -> dict[str, tuple[Any, Callable[[Any], Any], type, Any]]:
    """Evidence field -> (its slim rows, the builder of its full rows, its row class, its sort order)."""
    import polars as pl

    return {
        "matched": (p.filter(pl.col("_bucket") == "matched"), rows.pairs, PairRow, None),  # sorted already
        "other_partner": (p.filter(pl.col("_bucket") == "other_partner"), rows.pairs, PairRow, None),
        "pending": (p.filter(pl.col("_bucket") == "pending"), rows.pairs, PairRow, None),
        "missing_from_dashboard": (i_un, rows.missing, InternalRow, None),
        "dashboard_only": (d_un, rows.dashboard_only, DashboardRow, None),
        "rejected": (rejected, _as_is, RejectedRow, ["side", "line"]),
        "excluded": (excluded, _as_is, ExcludedRow, ["side", "line"]),
        "duplicates": (duplicates, _as_is, DuplicateKey, None),
        "date_unreadable": (unreadable, _as_is, UnreadableDate, ["side", "line"]),
    }


def _preview(sub: Any, build: Callable[[Any], Any], cls: type, by: str | list[str] | None, *,
             all_rows: bool) -> tuple[Any, ...]:
    """The list's rows as ``cls`` objects: all of them, or (``all_rows=False``) the first few."""
    if by or not all_rows:
        sub = (sub.sort(by) if all_rows else sub.bottom_k(PREVIEW_ROWS, by=by)) if by else sub.head(PREVIEW_ROWS)
    frame = build(sub).select([f.name for f in dataclasses.fields(cls)])
    return tuple(cls(*(tuple(v) if isinstance(v, list) else v for v in t)) for t in frame.iter_rows())
