"""Output paths are checked before any work starts (exit 2, naming the option), and report files are
written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.cli import cli
from diagnose.core.errors import BadInput
from diagnose.core.files import write_atomic
from diagnose.demo.run import DATA

GOLDEN = Path(__file__).parent / "data" / "golden" / "evidence.json"
EXPORTS = ["--customer-email", "ava.healthy@example.com", "--dashboard", str(DATA / "dashboard.csv"),
           "--internal", str(DATA / "internal.csv")]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def no_checks(monkeypatch):
    """Fail the test if a check would run."""
    import diagnose.pipeline.run as pipeline_run

    def boom(*a, **k):
        raise AssertionError("the checks ran before the outputs were checked")

    monkeypatch.setattr(pipeline_run, "run_ticket", boom)


@pytest.mark.parametrize("option, value", [
    ("--html", "/proc/no-such-dir/x.html"),
    ("--save-evidence", "/proc/no-such-dir/e.json"),
    ("--save-evidence", "{tmp}"),
    ("--screenshot-dir", "/proc/version"),
    ("--html", "{tmp}/" + "x" * 300 + ".html"),
    ("--save-evidence", "{tmp}/" + "e" * 300 + ".json"),
])
def test_a_bad_output_path_is_exit_2_before_any_check(tmp_path, no_checks, option, value):
    args = ["ticket", *EXPORTS, option, value.format(tmp=tmp_path)]
    if option == "--screenshot-dir":
        args += ["--link", "https://example.com/"]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert option in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_html_into_an_existing_directory_or_a_trailing_slash(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    for target in (folder, f"{tmp_path}/new/"):
        result = run("explain", GOLDEN, "--html", target)
        assert result.exit_code == 1, result.output
    assert len(list(folder.glob("*-kim-safari-example-com.html"))) == 1
    assert len(list((tmp_path / "new").glob("*.html"))) == 1


def test_explain_checks_the_html_path_too(tmp_path):
    result = run("explain", GOLDEN, "--html", "/proc/nope/r.html")
    assert result.exit_code == 2 and "--html" in result.output


def test_write_atomic_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "r.html"

    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "\ud800")  # a lone surrogate cannot be encoded
    assert not target.exists() and list(tmp_path.iterdir()) == []
    write_atomic(target, "ok")
    assert target.read_text(encoding="utf-8") == "ok" and len(list(tmp_path.iterdir())) == 1


def test_writable_file_refuses_a_directory(tmp_path):
    from diagnose.core.files import writable_file

    with pytest.raises(BadInput, match="--x: .* is a directory"):
        writable_file(tmp_path, "--x")


def test_an_output_never_overwrites_an_input_or_another_output(tmp_path, no_checks):
    ticket = tmp_path / "t.yaml"
    ticket.write_text(f"customer_email: ava.healthy@example.com\ndashboard: {DATA / 'dashboard.csv'}\n"
                      f"internal: {DATA / 'internal.csv'}\n", encoding="utf-8")
    before = ticket.read_text(encoding="utf-8")
    for args in (["--html", ticket], ["--save-evidence", DATA / "internal.csv"],
                 ["--html", tmp_path / "o.json", "--save-evidence", tmp_path / "o.json"]):
        result = run("ticket", ticket, *args)
        assert result.exit_code == 2, result.output
        assert "choose another file" in result.output
    assert ticket.read_text(encoding="utf-8") == before


def test_a_written_report_gets_an_ordinary_file_mode(tmp_path):
    import os
    import stat

    target = tmp_path / "r.html"
    write_atomic(target, "new")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    target.chmod(0o640)
    write_atomic(target, "again")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
