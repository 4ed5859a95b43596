"""Pairing the rows of the two files: by ``customer_key`` first (duplicates paired one to one in file
order), then by e-mail among the rows left, each pair with the reason it matched (``exact``,
``case-or-space``, ``plus-tag``, ``gmail-dots``). Two rows whose customer_keys differ pair only by the
same address (case and spaces aside), noted as a ``key_conflict``; a looser match between them is
refused (``key-conflict``). With ``match_on="email"`` keys play no part. Vectorised with polars."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diagnose.checks.reconcile.emails import add_email_levels
from diagnose.checks.reconcile.frames import Both, Rows, line_mask, ranked
from diagnose.checks.reconcile.options import ReconcileOptions


@dataclass
class KeyMatch:
    """Stage A: the pairs by customer_key, and each side's keyed rows ranked within their key."""

    pairs: Any  # _iline, _dline, match_reason, key_conflict
    ik: Any  # internal rows with a key: _line, customer_key, _rank
    dk: Any
    i_dups: bool  # a key repeats on that side (only when keys are matched)
    d_dups: bool


@dataclass
class EmailMatch:
    """Stage B: every pair (stage A's too), the pairs refused for a key conflict, and each side's
    rows left for e-mail matching with their loosest form (``_canon``)."""

    pairs: Any  # _iline, _dline, match_reason, key_conflict
    conflicts: Any  # _iline, _dline, ...: same-ish e-mail, different keys, not paired
    ie: Any  # _line, customer_key, email, _canon, _rank
    de: Any
    i_dups: bool  # an e-mail form repeats on that side
    d_dups: bool


def match_by_key(i: Any, d: Any, opts: ReconcileOptions, both: Both) -> KeyMatch:
    """Pairs by customer_key, the n-th row of a key with the n-th row of the same key."""
    import polars as pl

    def keyed(frame: Any) -> Any:
        return ranked(frame.select("_line", "customer_key").filter(pl.col("customer_key").is_not_null()),
                      "customer_key")

    (ik, i_dups), (dk, d_dups) = both(keyed, (i,), (d,))
    pairs = ik.select("_line", "customer_key", "_rank").join(
        dk.select(pl.col("_line").alias("_dline"), "customer_key", "_rank"),
        on=["customer_key", "_rank"], how="inner",
    ).select(pl.col("_line").alias("_iline"), "_dline", pl.lit("customer-key").alias("match_reason"),
             pl.lit(False).alias("key_conflict"))
    if not opts.by_key:
        return KeyMatch(pairs.clear(), ik, dk, False, False)
    return KeyMatch(pairs, ik, dk, i_dups, d_dups)


def match_by_email(i: Any, d: Any, index: dict[str, Rows], by_key: KeyMatch, opts: ReconcileOptions,
                   both: Both) -> EmailMatch:
    """Pairs by normalised e-mail among the rows stage A left (the loose forms are computed only for
    the rows left, never for key-matched ones; placeholder e-mails are not used)."""
    import polars as pl

    case, plus, gmail = opts.rules

    def rest(frame: Any, taken: Any, side: str) -> Any:
        email = pl.when(pl.col("anonymised")).then(None).otherwise(pl.col("email")) \
            if "anonymised" in frame.columns else pl.col("email")
        left = frame.select("_line", "customer_key", email.alias("email")).filter(~index[side].taken(taken))
        left, _ = add_email_levels(left if opts.by_email else left.clear(), "email", "_canon",
                                   case, plus, gmail, keep=False)
        return ranked(left.filter(pl.col("_canon").is_not_null()), "_canon")

    (ie, i_dups), (de, d_dups) = both(rest, (i, by_key.pairs["_iline"], "internal"),
                                      (d, by_key.pairs["_dline"], "dashboard"))
    cand = ie.select(pl.col("_line").alias("_iline"), "_canon", "_rank", pl.col("customer_key").alias("_ik"),
                     pl.col("email").alias("_ie")).join(
        de.select(pl.col("_line").alias("_dline"), "_canon", "_rank", pl.col("customer_key").alias("_dk"),
                  pl.col("email").alias("_de")),
        on=["_canon", "_rank"], how="inner",
    )
    # Two rows with different customer_keys: the same address (case and spaces aside) still pairs
    # them, with the conflict noted on the row; a looser e-mail match does not (key-conflict).
    # Matching on e-mail only, the keys play no part: no conflict, whatever they say.
    same = pl.col("_ie") == pl.col("_de")
    keys_differ = pl.col("_ik").is_not_null() & pl.col("_dk").is_not_null() & (pl.col("_ik") != pl.col("_dk"))
    cand = cand.with_columns((keys_differ if opts.by_key else pl.lit(False)).alias("key_conflict"))
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
    loose_pairs, lv_i = add_email_levels(loose_pairs, "_ie", "_li", case, plus, gmail)
    loose_pairs, lv_d = add_email_levels(loose_pairs, "_de", "_ld", case, plus, gmail)
    chain = pl.lit(lv_i[-1][0])
    for (name, ei), (_, ed) in reversed(list(zip(lv_i[1:-1], lv_d[1:-1]))):
        chain = pl.when(pl.col(ei) == pl.col(ed)).then(pl.lit(name)).otherwise(chain)
    pairs = pl.concat([
        by_key.pairs,
        cand.filter(same).select("_iline", "_dline", pl.lit("exact").alias("match_reason"), "key_conflict"),
        loose_pairs.select("_iline", "_dline", chain.alias("match_reason"), "key_conflict"),
    ])
    return EmailMatch(pairs, conflicts, ie, de, i_dups, d_dups)


def find_duplicates(km: KeyMatch, em: EmailMatch, by_key: bool) -> tuple[Any, Any, Any]:
    """(the keys on more than one row, the internal and the dashboard lines of duplicated keys)."""
    dup_i_lines, dup_d_lines = dup_lines(km.ik, km.i_dups), dup_lines(km.dk, km.d_dups)
    duplicates = duplicate_keys(km.ik, km.dk, dup_i_lines, dup_d_lines,
                                em.ie if em.i_dups else None, em.de if em.d_dups else None, by_key)
    return duplicates, dup_i_lines, dup_d_lines


def dup_lines(keyed: Any, has_dups: bool) -> Any:
    """Line numbers of the rows whose customer_key appears on more than one row."""
    import polars as pl

    if not has_dups:
        return pl.Series("_line", [], dtype=pl.Int64)
    return keyed.filter(pl.col("customer_key").is_duplicated())["_line"]


def duplicate_keys(ik: Any, dk: Any, dup_i_lines: Any, dup_d_lines: Any, ie: Any, de: Any, by_key: bool) -> Any:
    """Keys on more than one row: customer_key (keyed rows), normalised e-mail (rows without a
    key, or every row when keys are not matched; ``ie`` / ``de`` are None when no e-mail repeats on
    that side)."""
    import polars as pl

    parts = []
    for side, frame, lines, rest in (("internal", ik, dup_i_lines, ie), ("dashboard", dk, dup_d_lines, de)):
        keyed = frame.select("_line", "customer_key").filter(line_mask(frame["_line"], lines))
        parts.append(keyed.group_by("customer_key").agg(pl.len().alias("rows"), pl.col("_line").sort().head(10).alias("lines"))
                     .select(pl.lit(side).alias("side"), pl.lit("customer_key").alias("kind"),
                             pl.col("customer_key").alias("value"), "rows", "lines"))
        if rest is None:
            continue
        unkeyed = (rest.filter(pl.col("customer_key").is_null()) if by_key else rest).select("_line", "_canon")
        if unkeyed.height != unkeyed["_canon"].n_unique():
            unkeyed = unkeyed.filter(pl.col("_canon").is_duplicated())
            parts.append(unkeyed.group_by("_canon").agg(pl.len().alias("rows"), pl.col("_line").sort().head(10).alias("lines"))
                         .select(pl.lit(side).alias("side"), pl.lit("email").alias("kind"),
                                 pl.col("_canon").alias("value"), "rows", "lines"))
    return pl.concat(parts).with_columns(pl.col("rows").cast(pl.Int64)).sort(
        ["rows", "side", "value"], descending=[True, False, False])
