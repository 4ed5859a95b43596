"""`diagnose demo`: every bundled ticket gets its intended top diagnosis."""

from __future__ import annotations

import json

from click.testing import CliRunner

from diagnose.cli import cli
from diagnose.demo.run import load_scenarios


def test_demo_diagnoses_every_case(tmp_path, browser_session):  # noqa: F811
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), "--json"])
    data = json.loads(result.stdout)
    rows = {r["ticket"]: r for r in data["rows"]}
    expected = {s.name: s.expect for s in load_scenarios()}
    assert set(rows) == set(expected)
    wrong = {name: (rows[name]["id"], rows[name]["verdict"]) for name in expected if not rows[name]["ok"]}
    assert wrong == {}
    for name, case in expected.items():
        assert rows[name]["id"] == case
        assert rows[name]["verdict"] in ("confirmed", "likely")
        assert (out / f"{name}.html").exists()
    assert data["browser"] and result.exit_code == 0
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{name}.html"' in index for name in expected)
    # every failure case of the guide is reproduced
    assert {f"case-{n}" for n in range(1, 11)} <= set(expected.values())


def test_demo_rejects_an_unknown_ticket():
    result = CliRunner().invoke(cli, ["demo", "--only", "nope"])
    assert result.exit_code == 2 and "unknown demo ticket 'nope'" in result.output
