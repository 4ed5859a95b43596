"""``--missed-out``: the customers PartnerStack never got, as an import-ready, spreadsheet-safe CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput

MISSED_OUT_COLUMNS = ("customer_key", "email", "name", "partner_key", "provider_key", "created_at")


def write_missed_out(missing: Any, path: str | Path, partner: str | None) -> int:
    """Write the missed customers as an import-ready, spreadsheet-safe CSV. Returns the row count."""
    import polars as pl

    from diagnose.core.csvsafe import neutralise_frame

    frame = missing.select(
        pl.col("customer_key"), pl.col("email").str.strip_chars(), pl.col("name"),
        pl.lit(partner, dtype=pl.String).alias("partner_key"), pl.col("provider_key"),
        pl.col("signup_date").alias("created_at"),
    ).select(MISSED_OUT_COLUMNS)
    try:
        neutralise_frame(frame).write_csv(str(path))
    except OSError as exc:
        raise BadInput(f"--missed-out {path}: cannot write ({exc.strerror or exc})") from None
    return frame.height
