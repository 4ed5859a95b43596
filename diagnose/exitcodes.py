"""Exit codes, the same for every command (defined here once)."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from diagnose.evidence import Status, worst


class ExitCode(enum.IntEnum):
    OK = 0  # checked, no problem found
    PROBLEM = 1  # checked, a problem found
    BAD_INPUT = 2  # bad input or usage: a one-line message on stderr
    INCOMPLETE = 3  # could not complete (network failure, timeout, no browser)
    INTERRUPTED = 130  # Ctrl-C


_BY_STATUS = {
    Status.PASS: ExitCode.OK,
    Status.WARN: ExitCode.PROBLEM,
    Status.FAIL: ExitCode.PROBLEM,
    Status.ERROR: ExitCode.INCOMPLETE,
}


def for_statuses(statuses: Iterable[Status]) -> ExitCode:
    """The exit code for the worst of ``statuses``."""
    return _BY_STATUS[worst(statuses)]
