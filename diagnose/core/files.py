"""Files the tool writes: output paths checked before any work starts (a bad one is BadInput naming
its option, exit 2), and files written atomically (a temporary file renamed into place, or nothing)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from diagnose.core.errors import BadInput


def writable_dir(folder: str | Path, option: str) -> Path:
    """Make ``folder`` if needed; BadInput naming ``option`` when nothing can be written there."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".diagnose-write-test-"):
            pass
    except OSError as exc:
        raise BadInput(f"{option}: cannot write in {folder}: {exc.strerror or exc}") from None
    return folder


def writable_file(path: str | Path, option: str) -> Path:
    """A file path that can be written: not a directory, in a folder that can be written."""
    target = Path(path)
    if str(path).endswith(("/", os.sep)) or target.is_dir():
        raise BadInput(f"{option}: {path} is a directory, not a file")
    if target.exists() and not target.is_file():
        raise BadInput(f"{option}: {path} is not a regular file")
    writable_dir(target.parent, option)
    return target


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
