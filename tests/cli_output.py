"""What the tests expect of a command's output on bad input (shared by the test modules)."""

from __future__ import annotations


def one_line_error(result) -> str:
    """The one ``Error: ...`` line of a click result that exited 2 on bad input (no traceback)."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output[:500]
    return lines[0]
