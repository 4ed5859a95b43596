"""Spreadsheet-safe CSV cells: neutralise formula injection in every CSV the tool writes.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by Excel, LibreOffice and Google Sheets. Such cells get a leading single quote, which spreadsheets
show as text (OWASP "CSV injection"). Look-alikes count too: the full-width ``＝ ＋ － ＠`` (which
some spreadsheets fold to ASCII), and any of these after invisible characters (zero-width space,
joiners, BOM, soft hyphen).
"""

from __future__ import annotations

import re
from typing import Any

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_DANGEROUS_RE = f"^[{_INVISIBLE}]*[=+\\-@\\t\\r\uff1d\uff0b\uff0d\uff20]"
_DANGEROUS = re.compile(_DANGEROUS_RE)


def neutralise(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell (non-strings are returned unchanged)."""
    if isinstance(value, str) and _DANGEROUS.match(value):
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
