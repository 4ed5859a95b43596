"""Issue #8: the stage bar counts the stages reconcile really runs and ends at N/N; --json streams
every row instead of building them all in Python first."""

from __future__ import annotations

import io
import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

import diagnose.checks.reconcile.check as check_module
from diagnose.checks.reconcile import PREVIEW_ROWS, PairRow, reconcile_files, stages
from diagnose.cli import StageBar, cli

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")

DATA = Path(__file__).parent / "data" / "reconcile"
DASH, INTL = DATA / "dashboard.csv", DATA / "internal.csv"


@pytest.mark.parametrize("missed,as_json", [(False, False), (True, False), (False, True), (True, True)])
def test_one_progress_call_per_planned_stage(tmp_path, missed, as_json):
    calls: list[str] = []
    reconcile_files(DASH, INTL, partner="jane", progress=calls.append,
                    missed_out=tmp_path / "m.csv" if missed else None,
                    json_out=io.StringIO() if as_json else None, rows=False)
    assert len(calls) == len(stages(missed_out=missed, json_out=as_json))
    assert ("writing the missed-out CSV" in calls) == missed and (calls[-1] == "writing JSON") == as_json


def frames(drawn: str) -> list[str]:
    """The frames of a bar redrawn in place (colours and cursor moves removed)."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    return [f.strip() for f in text.split("\r") if f.strip()]


def test_the_stage_bar_ends_at_n_of_n(tmp_path):
    n = len(stages(missed_out=True))
    screen = io.StringIO()
    bar = StageBar(n, console=Console(file=screen, force_terminal=True, width=120))
    reconcile_files(DASH, INTL, partner="jane", progress=bar.advance, missed_out=tmp_path / "m.csv", rows=False)
    drawn = [re.search(r" (\d+)/(\d+) [0-9:]+ (.*)$", f).groups() for f in frames(screen.getvalue())]
    bar.finish()
    assert bar.done == bar.stages == n
    shown = [int(k) for k, _, _ in drawn]
    once = [k for j, k in enumerate(shown) if not j or shown[j - 1] != k]  # a timed redraw may repeat a frame
    assert once == list(range(1, n + 1)), drawn  # each stage in order, none skipped, none past n
    assert {total for _, total, _ in drawn} == {str(n)}
    assert drawn[-1] == (str(n), str(n), "building evidence")  # the last stage at n/n


def big_files(folder: Path, n: int) -> tuple[Path, Path]:
    rnd = random.Random(8)
    d_lines, i_lines = ["Customer Key,Email,Partner Key,Status,Created At"], ["id,email,signup_date"]
    for k in range(n):
        key = f"k{k}" if k % 3 == 0 else ""
        i_lines.append(f"{key},user{k}@example.com,2026-{1 + k % 12:02d}-{1 + k % 28:02d}")
        if rnd.random() < 0.9:
            d_lines.append(f"{key},User{k}@example.com,{rnd.choice(['jane', 'john'])},"
                           f"{rnd.choice(['Paid', 'Pending approval', 'Approved'])},\"Oct {1 + k % 28}, 2026\"")
    d, i = folder / "d.csv", folder / "i.csv"
    d.write_text("\n".join(d_lines) + "\n", encoding="utf-8")
    i.write_text("\n".join(i_lines) + "\n", encoding="utf-8")
    return d, i


def test_json_streams_every_row_without_building_them_in_python(tmp_path, monkeypatch):
    d, i = big_files(tmp_path, 120_000)  # more rows than one chunk of the writer
    built = {"rows": 0}

    class CountedPairRow(PairRow):
        def __post_init__(self) -> None:
            built["rows"] += 1

    monkeypatch.setattr(check_module, "PairRow", CountedPairRow)  # where the lists are built
    res = CliRunner().invoke(cli, ["reconcile", "--dashboard", str(d), "--internal", str(i), "--partner", "jane",
                                   "--json"])
    assert res.exit_code == 1, res.output[-500:]
    data = json.loads(res.output)
    pairs = data["matched"] + data["other_partner"] + data["pending"]
    assert len(pairs) == data["counts"]["matched"] + data["counts"]["other_partner"] + data["counts"]["pending"]
    assert len(pairs) > 100_000 and data["complete"] is True
    assert built["rows"] <= 3 * PREVIEW_ROWS  # previews only, never one object per row
    assert len(data["missing_from_dashboard"]) == data["counts"]["missing_from_dashboard"] > 10_000


def test_streamed_json_is_the_full_result(tmp_path):
    for args in ([DASH, INTL, "--partner", "jane"], [*big_files(tmp_path, 2_000), "--customer", "user7@example.com"]):
        res = CliRunner().invoke(cli, ["reconcile", "--dashboard", str(args[0]), "--internal", str(args[1]),
                                       *map(str, args[2:]), "--json"])
        streamed = json.loads(res.output)
        kwargs = dict(zip(("partner",) if args[2] == "--partner" else ("customer",), args[3:]))
        assert streamed == reconcile_files(args[0], args[1], **kwargs).to_dict()


def test_with_json_the_bar_is_drawn_only_beside_a_file(tmp_path, monkeypatch):
    """--json on a terminal, or into a pipe whose reader may print it there, gets no bar."""
    import os
    import sys

    with open(tmp_path / "out.json", "w", encoding="utf-8") as file:
        monkeypatch.setattr(sys, "stdout", file)
        assert StageBar.stdout_is_a_file()
    read, write = os.pipe()
    with os.fdopen(read), os.fdopen(write, "w") as w:
        monkeypatch.setattr(sys, "stdout", w)
        assert not StageBar.stdout_is_a_file()
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert not StageBar.stdout_is_a_file()
