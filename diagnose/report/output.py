"""Where reports go: the default file name, and the file an ``--html [PATH]`` writes (checked before
any work starts; see core/files.py)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from diagnose.core.files import writable_file
from diagnose.core.ticket import Ticket


def default_html_path(ticket: Ticket, folder: str | Path = "reports", redacted: bool = False) -> Path:
    """<folder>/<date>-<customer or link>.html; a redacted report gets a digest instead of the name."""
    slug = ticket.slug
    if redacted:
        import hashlib

        slug = "ticket-" + hashlib.sha256(slug.encode("utf-8")).hexdigest()[:10]
    return Path(folder) / f"{dt.date.today().isoformat()}-{slug}.html"


def html_target(html_path: str, ticket: Ticket, redacted: bool) -> Path:
    """The file an ``--html [PATH]`` writes: PATH, or the default name (inside PATH when PATH is a
    directory or ends with a slash)."""
    if not html_path:
        target = default_html_path(ticket, redacted=redacted)
    elif html_path.endswith(("/", os.sep)) or _is_dir(html_path):
        target = default_html_path(ticket, html_path, redacted=redacted)
    else:
        target = Path(html_path)
    return writable_file(target, "--html")


def _is_dir(path: str) -> bool:
    try:
        return Path(path).is_dir()
    except OSError:  # a name too long, say: writable_file names the problem
        return False
