"""Reading the files a user gives (tickets, saved evidence, screenshots): one way, everywhere.

Every such file is read by :func:`read_bytes`: a regular file only (not a device such as /dev/zero,
a FIFO or a directory, which could hang the tool or never end), opened without blocking and read up
to a size cap. The text formats are parsed by :func:`parse_json` and :func:`parse_yaml`, which refuse
what would exhaust the stack or memory later: nesting deeper than :data:`MAX_DEPTH`, YAML aliases
beyond :data:`MAX_ALIASES` ("billion laughs"), integers too long to convert. Anything wrong is a
one-line BadInput (exit 2).

Messages quote values through :func:`shorten` (core/evidence.py), a bounded excerpt of any value;
text leaving the tool goes through :func:`clean_text`, which replaces lone surrogates (a ``"\\ud800"``
escape in a JSON file, a page title) with U+FFFD so that encoding it as UTF-8 cannot fail.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import shorten

MB = 1024 * 1024
TICKET_LIMIT = 1 * MB
EVIDENCE_LIMIT = 64 * MB
SCREENSHOT_LIMIT = 16 * MB
MAX_DEPTH = 64  # containers within containers: a ticket is flat, evidence a few levels deep
MAX_CONTAINERS = 1_000_000
MAX_ALIASES = 20  # a ticket has no use for YAML aliases; 20 bound any expansion to a few thousand nodes
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD: always encodable as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def _size(n: int) -> str:
    return f"{n / MB:g} MB" if n >= MB else f"{n} bytes"


def read_bytes(path: str | Path, what: str, limit: int) -> bytes:
    """The content of the regular file ``path``, at most ``limit`` bytes; BadInput naming ``what``
    (``ticket``, ``evidence file``) otherwise."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise BadInput(f"cannot read {what} {p}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"cannot read {what} {p}: not a regular file")
        if info.st_size > limit:
            raise BadInput(f"{what} {p} is too large ({_size(info.st_size)}; the limit is {_size(limit)})")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(MB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while being read
            raise BadInput(f"{what} {p} is too large (the limit is {_size(limit)})")
        return b"".join(chunks)
    except OSError as exc:
        raise BadInput(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_text(path: str | Path, what: str, limit: int) -> str:
    """:func:`read_bytes` decoded as UTF-8 (a byte-order mark allowed)."""
    try:
        return read_bytes(path, what, limit).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{what} {Path(path)} is not UTF-8 text") from None


def read_png(path: str | Path, limit: int = SCREENSHOT_LIMIT) -> bytes | None:
    """The bytes of a PNG image at ``path``, or None: not a regular file, too large, unreadable, or
    not a PNG (the 8-byte signature and the IHDR chunk first). A path named by an evidence file can
    so only ever bring an image into a report, never a key, a config file or a device."""
    try:
        data = read_bytes(path, "screenshot", limit)
    except BadInput:
        return None
    return data if data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR" else None


def check_depth(data: Any, what: str) -> Any:
    """``data`` unchanged, or BadInput when its containers nest deeper than :data:`MAX_DEPTH` (or are
    too many: a YAML graph that refers to itself). Iterative: any depth is safe to check."""
    stack, seen = [(data, 0)], 0
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        seen += 1
        if depth >= MAX_DEPTH:
            raise BadInput(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)")
        if seen > MAX_CONTAINERS:
            raise BadInput(f"{what} has too many lists and objects (more than {MAX_CONTAINERS})")
        stack.extend((child, depth + 1) for child in children)
    return data


def parse_json(text: str, what: str) -> Any:
    """JSON text parsed, or a one-line BadInput naming ``what``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise BadInput(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # an integer too long to convert
        raise BadInput(f"{what} is not valid JSON: {shorten(str(exc), 80)}") from None
    return check_depth(data, what)


def parse_yaml(text: str, what: str) -> Any:
    """YAML text parsed safely (dates stay text, for the caller to check by key), or a one-line
    BadInput naming ``what``: more than :data:`MAX_ALIASES` aliases are refused while composing,
    before anything is expanded."""
    import yaml

    class Loader(yaml.SafeLoader):
        aliases = 0
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    mark = self.peek_event().start_mark
                    raise BadInput(f"{what} uses more than {MAX_ALIASES} YAML aliases (at line {mark.line + 1})")
            # refused while composing: the scanner's work grows with the square of the nesting it holds
            # open, so "[[[[..." would take ~1 s before Python's recursion limit stopped it
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH + 1:
                    raise BadInput(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            # an explicit tag on a value it cannot build ("!!bool x", "!!timestamp 1:2") makes the
            # constructor raise anything (KeyError, AttributeError, ...): the file's fault, said as such
            try:
                return super().construct_object(node, deep)
            except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as exc:
                raise yaml.constructor.ConstructorError(None, None, f"cannot read {node.tag}: {type(exc).__name__}",
                                                        node.start_mark) from None

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    try:
        data = yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise BadInput(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: an integer too long to convert
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise BadInput(f"{what} is not valid YAML{where}") from None
    return check_depth(data, what)
