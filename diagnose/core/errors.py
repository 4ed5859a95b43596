"""Errors that the CLI turns into one-line messages, and the exit codes (the same for every command,
defined here once)."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from diagnose.core.evidence import Status, worst



class DiagnoseError(Exception):
    """Base class: ``str(exc)`` is the one-line message shown to the user."""

    exit_code = 3


class BadInput(DiagnoseError):
    """The user's input (argument, option, file) is wrong: exit 2."""

    exit_code = 2


class CannotComplete(DiagnoseError):
    """The work could not be completed (no browser, ...): exit 3."""

    exit_code = 3


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
