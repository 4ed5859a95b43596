"""Full rows, built only for the rows shown (the first of each bucket), for ``--missed-out``, or a chunk
at a time for ``--json``: the slim frames of the buckets (line numbers, reasons, dates) joined back
to the columns of each file through its line -> row lookup."""

from __future__ import annotations

from typing import Any

from diagnose.checks.reconcile.frames import Rows


class RowBuilder:
    """Builds the rows of each list from the slim frames of the buckets. ``key_columns``: the
    header of the customer_key column on the dashboard and internal side (for key-conflict notes)."""

    def __init__(self, index: dict[str, Rows], key_columns: tuple[str | None, str | None]):
        self.index, self.key_columns = index, key_columns

    def pairs(self, sub: Any) -> Any:
        """PairRow columns (+ ``_bucket``) for pairs: _iline, _dline, match_reason, key_conflict, ..."""
        import polars as pl

        dash_col, intl_col = self.key_columns
        full = sub.hstack(
            self.index["internal"].at(sub["_iline"], customer_key="customer_key", email="email", name="name",
                                      provider_key="_iprov")
        ).hstack(self.index["dashboard"].at(sub["_dline"], customer_key="_dkey", email="dashboard_email",
                                            name="_dname", partner_key="partner_key", status="status",
                                            provider_key="_dprov"))
        return full.select(
            "match_reason", pl.coalesce("customer_key", "_dkey").alias("customer_key"), "email",
            "dashboard_email", pl.coalesce("name", "_dname").alias("name"), "partner_key", "status",
            pl.coalesce("_dprov", "_iprov").alias("provider_key"),
            pl.col("_signup").cast(pl.String).alias("signup_date"),
            pl.col("_dcreated").cast(pl.String).alias("dashboard_created_at"),
            pl.col("_click").cast(pl.String).alias("click_date"), "days_click_to_signup", "outside_window",
            pl.col("_iline").alias("internal_line"), pl.col("_dline").alias("dashboard_line"), "key_conflict",
            pl.when(pl.col("key_conflict")).then(pl.concat_str([
                pl.lit("customer_key differs: internal "), pl.col("customer_key"), pl.lit(f" ({intl_col}), dashboard "),
                pl.col("_dkey"), pl.lit(f" ({dash_col}); same e-mail")])).alias("note"),
            "_bucket",
        )

    def missing(self, sub: Any) -> Any:
        """InternalRow columns for internal rows with no dashboard row."""
        import polars as pl

        return sub.hstack(self.index["internal"].at(sub["_line"], customer_key="customer_key", email="email",
                                                    name="name", provider_key="provider_key")).select(
            "match_reason", "customer_key", "email", "name", "provider_key",
            pl.col("created_at").cast(pl.String).alias("signup_date"),
            pl.col("click_date").cast(pl.String).alias("click_date"), "days_click_to_signup",
            "outside_window", pl.col("_line").alias("line"),
        )

    def dashboard_only(self, sub: Any) -> Any:
        """DashboardRow columns for dashboard rows with no internal row."""
        import polars as pl

        return sub.hstack(self.index["dashboard"].at(
            sub["_line"], customer_key="customer_key", email="email", name="name", partner_key="partner_key",
            status="status", provider_key="provider_key", anonymised="anonymised")).select(
            "match_reason", "customer_key", "email", "name", "partner_key", "status", "provider_key",
            pl.col("created_at").cast(pl.String).alias("created_at"), "anonymised", pl.col("_line").alias("line"),
        )

    def excluded(self, ex_p: Any, ex_i: Any, ex_d: Any) -> Any:
        """ExcludedRow columns for the rows outside --since / --until (a pair once, as ``both``)."""
        import polars as pl

        def rows(ex: Any, side: str, source: str, line: str, when: str) -> Any:
            return ex.select(pl.lit(side).alias("side"), pl.col(line).alias("line"),
                             pl.col(when).cast(pl.String).alias("date"),
                             ).hstack(self.index[source].at(ex[line], customer_key="customer_key", email="email")
                                      ).select("side", "line", "customer_key", "email", "date")

        return pl.concat([
            rows(ex_p, "both", "internal", "_iline", "_when"),
            rows(ex_i, "internal", "internal", "_line", "created_at"),
            rows(ex_d, "dashboard", "dashboard", "_line", "created_at"),
        ])


def rejected_rows(dash: Any, intl: Any) -> Any:
    """RejectedRow columns: the rows of both files that could not be read."""
    import polars as pl

    return pl.concat([t.rejected.select(pl.lit(t.path).alias("file"), pl.lit(t.side).alias("side"), "line",
                                        "reason", "raw") for t in (dash, intl)])


def unreadable_dates(dash: Any, intl: Any) -> Any:
    """UnreadableDate columns: the rows of both files kept with a date that could not be read."""
    import polars as pl

    return pl.concat([t.unreadable.select(pl.lit(t.side).alias("side"), "line", "column", "value")
                      for t in (dash, intl)])
