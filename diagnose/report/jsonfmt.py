"""JSON: one object on stdout, with stable keys (see the README)."""

from __future__ import annotations

import json
from functools import singledispatch
from typing import Any

from diagnose.core.evidence import CheckResult
from diagnose.core.reading import clean_text


@singledispatch
def to_json_object(model: Any) -> Any:
    return model.to_dict()


@to_json_object.register
def _(model: CheckResult) -> Any:
    return model.to_dict()


def render(model: Any, **_: Any) -> str:
    # lone surrogates (a hostile page title, a "\\ud800" in a file) become U+FFFD: printing never fails
    return clean_text(json.dumps(to_json_object(model), indent=2, ensure_ascii=False))
