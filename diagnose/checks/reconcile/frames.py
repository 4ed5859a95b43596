"""Frames of rows found by line number (:class:`Rows`, :func:`line_mask`), rows ranked within a key and
the keys found on more than one row, and the frames a reader hands on (cells, rejected, unreadable).
Works on polars 1.0 to 2.x."""

from __future__ import annotations

from typing import Any


class Both:
    """Runs one function once per side, the two calls on two threads (polars releases the GIL, and
    most string work on one column is single-threaded, so the second core is otherwise idle)."""

    def __init__(self, pool: Any):
        self.pool = pool

    def __call__(self, f: Any, *args: tuple[Any, ...]) -> list[Any]:
        return [fut.result() for fut in [self.pool.submit(f, *a) for a in args]]


class Rows:
    """Row positions of line numbers in a frame (its ``_line`` is unique): a lookup table indexed by
    line number, so finding 1M rows is one gather, not 1M binary searches."""

    def __init__(self, frame: Any):
        import polars as pl

        self.frame, lines = frame, frame["_line"]
        size = int(lines.max()) + 1 if lines.len() else 0
        self.lookup = pl.repeat(None, size, dtype=pl.UInt32, eager=True).scatter(
            lines, pl.int_range(lines.len(), dtype=pl.UInt32, eager=True))

    def taken(self, lines: Any) -> Any:
        """A boolean mask over the frame's rows: True for the rows at ``lines`` (all present)."""
        import polars as pl

        mask = pl.repeat(False, self.frame.height, dtype=pl.Boolean, eager=True)
        return mask.scatter(self.lookup.gather(lines).sort(), True) if len(lines) else mask

    def at(self, lines: Any, **columns: str) -> Any:
        """The frame's ``columns`` (renamed as given) at ``lines``, in that order."""
        import polars as pl

        idx = self.lookup.gather(lines)
        return self.frame.select(pl.col(c).gather(idx).alias(new) for c, new in columns.items())


def ranked(frame: Any, key: str) -> Any:
    """``frame`` with ``_rank``: the row's occurrence number among rows of the same ``key``."""
    import polars as pl

    if frame.height == frame[key].n_unique():
        return frame.with_columns(pl.lit(0, dtype=pl.Int64).alias("_rank")), False
    return frame.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over(key).alias("_rank")), True


def line_mask(lines: Any, wanted: Any) -> Any:
    """A boolean Series over ``lines`` (sorted, unique line numbers): True where the line is one of
    ``wanted``. Binary search in expressions: the same on polars 1.0 and 2.x (no ``is_in``)."""
    import polars as pl

    mask = pl.repeat(False, lines.len(), dtype=pl.Boolean, eager=True).alias("_mask")
    if not lines.len() or not wanted.len():
        return mask
    idx = pl.select(pl.lit(lines).search_sorted(pl.lit(wanted)).clip(0, lines.len() - 1)).to_series()
    found = lines.gather(idx) == wanted
    return mask.scatter(idx.filter(found).sort(), True)


def frame_of_cells(records: list[list[str | None]], lines: list[int], raws: list[str], width: int,
                   kept: list[int] | None = None):
    """Columns c0..c{width-1} of ``records``, or, with ``kept``, only the columns c{i} for i in
    ``kept``, whose cells are then ``record[j]`` for ``i = kept[j]``; and ``_line``, ``_raw``."""
    import polars as pl

    names = [f"c{i}" for i in (range(width) if kept is None else kept)]
    data: dict[str, list] = {name: [r[j] if j < len(r) else None for r in records] for j, name in enumerate(names)}
    data["_line"] = lines
    data["_raw"] = raws
    return pl.DataFrame(data, schema={**{name: pl.String for name in names}, "_line": pl.Int64, "_raw": pl.String})


def empty_rejected():
    import polars as pl

    return pl.DataFrame(schema={"line": pl.Int64, "reason": pl.String, "raw": pl.String})


def empty_unreadable():
    import polars as pl

    return pl.DataFrame(schema={"line": pl.Int64, "field": pl.String, "column": pl.String, "value": pl.String})
