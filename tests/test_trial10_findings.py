"""Findings of a new-user tester of issue 10 (hostile input): a compressed export, a file of mixed
encodings, CR-only line endings, random bytes in a sweep list, a link with two gspk values and a
Refresh header whose delay is not a number. Each bad input gets a one-line error (exit 2), nothing
the user gave is dropped in silence, and row totals equal Python's csv / json readers."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.checks.reconcile.read import read_table
from diagnose.cli import cli

INTERNAL = "email,customer_key\nkim@example.com,k1\n"


def reconcile(tmp_path: Path, dashboard: Path, *extra: str):
    internal = tmp_path / "internal.csv"
    internal.write_text(INTERNAL, encoding="utf-8")
    return CliRunner().invoke(cli, ["reconcile", "--dashboard", str(dashboard), "--internal", str(internal),
                                    *extra])


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output[:500]
    return lines[0]


# -- 1. compressed exports ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, body", [
    ("gzip", b"\x1f\x8b\x08\x00" + b"\0" * 50),  # the tester's file: polars said "corrupt deflate stream" (exit 3)
    ("gzip", gzip.compress(b"email,customer_key\nkim@example.com,k1\n")),
    ("zstd", b"\x28\xb5\x2f\xfd" + b"\0" * 20),
    ("bzip2", b"BZh91AY&SY" + b"\0" * 20),
    ("xz", b"\xfd7zXZ\x00" + b"\0" * 20),
], ids=["gzip-corrupt", "gzip-valid", "zstd", "bzip2", "xz"])
def test_a_compressed_export_is_refused_in_one_line_naming_the_file(tmp_path, name, body):
    path = tmp_path / "export.csv"
    path.write_bytes(body)
    line = one_line_error(reconcile(tmp_path, path))
    assert "export.csv" in line and f"{name}-compressed" in line


def test_text_that_starts_like_a_zlib_stream_is_read_as_csv(tmp_path):
    # polars takes a file starting "x^" (0x78 0x5e) for zlib and fails: the csv module reads it
    path = tmp_path / "x.csv"
    text = "x^a,email\n1,kim@example.com\n2,lee@example.com\n"
    path.write_text(text, encoding="utf-8")
    table = read_table(path, "dashboard")
    assert table.total == len(list(csv.reader(io.StringIO(text)))) - 1
    assert table.rows["email"].to_list() == ["kim@example.com", "lee@example.com"]
