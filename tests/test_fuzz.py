"""The fuzz suite's small profile (issue 10, item 8): each untrusted input gets a few hundred generated
examples in every test run, under the per-example time and memory limits of tests/fuzzing.py. An
example must end in a result or in the one-line input error; a failing one is shrunk by hypothesis and
saved in its database, so it comes back first in the next run. The long profile (>= 100,000 inputs)
is ``python benchmarks/fuzz.py``.

Then checks of the harness itself and of what the fuzz found in files owned elsewhere (fixed there);
what it found and was fixed in the files it covers is in tests/test_fuzz_findings.py.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fuzz_targets import TARGETS, csv_rows, jsonl_rows
from fuzzing import KNOWN, TIME_LIMIT, Target, attempt, shorten
from hypothesis import HealthCheck, given, settings

from diagnose.core.errors import BadInput

# examples per target in a normal run: about 5 s in all on 2 cores (the exports and evidence targets
# cost ~10-30 ms an example, the others ~1 ms)
SMALL = {"gspk": 200, "page-html": 80, "redirects": 200, "ticket": 120, "evidence": 50, "exports": 30}


@pytest.fixture(scope="module", autouse=True)
def _warm():
    """Imports and first calls (polars, jinja, bs4) before any limit applies."""
    for target in TARGETS.values():
        target.warm()


def _fuzz(name: str):
    target = TARGETS[name]

    @pytest.mark.filterwarnings("ignore::bs4.MarkupResemblesLocatorWarning")  # a page that is one URL
    @settings(max_examples=SMALL[name], deadline=timedelta(seconds=TIME_LIMIT),
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(example=target.strategy)
    def test(example):
        outcome = attempt(target, example)
        assert not outcome.bad, f"{name}: {outcome.kind}: {outcome.detail}\n  input: {shorten(example, 600)}"

    test.__name__ = f"test_fuzz_{name.replace('-', '_')}"
    test.__doc__ = f"{name}: any generated input ends in a result or a one-line input error, within the limits."
    return test


test_fuzz_gspk = _fuzz("gspk")
test_fuzz_page_html = _fuzz("page-html")
test_fuzz_redirects = _fuzz("redirects")
test_fuzz_ticket = _fuzz("ticket")
test_fuzz_evidence = _fuzz("evidence")
test_fuzz_exports = _fuzz("exports")


# -- the harness itself: its limits and oracles catch what they are for ----------------------------


def _target(run):
    return Target("probe", None, run, weight=1)


def test_a_hang_is_stopped_and_reported():
    def spin(_):
        while True:
            pass

    outcome = attempt(_target(spin), None, seconds=0.15)
    assert outcome.kind == "hang" and outcome.seconds < 2


def test_a_hang_inside_except_exception_is_still_stopped():
    def swallow(_):
        while True:
            try:
                while True:
                    pass
            except Exception:  # noqa: BLE001, S110 - what code under test may do
                pass

    assert attempt(_target(swallow), None, seconds=0.15).kind == "hang"


def test_a_memory_blow_up_is_stopped_and_reported():
    outcome = attempt(_target(lambda _: bytearray(300 << 20)), None, memory=64 << 20)
    assert outcome.kind == "memory"
    assert attempt(_target(lambda _: bytearray(8 << 20)), None, memory=64 << 20).kind == "ok"


def test_outcomes_are_classified():
    def raise_(exc):
        def run(_):
            raise exc
        return _target(run)

    assert attempt(raise_(BadInput("one line")), None).kind == "input-error"
    assert attempt(raise_(BadInput("x" * 10_000)), None).kind == "failure"  # an unbounded message
    outcome = attempt(raise_(KeyError("k")), None)
    assert outcome.kind == "failure" and outcome.detail.startswith("KeyError at ")


def test_the_row_oracles_count_as_the_csv_and_json_modules():
    text = '\n  \nemail,name\r\na@x.com,"Ann\nLee"\n""\n\nb@x.com,Bob\rc@x.com,"open\n'
    assert csv_rows(text, ",") == 4  # a quoted empty field is a row; blank lines are not
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == 8
    assert jsonl_rows('{"a": 1}\n\n{"a": "x\u2028y"}\r\n[1]\n{bad\n' + "[" * 5000 + "]" * 5000) == (5, 3)


# -- found by the fuzz in files owned elsewhere, fixed there: through the fuzz targets -------------------

FIXED_ELSEWHERE = [
    ("page-html", ("page", "<p>x</p>", "utf-8", "idna", None, None)),  # web/fetch.py: a charset that is no text codec
    ("page-html", ("page", "<p>x</p>", "utf-8", "undefined", None, None)),
    ("redirects", ("page", '<meta charset="undefined"><p>x</p>', None)),
    ("redirects", ("js", "top.location.href={}", "`", "0%#b:a~a", True, False)),  # ASCII read as Shift_JIS: '~'
    ("page-html", ("kept", "<p>&#" + "9" * 5000 + ";</p>")),  # a 5,000-digit character reference
]


@pytest.mark.parametrize("example", [("page", "x\ud800", "utf-7", "utf-7", None, None),
                                     ("page", "x\\ud800", "utf-8", "unicode_escape", None, None)])
def test_a_page_decoding_to_lone_surrogates_is_read(example):
    outcome = attempt(TARGETS["page-html"], example)
    assert outcome.kind == "ok", f"{outcome.kind}: {outcome.detail}"


@pytest.mark.parametrize("target, example", FIXED_ELSEWHERE, ids=lambda v: v if isinstance(v, str) else None)
def test_what_the_fuzz_found_elsewhere_stays_fixed(target, example):
    outcome = attempt(TARGETS[target], example)
    assert outcome.kind == "ok", f"{outcome.kind}: {outcome.detail}"


def test_a_known_failure_is_counted_apart(monkeypatch):
    """A failure matching a KNOWN entry (a bug reported to the owner of its file) is "known": it
    fails the long profile, not the small one."""
    import re

    monkeypatch.setitem(KNOWN, "probe", ("a reported bug", re.compile(r"^KeyError at ")))

    def run(_):
        raise KeyError("k")

    outcome = attempt(_target(run), None)
    assert outcome.kind == "known" and outcome.detail.startswith("[probe] KeyError") and not outcome.bad


def test_the_long_profile_runs(tmp_path):
    """benchmarks/fuzz.py, in miniature: worker processes, the per-target table, the exit code."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz.py"
    proc = subprocess.run([sys.executable, str(script), "--examples", "12", "--targets", "gspk,redirects", "--workers",
                           "1", "--chunk", "3"], capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    total = next(line.split() for line in proc.stdout.splitlines() if line.startswith("total "))
    assert total[1] == "12" and total[3:8] == ["0"] * 5  # inputs; failures, known, hangs, memory, wrong rows
