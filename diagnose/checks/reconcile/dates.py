"""Dates as exports write them, read per column: ISO dates and date-times, epoch seconds or
milliseconds, YYYYMMDD, written-out months ("Oct 5, 2026", "5 October 2026"), DD.MM.YYYY, and numeric
dates whose day / month order is decided per column (:func:`parse_dates` says which rule it used)."""

from __future__ import annotations

from typing import Any

_MONTHS = {m: f"{i:02d}" for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_MONTH = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_END = r"(?:$|[T\s,])"
DATE_FORMS = {  # name -> (regex with groups, how the groups make year, month, day)
    "ISO 8601": (r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _END, "ymd"),
    "epoch seconds / milliseconds": (r"^(\d{9,10}|\d{12,13})(?:\.\d+)?$", "epoch"),
    "YYYYMMDD": (r"^(\d{4})(\d{2})(\d{2})$", "ymd"),
    "Month D, YYYY": (r"(?i)^" + _WEEKDAY + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})" + _END, "mdy"),
    "D Month YYYY": (r"(?i)^" + _WEEKDAY + r"(\d{1,2})(?:st|nd|rd|th)?[\s-]+" + _MONTH + r",?[\s-]+(\d{4})" + _END, "dmy"),
    "DD.MM.YYYY": (r"^(\d{1,2})\.(\d{1,2})\.(\d{4})" + _END, "dmy"),
}
NUMERIC_DATE = r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})" + _END  # 10/05/2026, 05-10-26: order per column


def parse_dates(series: Any) -> tuple[Any, str | None]:
    """A Date series and the rule used (None when the column has no date). Reads ISO dates and
    date-times (the date as written, zone aside), epoch seconds / milliseconds, YYYYMMDD, "Oct 5,
    2026", "5 Oct 2026", "October 5, 2026" (weekday allowed), DD.MM.YYYY, and numeric dates with
    / or - decided per column: day first when some first number is over 12 (and more often than
    a second number is), month first otherwise (ambiguous -> month first). Unreadable -> null."""
    import polars as pl

    s = series.str.strip_chars()
    iso = s.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    iso = pl.select(pl.when(s.str.slice(10, 1).is_in(["", "T", " "])).then(iso)).to_series()
    todo = iso.is_null() & s.is_not_null()
    used = ["ISO 8601"] if iso.is_not_null().any() else []
    if not todo.any():
        return iso, "; ".join(used) or None

    def ymd(y: Any, m: Any, d: Any) -> Any:
        return pl.concat_str([y, pl.lit("-"), m.str.zfill(2), pl.lit("-"), d.str.zfill(2)]).str.to_date(
            "%Y-%m-%d", strict=False)

    rest = s.filter(todo).alias("s").to_frame()
    parts = []
    for name, (regex, how) in DATE_FORMS.items():
        g = pl.col("s").str.extract_groups(regex)
        f1, f2, f3 = (g.struct.field(str(n)) for n in (1, 2, 3))
        if how == "epoch":
            v = f1.cast(pl.Int64)
            date = pl.from_epoch(pl.when(f1.str.len_chars() >= 12).then(v).otherwise(v * 1000), time_unit="ms").dt.date()
        elif how == "ymd":
            date = ymd(f1, f2, f3)
        elif how == "mdy":
            date = ymd(f3, f1.str.to_lowercase().str.slice(0, 3).replace(_MONTHS), f2)
        else:
            month = f2 if name == "DD.MM.YYYY" else f2.str.to_lowercase().str.slice(0, 3).replace(_MONTHS)
            date = ymd(f3, month, f1)
        parts.append(date.alias(name))
    g = pl.col("s").str.extract_groups(NUMERIC_DATE)
    a, b, y = (g.struct.field(str(n)) for n in (1, 2, 3))
    nums = rest.select(a.cast(pl.Int32).alias("a"), b.cast(pl.Int32).alias("b"), pl.col("s"))
    first_over, second_over = int((nums["a"] > 12).sum()), int((nums["b"] > 12).sum())
    day_first = first_over > second_over
    y4 = pl.when(y.str.len_chars() == 2).then(
        pl.when(y.cast(pl.Int32) < 69).then(pl.lit("20") + y).otherwise(pl.lit("19") + y)).otherwise(y)
    parts.append((ymd(y4, b, a) if day_first else ymd(y4, a, b)).alias("numeric"))
    found = rest.select(parts)
    counts = found.select(pl.all().is_not_null().sum()).row(0, named=True)
    used += [name for name in DATE_FORMS if counts[name]]
    if nums["a"].is_not_null().any():
        example = lambda col: nums.filter(pl.col(col) > 12)["s"][0]  # noqa: E731
        if day_first:
            rule = f"DD/MM/YYYY (day first: a first number is over 12, e.g. {example('a')!r})"
        elif second_over:
            rule = f"MM/DD/YYYY (month first: a second number is over 12, e.g. {example('b')!r})"
        else:
            rule = "MM/DD/YYYY (ambiguous: no number over 12, month first assumed)"
        if first_over and second_over:
            rule += "; mixed orders in the column: the dates that fit only the other order are unreadable"
        used.append(rule)
    parsed = found.select(pl.coalesce(pl.all())).to_series()
    return iso.scatter(todo.arg_true(), parsed), "; ".join(dict.fromkeys(used)) or None
