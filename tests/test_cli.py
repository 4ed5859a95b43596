"""The command line: exit codes, one-line errors, help for every command, fast start-up."""

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from diagnose.cli import cli
from diagnose.demo.site import Page, redirect

GSPK = "NWMzOGRkZGJmN2Zj"


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env)


def all_commands(group=cli, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


@pytest.mark.parametrize("path", [p for p, _ in all_commands()], ids=" ".join)
def test_every_command_has_help(path):
    command = dict(all_commands())[path]
    assert command.help and len(command.help.strip()) > 20
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from diagnose.cli import cli; "
        "heavy = [m for m in ('requests', 'bs4', 'tabulate', 'jinja2', 'playwright', 'polars', 'yaml') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_gspk_exit_codes_and_json():
    ok = run("gspk", GSPK, "--json")
    assert ok.exit_code == 0
    data = json.loads(ok.output)
    assert data["check"] == "gspk" and data["status"] == "pass" and data["partner_key"] == "5c38dddbf7fc"
    assert {"input", "partner_key", "problems"} <= set(data)
    bad = run("gspk", "not base64!")
    assert bad.exit_code == 1 and "invalid-gspk" in bad.output
    mismatch = run("gspk", GSPK, "--partner", "someone-else", "--json")
    assert mismatch.exit_code == 1 and json.loads(mismatch.output)["problems"][0]["code"] == "partner-mismatch"


@pytest.mark.parametrize(
    "args, needle",
    [
        (["link"], "Missing argument"),
        (["link", "javascript:alert(1)"], "not http or https"),
        (["link", "http://"], "no host"),
        (["link", "42"], "not a web address"),
        (["link", "http://exa mple.com/"], "white space"),
        (["link", "https://x.example/", "--timeout", "-1"], "--timeout"),
        (["gspk", "  "], "empty"),
        (["snippet"], "exactly one"),
        (["snippet", "--file", "/nonexistent/page.html"], "cannot read"),
        (["snippet", "--file", "x.html", "--expect-key", "pk_short"], "not a public key"),
        (["nosuchcommand"], "No such command"),
        (["cookie", "https://x.example/", "--har", "/proc/nope/x.har"], "--har: cannot write"),
        (["cookie", "https://x.example/", "--screenshot-dir", "/proc/nope"], "--screenshot-dir: cannot write"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle):
    result = run(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error:") and needle in lines[0]
    assert "Traceback" not in result.output


def test_link_command_exit_codes(site):
    site.add("/jane", redirect(f"/landing?gspk={GSPK}&gsxid=abc"))
    site.add("/landing", Page("<html><body>" + "text " * 100 + "</body></html>"))
    site.add("/slow", Page("x", delay=1.0))
    good = run("link", site.url("/jane"), "--allow-private-network", "--json")
    assert good.exit_code == 0, good.output
    data = json.loads(good.output)
    assert {"check", "status", "problems", "input_url", "final_url", "hops", "params", "partner_key", "click_id"} <= set(data)
    assert set(data["hops"][0]) >= {"url", "status_code", "kind", "elapsed_ms"}
    refused = run("link", site.url("/jane"))  # private network without the flag
    assert refused.exit_code == 1 and "private-network" in refused.output
    via_env = run("link", site.url("/jane"), env={"DIAGNOSE_ALLOW_PRIVATE_NETWORK": "1"})
    assert via_env.exit_code == 0
    timeout = run("link", site.url("/slow"), "--allow-private-network", "--timeout", "0.2", "--json")
    assert timeout.exit_code == 3
    assert json.loads(timeout.output)["status"] == "error"


def test_snippet_command_terminal_output(site):
    site.add("/p", Page("<html><head><script>growsumo._initialize('${KEY}')</script></head></html>"))
    result = run("snippet", site.url("/p"), "--allow-private-network")
    assert result.exit_code == 1
    assert "public-key-placeholder" in result.output and "snippet check: FAIL" in result.output


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "diagnose", "gspk", GSPK], capture_output=True, text=True)
    assert out.returncode == 0 and "5c38dddbf7fc" in out.stdout


def frames(drawn: str) -> list[str]:
    """The frames a terminal shows, one per redraw in place (colours and cursor moves removed)."""
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    return [f.strip() for f in text.split("\r") if f.strip()]


def test_stage_bar_draws_in_place(capsys):
    import io

    from rich.console import Console

    from diagnose.cli import StageBar

    screen = io.StringIO()
    bar = StageBar(4, console=Console(file=screen, force_terminal=True, width=100))
    for stage in ("reading dashboard", "reading internal", "matching [by key]", "buckets", "one too many"):
        bar.advance(stage)
    drawn = frames(screen.getvalue())
    assert drawn[0].endswith("1/4 0:00:00 reading dashboard")
    assert drawn[-1].endswith("4/4 0:00:00 one too many")  # ends at N/N, never past it
    assert "5/4" not in screen.getvalue() and bar.done == bar.stages == 4
    assert any(f.endswith("3/4 0:00:00 matching [by key]") for f in drawn)  # text, not markup
    assert "\n" not in screen.getvalue()  # redrawn in place on one line
    bar.finish()
    assert screen.getvalue().endswith("\x1b[2K")  # transient: the line is erased at the end
    assert capsys.readouterr().err == ""  # its own console only

    for console in (Console(file=io.StringIO(), force_terminal=False), Console(file=io.StringIO(), force_terminal=True)):
        with StageBar(4, console=console, draw=not console.is_terminal) as quiet:  # off a terminal; or told not to
            for stage in ("a", "b", "c", "d", "e"):
                quiet.advance(stage)
        assert console.file.getvalue() == "" and quiet.done == 4
