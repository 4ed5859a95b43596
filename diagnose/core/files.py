"""Files the tool writes: output paths checked before any work starts (a bad one is BadInput naming
its option, exit 2), and files written atomically (a temporary file renamed into place, or nothing)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from diagnose.core.errors import BadInput
from diagnose.core.evidence import shorten


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
    if str(path).endswith(("/", os.sep)):
        raise BadInput(f"{option}: {path} is a directory, not a file")
    if len(os.fsencode(target.name)) > _name_max(target.parent):
        raise BadInput(f"{option}: the file name is too long ({shorten(target.name)})")
    try:
        if target.is_dir():
            raise BadInput(f"{option}: {path} is a directory, not a file")
        if target.exists() and not target.is_file():
            raise BadInput(f"{option}: {path} is not a regular file")
    except OSError as exc:  # a folder name too long, a loop of links, ...
        raise BadInput(f"{option}: cannot write {shorten(str(path), 120)}: {exc.strerror or exc}") from None
    writable_dir(target.parent, option)
    return target


def _name_max(folder: Path) -> int:
    """The longest file name ``folder``'s file system takes (255 bytes when it cannot tell)."""
    try:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all. Encoded first: text that cannot be (a lone
    surrogate: the renderers and save_evidence replace them, core/reading.clean_text) raises before
    any file is made."""
    path = Path(path)
    data = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, _mode_for(path))  # mkstemp makes 0600: give the file the mode a plain write would
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _mode_for(path: Path) -> int:
    """The mode of the file being replaced, else what the umask allows a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def distinct_outputs(outputs: dict[str, Path | None], inputs: list[str | Path | None]) -> None:
    """BadInput when an output would overwrite an input file or another output (``--html t.yaml``)."""
    seen: dict[Path, str] = {}
    for given in inputs:
        if given:
            seen.setdefault(Path(given).resolve(), "an input file")
    for option, path in outputs.items():
        if path is None:
            continue
        where = Path(path).resolve()
        if where in seen:
            raise BadInput(f"{option}: {path} is {seen[where]}; choose another file")
        seen[where] = f"the file of {option}"

