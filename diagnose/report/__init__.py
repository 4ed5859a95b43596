"""Renderers: turn a finished report model into text. They read the model and decide nothing.

Each format is one module with a ``render(model, **options) -> str``; the CLI picks one by name
from :data:`FORMATS` (no format if/elif chains anywhere). A model is a ``CheckResult`` (the single
check commands) or a ``TicketReport`` (``diagnose ticket`` / ``explain``); renderers dispatch on
the model's type with ``functools.singledispatch``.
"""

from __future__ import annotations

import importlib
from typing import Any

FORMATS = {
    "terminal": "diagnose.report.terminal",
    "json": "diagnose.report.jsonfmt",
    "html": "diagnose.report.html",
}


def render(fmt: str, model: Any, **options: Any) -> str:
    try:
        module = importlib.import_module(FORMATS[fmt])
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})") from None
    return module.render(model, **options)
