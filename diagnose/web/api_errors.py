"""The PartnerStack API's errors: one line each, that a support engineer understands, never quoting
the secret key. ``error_for`` turns an error answer (status, body) into the right exception."""

from __future__ import annotations

import json
import re
from typing import Any

from diagnose.core.errors import CannotComplete
from diagnose.core.partnerstack import API_PUBLIC_KEY_ENV, API_SECRET_KEY_ENV

_MESSAGE_MAX = 160


class ApiError(CannotComplete):
    """The PartnerStack API could not answer (exit 3). ``status`` is the HTTP status, or None."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(" ".join(message.split()))  # one line, always
        self.status = status


class ApiRefused(ApiError):
    """401 / 403: the keys were refused."""


class ApiNotFound(ApiError):
    """404: not found in this program."""


class ApiInvalid(ApiError):
    """422 / 400: the API refused a value; ``field`` is the field it named (None if it named none)."""

    def __init__(self, message: str, status: int | None = None, field: str | None = None):
        super().__init__(message, status)
        self.field = field


class ApiConflict(ApiInvalid):
    """409: it already exists (a customer_key used twice)."""


def short(text: Any, limit: int = _MESSAGE_MAX) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def what(method: str, path: str) -> str:
    """What a request was about, for messages: "partnership 'jane'" for GET partnerships/jane."""
    from urllib.parse import unquote

    parts = [unquote(p) for p in path.split("?")[0].strip("/").split("/") if p]
    if len(parts) >= 2:
        noun = parts[-2].removesuffix("s")
        return f"{noun} {parts[-1]!r}"
    return f"{method} /{'/'.join(parts)}"


def api_message(body: Any) -> str:
    """The message of an error answer (its ``message``, ``error`` or ``detail``), or ''."""
    if isinstance(body, dict):
        for name in ("message", "error", "detail", "error_description"):
            value = body.get(name)
            if isinstance(value, str) and value.strip():
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"]
    return ""


def named_field(body: Any, candidates: tuple[str, ...] = ()) -> str | None:
    """The field an error answer names: a ``field`` / ``param`` entry, the first key of an
    ``errors`` mapping, the ``field`` of the first ``errors`` item, else the first of ``candidates``
    (the request's own fields) that the message mentions as a word."""
    if isinstance(body, dict):
        for name in ("field", "param", "parameter", "attribute"):
            if isinstance(body.get(name), str) and body[name]:
                return body[name]
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            return str(next(iter(errors)))
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            for name in ("field", "param", "loc", "path"):
                value = errors[0].get(name)
                if isinstance(value, list) and value:
                    value = ".".join(str(v) for v in value if v != "body")
                if isinstance(value, str) and value:
                    return value
    text = api_message(body) or (json.dumps(body) if isinstance(body, (dict, list)) else str(body or ""))
    for name in sorted(candidates, key=len, reverse=True):
        if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text):
            return name
    return None


def _errors_text(body: Any) -> str:
    """The details of an ``errors`` entry, when the message alone says little."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict) and errors:
        name, value = next(iter(errors.items()))
        value = value[0] if isinstance(value, list) and value else value
        return f"{name}: {value}"
    if isinstance(errors, list) and errors:
        first = errors[0]
        return str(first.get("message") or first.get("msg") or first) if isinstance(first, dict) else str(first)
    return ""


def error_for(status: int, method: str, path: str, body: Any, public_hint: str, test_keys: bool,
              fields: tuple[str, ...] = ()) -> ApiError:
    """The exception for an error answer. ``body`` is the parsed JSON (or None); ``fields`` the
    request's own field names, to find the one a 422 is about when the answer does not say."""
    said = short(api_message(body))
    where = f"HTTP {status} on {method} /{path.lstrip('/')}"
    if status in (401, 403):
        keys = f"{'test ' if test_keys else ''}keys with public key {public_hint}"
        return ApiRefused(
            f"PartnerStack refused the API keys ({where}{': ' + said if said else ''}): check {keys} "
            f"({API_PUBLIC_KEY_ENV} / {API_SECRET_KEY_ENV} or the config file); the vendor API takes the "
            "public key and secret key as Basic auth (public:secret), not the Partner API's Bearer token",
            status)
    if status == 404:
        return ApiNotFound(f"{what(method, path)} not found in this program ({where}"
                           f"{': ' + said if said else ''})", status)
    if status in (400, 409, 422):
        field_name = named_field(body, fields)
        detail = said or short(_errors_text(body)) or "no reason given"
        extra = _errors_text(body)
        if extra and short(extra) not in detail:
            detail = f"{detail} ({short(extra, 80)})"
        about = f", field {field_name!r}" if field_name else ""
        cls = ApiConflict if status == 409 else ApiInvalid
        why = "HTTP 409: it already exists" if status == 409 else f"HTTP {status}"
        return cls(f"PartnerStack rejected {method} /{path.lstrip('/')}{about}: {detail} ({why})",
                   status, field_name)
    if status == 429:
        return ApiError(f"PartnerStack is rate-limiting ({where}{': ' + said if said else ''})", status)
    if status >= 500:
        return ApiError(f"PartnerStack failed ({where}{': ' + said if said else ''})", status)
    return ApiError(f"PartnerStack answered {where}{': ' + said if said else ''}", status)
