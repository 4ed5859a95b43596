"""The HTTP side of the PartnerStack API client: the base URL's rules, Retry-After, path segments,
page limits and cursors, and short reasons for failed connections. Used by web/partnerstack_api.py."""

from __future__ import annotations

import email.utils
import ipaddress
import math
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit, urlunsplit

from diagnose.core.errors import BadInput
from diagnose.core.partnerstack import API_PAGE_LIMIT
from diagnose.web.api_errors import ApiError, short

MAX_CONCURRENCY = 32  # threads of one client at most (its connection pool holds as many)


def check_base_url(url: str, allow_http: bool = False) -> str:
    """The API base URL, normalised to end with '/'. BadInput unless it is http(s) with a host and no
    user, query or fragment; plain http only for this machine unless ``allow_http``."""
    text = str(url or "").strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise BadInput(f"the API base URL {short(text, 80)!r} is not an http(s) URL with a host")
    if parts.username or parts.password:
        raise BadInput("the API base URL must not carry a user name or password (give the keys in "
                       "PARTNERSTACK_PUBLIC_KEY / PARTNERSTACK_SECRET_KEY or the config file)")
    if parts.query or parts.fragment:
        raise BadInput(f"the API base URL {short(text, 80)!r} must not have a query or fragment")
    if parts.scheme == "http" and not allow_http and not is_this_machine(host):
        raise BadInput(f"the API base URL {short(text, 80)!r} is plain http: the API keys would cross the "
                       "network unencrypted; use https (http is allowed only for localhost / 127.0.0.1)")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_this_machine(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header in seconds (it may be a number of seconds or an HTTP date), or None."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def segment(value: str, what: str) -> str:
    """One path segment from a key: percent-encoded, never empty, never '.' or '..'."""
    text = str(value if value is not None else "").strip()
    if not text or text in (".", ".."):
        raise BadInput(f"{what} {text!r} is not a key")
    return quote(text, safe="")


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= API_PAGE_LIMIT:
        raise BadInput(f"a page holds 1 to {API_PAGE_LIMIT} items, not {limit!r}")
    return limit


def next_cursor(items: list[dict], previous: str | None, path: str) -> str:
    """The cursor after a page: its last item's key. ApiError when there is none or it did not move."""
    key = items[-1].get("key")
    if not isinstance(key, str) or not key:
        raise ApiError(f"PartnerStack's list at /{path.lstrip('/')} has an item without a 'key': cannot page on")
    if key == previous:
        raise ApiError(f"PartnerStack's list at /{path.lstrip('/')} did not move past {key!r}: paging stopped")
    return key


def reason(exc: Exception, timeout: float) -> tuple[str, bool]:
    """A short reason for a failed request, and whether the request surely never reached the server."""
    import requests

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connecting timed out after {timeout:g} s", True
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no answer within {timeout:g} s", False
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed (certificate or proxy problem)", True
    text = str(exc)
    if isinstance(exc, requests.exceptions.ConnectionError):
        if "NameResolution" in text or "getaddrinfo" in text or "Name or service not known" in text:
            return "the host name does not resolve", True
        if "refused" in text.lower():
            return "the connection was refused", True
        if "NewConnectionError" in text:
            return "the connection could not be made", True
        return "the connection broke", False
    return short(type(exc).__name__, 60), False
