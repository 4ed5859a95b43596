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


def test_stage_bar_draws_in_place(capsys):
    from diagnose.cli import StageBar

    bar = StageBar(4, width=8)
    for stage in ("reading dashboard", "reading internal", "matching", "buckets", "one too many"):
        bar.advance(stage)
    bar.finish()
    err = capsys.readouterr().err
    assert "\n" not in err  # redrawn with carriage returns, one line
    assert "[##......] 1/4 reading dashboard" in err
    assert "[########] 4/4 one too many" in err  # never past the end
