"""User-given web addresses: validated before anything is fetched (the ticket's link, a command's URL)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from diagnose.core.errors import BadInput
from diagnose.core.evidence import shorten


# What the URL standard forbids in a domain (with '"', which no DNS name holds either); controls below.
_NOT_IN_HOST = frozenset(' #/:<>?@[\\]^|"')


def normalise_url(raw: str) -> str:
    """Validate a user-given http(s) URL; add ``https://`` when the scheme is left out.

    Raises BadInput with a one-line reason for anything that is not a usable web address.
    """
    text = (raw or "").strip()
    if not text:
        raise BadInput("the URL is empty")
    if any(c in text for c in "\r\n\t\x00") or " " in text:
        raise BadInput(f"the URL contains white space or control characters: {shorten(text, 200)}")
    if "://" not in text and not text.lower().startswith(("javascript:", "data:", "mailto:", "file:")):
        host = text.lstrip("/").split("/")[0].split("?")[0].split(":")[0]
        if "." not in host and host.lower() != "localhost" and not host.startswith("["):
            raise BadInput(f"{shorten(raw.strip(), 200)} is not a web address (expected e.g. https://acme.partnerlinks.io/jane)")
        text = "https://" + text.lstrip("/")
    problem = url_problem(text)
    if problem:
        raise BadInput(f"invalid URL {shorten(raw.strip(), 200)}: {shorten(problem, 200)}")
    return text


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable http(s) URL, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return str(exc)
    if parts.scheme.lower() not in ("http", "https"):
        return f"scheme {parts.scheme or '(none)'!r} is not http or https"
    if not parts.hostname:
        return "no host name"
    host = parts.hostname
    if not is_ip(host):
        bad = next((c for c in host if c in _NOT_IN_HOST or ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f), None)
        if bad is not None:  # random bytes, a pasted fragment: never looked up in DNS
            return f"host name {shorten(host, 80)} contains {bad!r}, which no host name holds"
    if port == 0:
        return "port 0"
    try:
        host.encode("idna") if not is_ip(host) else None
    except UnicodeError:
        return f"host name {host!r} is not valid"
    return None


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
