"""The console script ends with os._exit (diagnose.cli._exit) instead of tearing the interpreter
down: it must lose no output, no file and no exit code on the way - through a pipe, onto a full disk,
with threads still running and thread pools left open."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from diagnose.cli import cli

GOLDEN = Path(__file__).parent / "data" / "golden" / "evidence.json"
FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full here")


def script(body: str, stdout=subprocess.PIPE, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``body`` (which may end with _exit(...)) in a fresh interpreter."""
    code = "import sys\nfrom diagnose.cli import _exit\n" + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], stdout=stdout, stderr=subprocess.PIPE, timeout=timeout,
                          check=False)


def diagnose(*args: str, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "diagnose", *args], stdout=stdout, stderr=subprocess.PIPE,
                          timeout=120, check=False)


@pytest.mark.parametrize("code, status", [("None", 0), ("0", 0), ("1", 1), ("2", 2), ("3", 3), ("130", 130),
                                          ("'a message'", 1)])
def test_the_exit_code_is_the_one_asked(code, status):
    proc = script(f"print('out'); _exit({code})")
    assert proc.returncode == status
    assert proc.stdout == b"out\n"
    if code.startswith("'"):
        assert proc.stderr.decode().strip() == "a message"


def test_a_command_through_a_pipe_writes_all_it_says():
    proc = diagnose("explain", str(GOLDEN), "--json")
    in_process = CliRunner().invoke(cli, ["explain", str(GOLDEN), "--json"])
    assert proc.returncode == in_process.exit_code == 1, proc.stderr
    assert json.loads(proc.stdout) == json.loads(in_process.stdout)


def test_buffered_output_larger_than_a_pipe_reaches_a_slow_reader():
    body = """
    sys.stdout.write("x" * 1_000_000 + "\\nend\\n")  # buffered: the pipe holds 64 KiB, the rest waits
    _exit(1)
    """
    code = "import sys\nfrom diagnose.cli import _exit\n" + textwrap.dedent(body)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    import time

    time.sleep(1.0)  # the process is stuck on the full pipe by now
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert out == b"x" * 1_000_000 + b"\nend\n"


@needs_dev_full
def test_output_onto_a_full_disk_is_exit_3_with_one_line():
    with FULL.open("wb") as full:
        proc = diagnose("explain", str(GOLDEN), stdout=full)
    assert proc.returncode == 3
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and "space" in lines[0]


@pytest.mark.parametrize("asked, status", [(0, 3), (1, 3), (2, 2), (130, 130)])
def test_output_still_buffered_at_exit_that_cannot_be_written(asked, status):
    """Output not yet flushed when the command ends, and the disk is full by then: a success (0) or a
    finding (1) becomes exit 3 with one line on stderr; an error already reported keeps its code."""
    proc = script(f"""
    import errno, io
    class FullDisk(io.StringIO):
        def flush(self):
            if self.getvalue():
                raise OSError(errno.ENOSPC, "No space left on device")
    sys.stdout = FullDisk()
    sys.stdout.write("the report\\n")
    _exit({asked})
    """)
    assert proc.returncode == status
    err = proc.stderr.decode()
    if status == 3:
        assert err.strip() == "Error: the output could not be written (No space left on device)"
    else:
        assert err == ""


def test_a_reader_that_went_away_is_exit_1_without_noise():
    """``diagnose ... | head``: click's convention for a closed pipe (quiet, exit 1), never a traceback
    or an error from the final flush."""
    proc = subprocess.Popen([sys.executable, "-m", "diagnose", "gspk", "NWMzOGRkZGJmN2Zj", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the command writes anything (start-up alone takes longer)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1  # gspk exits 0 when its output is read
    assert err == ""


def test_threads_are_joined_pools_stopped_and_atexit_handlers_run(tmp_path):
    late, hook = tmp_path / "late.txt", tmp_path / "atexit.txt"
    proc = script(f"""
    import atexit, threading, time
    from concurrent.futures import ThreadPoolExecutor
    POOL = ThreadPoolExecutor(2)  # never shut down: its idle workers must not hold the exit
    POOL.submit(lambda: None).result()
    def late():
        time.sleep(0.5)
        with open({str(late)!r}, "w") as f:
            f.write("written after the command returned")
    threading.Thread(target=late).start()
    atexit.register(lambda: open({str(hook)!r}, "w").write("ran"))
    _exit(1)
    """, timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert late.read_text() == "written after the command returned"
    assert hook.read_text() == "ran"


def test_a_report_file_is_whole_when_the_process_has_ended(tmp_path):
    html = tmp_path / "r.html"
    evidence = tmp_path / "e.json"
    proc = diagnose("explain", str(GOLDEN), "--html", str(html))
    assert proc.returncode == 1, proc.stderr
    assert html.read_text(encoding="utf-8").rstrip().endswith("</html>")
    proc = diagnose("ticket", "--link", "https://127.0.0.1:9/x", "--no-browser", "--save-evidence", str(evidence))
    assert proc.returncode in (1, 3), proc.stderr  # the link cannot be reached; the evidence says so
    assert json.loads(evidence.read_text(encoding="utf-8"))["evidence"]


def test_the_console_script_ends_through_exit(monkeypatch):
    """main() always leaves through _exit (so the tests above cover what users run)."""
    import diagnose.cli as cli_module

    codes = []

    class Exited(Exception):
        pass

    def fake_exit(code):
        codes.append(code)
        raise Exited

    monkeypatch.setattr(cli_module, "_exit", fake_exit)
    monkeypatch.setattr(sys, "argv", ["diagnose", "gspk", "NWMzOGRkZGJmN2Zj"])
    with pytest.raises(Exited):
        cli_module.main()
    assert codes == [0]
    monkeypatch.setattr(sys, "argv", ["diagnose", "no-such-command"])
    with pytest.raises(Exited):
        cli_module.main()
    assert codes[-1] == 2
    assert os.getpid()  # still here: the fake stood in for os._exit


@pytest.mark.parametrize("command, tuned", [("ticket", True), ("gspk", False), ("batch", False)])
def test_only_a_ticket_tunes_the_interpreter_for_one_run(command, tuned):
    """diagnose ticket (one ticket, then the process ends) raises the collector's thresholds and
    lowers the interpreter's switch interval (its browser launches on a thread beside the main
    thread's checks); the commands that run long in one process (batch, sweep) keep Python's."""
    proc = script(f"""
    import gc
    import diagnose.cli as cli_module
    default = gc.get_threshold(), sys.getswitchinterval()
    def report(code):
        print(gc.get_threshold() != default[0], sys.getswitchinterval() < default[1], flush=True)
        _exit(0)
    cli_module._exit = report
    sys.argv = ["diagnose", {command!r}, "--help"]
    cli_module.main()
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().strip().splitlines()[-1] == f"{tuned} {tuned}"
