"""Excel exports (.xlsx, or the old .xls), known by their first bytes whatever the file is called:
the first sheet, read by polars with the optional fastexcel engine (``pip install 'diagnose[excel]'``);
without it, or for a workbook that cannot be read, one line saying how to export CSV instead."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from diagnose.core.errors import BadInput
from diagnose.checks.reconcile.frames import empty_rejected, frame_of_cells


OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old Excel .xls (and other Office 97 files)


def spreadsheet_kind(path: str | Path, head: bytes, side: str = "input") -> str | None:
    """``xlsx`` / ``xls`` when the file's first bytes say it is an Excel workbook, else None;
    BadInput for a ZIP archive that is not one."""
    import zipfile

    if head.startswith(OLE2_MAGIC[:4]):
        return "xls"
    if not head.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        names = []
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    raise BadInput(f"{side} file {path} is a ZIP archive, not an Excel workbook: unzip it and give the CSV inside")


def read_excel(path: str | Path, side: str, kind: str):
    """(headers, cells, rejected, what was read) of the first sheet, every cell as text (polars +
    fastexcel). A workbook of several sheets says which one was read, and that the others were not."""
    import polars as pl

    how = "export the sheet as CSV (Excel: File > Save As > CSV UTF-8) and give that file"
    what = f"{side} file {path} is an Excel workbook (.{kind}), not CSV"
    try:
        import fastexcel
    except ImportError:
        raise BadInput(f"{what}: {how}, or install the Excel reader: pip install 'diagnose[excel]'") from None
    try:
        import inspect

        keep = {k: False for k in ("drop_empty_rows", "drop_empty_cols")
                if k in inspect.signature(pl.read_excel).parameters}  # keep the sheet's row numbers
        with warnings.catch_warnings():  # polars 1.4x warns about its own from_arrow call here
            warnings.simplefilter("ignore", FutureWarning)
            sheet = pl.read_excel(path, engine="calamine", read_options={"header_row": None, "dtypes": "string"},
                                  **keep)
        names = fastexcel.read_excel(str(path)).sheet_names
    except Exception as exc:  # an unreadable workbook, or a polars too old for this fastexcel
        damaged = getattr(fastexcel, "CalamineError", None)
        if damaged is not None and isinstance(exc, damaged):  # the engine could not open or parse it
            raise BadInput(f"{side} file {path} is not a readable Excel file (.{kind}): it is damaged, or not "
                           f"really a workbook; {how}") from None
        detail = " ".join(str(exc).split())[:160]
        major, minor = (int(x) for x in re.findall(r"\d+", pl.__version__)[:2])
        old = f"; reading Excel needs polars >= 1.34, this is {pl.__version__}" if (major, minor) < (1, 34) else ""
        raise BadInput(f"{what} and it could not be read ({type(exc).__name__}: {detail}{old}): {how}") from None
    read = f"{kind}, sheet {names[0]!r}" + (f" (the other {len(names) - 1} sheet(s) not read)" if len(names) > 1 else "")
    if sheet.height == 0:
        return [], frame_of_cells([], [], [], 0), empty_rejected(), read
    sheet = sheet.select(pl.all().cast(pl.String)).with_row_index("_line", offset=1)
    sheet = sheet.rename({name: f"c{i}" for i, name in enumerate(sheet.columns[1:])})
    headers = [str(h or "").strip() for h in sheet.row(0)[1:]]
    cells = sheet.slice(1).filter(~pl.all_horizontal(
        pl.col(f"c{i}").fill_null("").str.strip_chars() == "" for i in range(len(headers))))
    cells = cells.select(*[f"c{i}" for i in range(len(headers))], pl.col("_line").cast(pl.Int64),
                         pl.lit(None, dtype=pl.String).alias("_raw"))
    return headers, cells, empty_rejected(), read
