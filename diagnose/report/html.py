"""HTML: one self-contained file (inline CSS, screenshots embedded, nothing fetched, no script).

Jinja2 with autoescape on: page titles, cookie values and customer names are hostile input. A
Content-Security-Policy that allows no script at all backs that up.
"""

from __future__ import annotations

import datetime as dt
import functools
from functools import singledispatch
from pathlib import PurePath
from typing import Any

from diagnose import __version__
from diagnose.core.reading import clean_text
from diagnose.report.model import TicketReport

@functools.cache
def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("diagnose.report", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["show"] = _show
    env.filters["basename"] = lambda v: PurePath(str(v)).name
    return env


def _show(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v) for v in value) or "–"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items()) or "–"
    return str(value)


@singledispatch
def render(model: Any, **_: Any) -> str:
    raise TypeError(f"no HTML view for {type(model).__name__}")


@render.register(TicketReport)
def _(report: TicketReport, **_: Any) -> str:
    # lone surrogates become U+FFFD: the file can always be written as UTF-8
    return clean_text(environment().get_template("report.html.j2").render(
        r=report,
        t=report.ticket,
        top=report.top,
        positive=report.positive,
        ev=report.evidence,
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
    ))


def render_index(rows: list[dict[str, Any]], title: str) -> str:
    return clean_text(environment().get_template("index.html.j2").render(rows=rows, title=title, version=__version__))
