"""Errors that the CLI turns into one-line messages, and the exit codes (the same for every command,
defined here once)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any




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




def for_statuses(statuses: Iterable[Any]) -> ExitCode:
    """The exit code for the worst of ``statuses`` (pass: OK; warn, fail: PROBLEM; error: INCOMPLETE)."""
    from diagnose.core.evidence import worst  # not at import time: --help stays light

    return {"pass": ExitCode.OK, "error": ExitCode.INCOMPLETE}.get(str(worst(statuses)), ExitCode.PROBLEM)
