"""Errors that the CLI turns into one-line messages and exit codes."""


class DiagnoseError(Exception):
    """Base class: ``str(exc)`` is the one-line message shown to the user."""

    exit_code = 3


class BadInput(DiagnoseError):
    """The user's input (argument, option, file) is wrong: exit 2."""

    exit_code = 2


class CannotComplete(DiagnoseError):
    """The work could not be completed (no browser, ...): exit 3."""

    exit_code = 3
