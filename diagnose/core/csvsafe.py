"""Spreadsheet-safe CSV cells: neutralise formula injection in every CSV the tool writes.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by Excel, LibreOffice and Google Sheets. Such cells get a leading single quote, which spreadsheets
show as text (OWASP "CSV injection").
"""

from __future__ import annotations

from typing import Any

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_DANGEROUS_RE = r"^[=+\-@\t\r]"


def neutralise(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell (non-strings are returned unchanged)."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def neutralise_expr(expr: Any) -> Any:
    """The same rule as a polars expression over a string column (nulls stay null)."""
    import polars as pl

    return pl.when(expr.str.contains(_DANGEROUS_RE)).then(pl.lit("'") + expr).otherwise(expr)


def neutralise_frame(frame: Any) -> Any:
    """A polars DataFrame with every string column neutralised."""
    import polars as pl

    return frame.with_columns(
        neutralise_expr(pl.col(name)).alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )
