"""Issue #8: an Excel export is known by its first bytes (not its name): read with the optional
fastexcel engine, or one line (exit 2) saying it is Excel and how to export CSV."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner

from diagnose.checks.reconcile import reconcile_files
from diagnose.cli import cli
from diagnose.core.errors import BadInput
from diagnose.checks.reconcile.excel import OLE2_MAGIC, spreadsheet_kind
from diagnose.checks.reconcile.read import read_table

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")

ROWS = [["Customer Key", "Email", "Created At", "Partner Key", "Amount"],
        ["k1", "a@x.com", "2026-10-05", "jane", 12345],
        ["", "b@x.com", "Oct 5, 2026", "jane", 1.5],
        [],
        ["k3", "c@x.com", "", "john", ""]]


def write_xlsx(path: Path, rows: list[list[object]], notes_sheet: bool = False) -> Path:
    """A minimal, valid .xlsx (inline strings, one sheet), built with zipfile: no Excel library."""
    def ref(col: int, row: int) -> str:
        name = ""
        col += 1
        while col:
            col, rem = divmod(col - 1, 26)
            name = chr(65 + rem) + name
        return f"{name}{row}"

    def cell(col: int, row: int, value: object) -> str:
        if value == "":
            return ""
        if isinstance(value, (int, float)):
            return f'<c r="{ref(col, row)}"><v>{value}</v></c>'
        return f'<c r="{ref(col, row)}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'

    body = "".join(f'<row r="{r}">' + "".join(cell(c, r, v) for c, v in enumerate(row)) + "</row>"
                   for r, row in enumerate(rows, start=1) if row)
    ns = 'xmlns="http://schemas.openxmlformats.org/'
    sheets = {1: "Customers", 2: "Notes"} if notes_sheet else {1: "Customers"}
    parts = {
        "[Content_Types].xml": f'<?xml version="1.0" encoding="UTF-8"?><Types {ns}package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sheet.main+xml"/>' + "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for n in sheets) + '</Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships {ns}package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns}spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        + "".join(f'<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>' for n, name in sheets.items())
        + '</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships {ns}package/2006/'
        'relationships">' + "".join(
            f'<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            f'relationships/worksheet" Target="worksheets/sheet{n}.xml"/>' for n in sheets) + '</Relationships>',
    }
    for n in sheets:
        parts[f"xl/worksheets/sheet{n}.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}spreadsheetml/'
                                                f'2006/main"><sheetData>{body if n == 1 else ""}</sheetData></worksheet>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


def run(*args: object):
    return CliRunner().invoke(cli, ["reconcile", *map(str, args)])


def one_line_exit_2(res) -> str:
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    assert "Traceback" not in res.output and "PK\x03\x04" not in res.output
    return lines[0]


@pytest.fixture
def no_engine(monkeypatch):
    monkeypatch.setitem(sys.modules, "fastexcel", None)  # `import fastexcel` raises ImportError


def test_xlsx_named_csv_without_the_engine(tmp_path, no_engine):
    book = write_xlsx(tmp_path / "customers-export.csv", ROWS)  # the name says CSV, the bytes say Excel
    line = one_line_exit_2(run("--dashboard", book, "--internal", book))
    assert "is an Excel workbook (.xlsx)" in line and "CSV" in line and "pip install 'diagnose[excel]'" in line


def test_old_xls_is_known_by_its_magic(tmp_path, no_engine):
    old = tmp_path / "export.csv"
    old.write_bytes(OLE2_MAGIC + b"\x00" * 504)
    assert spreadsheet_kind(old, old.read_bytes()[:64]) == "xls"
    line = one_line_exit_2(run("--dashboard", old, "--internal", old))
    assert "Excel workbook (.xls)" in line and "CSV" in line


def test_an_engine_that_fails_is_one_line_too(tmp_path, monkeypatch):
    import polars as pl

    pytest.importorskip("fastexcel")

    def broken(*args, **kwargs):
        raise TypeError("DataFrame constructor called with unsupported type 'ExcelSheet'")

    monkeypatch.setattr(pl, "read_excel", broken)
    book = write_xlsx(tmp_path / "d.xlsx", ROWS)
    line = one_line_exit_2(run("--dashboard", book, "--internal", book))
    assert "could not be read" in line and "export the sheet as CSV" in line


def test_a_zip_that_is_not_excel(tmp_path):
    archive = tmp_path / "export.csv"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("customers.csv", "email\na@x.com\n")
    line = one_line_exit_2(run("--dashboard", archive, "--internal", archive))
    assert "ZIP archive" in line


def test_csv_and_jsonl_are_not_spreadsheets(tmp_path):
    assert spreadsheet_kind(tmp_path / "x.csv", b"email\nPK\x03\x04@x.com\n") is None
    assert spreadsheet_kind(tmp_path / "x.jsonl", b'{"email": "a@x.com"}') is None


def test_xlsx_is_read_with_the_engine(tmp_path):
    pytest.importorskip("fastexcel")
    book = write_xlsx(tmp_path / "dashboard.csv", ROWS)
    try:
        table = read_table(book, "dashboard")
    except BadInput as exc:  # fastexcel installed, but this polars cannot use it without pyarrow
        pytest.skip(str(exc))
    assert table.fmt == "xlsx" and table.headers == ROWS[0]
    assert table.rows.select("_line", "customer_key", "email", "partner_key").rows() == [
        (2, "k1", "a@x.com", "jane"), (3, None, "b@x.com", "jane"), (5, "k3", "c@x.com", "john")]
    assert [str(d) for d in table.rows["created_at"].to_list()] == ["2026-10-05", "2026-10-05", "None"]
    internal = tmp_path / "internal.csv"
    internal.write_text("customer_key,email\nk1,a@x.com\n,b@x.com\nk3,c@x.com\n", encoding="utf-8")
    ev = reconcile_files(book, internal, partner="jane").evidence
    assert (ev.counts.matched, ev.counts.other_partner, ev.dashboard_encoding) == (2, 1, "xlsx, sheet 'Customers'")
    two = read_table(write_xlsx(tmp_path / "two.xlsx", ROWS, notes_sheet=True), "dashboard")
    assert two.encoding == "xlsx, sheet 'Customers' (the other 1 sheet(s) not read)" and two.rows.height == 3
