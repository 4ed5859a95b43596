"""Is a cookie sent to a URL, and can the page's scripts read it? RFC 6265's domain and path rules,
and the site (eTLD+1) a host belongs to."""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

from diagnose.checks.cookie.model import Cookie, PartnerCookie
from diagnose.web import fetch as net


def path_match(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 5.1.4 path-match."""
    request_path = request_path or "/"
    cookie_path = cookie_path or "/"
    if request_path == cookie_path:
        return True
    if request_path.startswith(cookie_path):
        return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
    return False


def _secure_context(scheme: str, host: str) -> bool:
    return scheme == "https" or host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")


def readable_at(cookie: Cookie | PartnerCookie, url: str) -> tuple[bool, str]:
    """Would a page at ``url`` receive ``cookie`` and could its scripts read it (RFC 6265)?"""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    domain = cookie.domain.lower()
    bare = domain.lstrip(".")
    if not domain.startswith("."):
        if host != bare:
            return False, (f"{cookie.name} is a host-only cookie of {bare}, so {host} never receives it "
                           f"(it would need Domain={site_of(bare)})")
    elif not (host == bare or host.endswith("." + bare)):
        return False, f"{cookie.name} belongs to the domain {domain}, which does not include {host}"
    path = parts.path or "/"
    if not path_match(path, cookie.path):
        return False, f"{cookie.name} has Path={cookie.path}, which does not cover {path}"
    if cookie.secure and not _secure_context(parts.scheme.lower(), host):
        return False, f"{cookie.name} is Secure and the signup page is not served over https"
    if cookie.http_only:
        return False, (f"{cookie.name} is HttpOnly: sent to the server, but the signup page's "
                       "PartnerStackJS cannot read it from document.cookie")
    return True, f"{cookie.name} ({'domain ' + domain if domain.startswith('.') else 'host ' + bare}, " \
                 f"path {cookie.path}) is sent to {host} and readable by its scripts"


@functools.cache
def _public_suffixes() -> Any:
    """The Public Suffix List as the package ships it (its bundled snapshot; nothing is downloaded)."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def site_of(host: str) -> str:
    """The registrable domain (eTLD+1) of ``host``, by the Public Suffix List (its private section
    included: ``user.github.io`` and ``other.github.io`` are two sites). An IP address, a name
    without a dot, or a public suffix itself is its own site; an unknown TLD counts as a public
    suffix (``www.shop.localhost`` -> ``shop.localhost``)."""
    host = (host or "").lower().rstrip(".")
    if not host or net.is_ip(host) or "." not in host:
        return host
    return _public_suffixes().privatesuffix(host) or host
