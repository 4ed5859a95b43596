"""Safe HTTP for untrusted links: timeouts, a body cap, and no requests to non-public addresses.

Every hop's host is resolved and refused when any of its addresses is loopback, private,
link-local, multicast or otherwise not public, unless private networks are allowed. The check is
made twice: before the request (a clear message) and on the connected socket's peer address (so a
DNS answer that changes between the two - DNS rebinding - cannot slip through). A connection kept
alive for later hops (``kept_session``) stays with the address judged when it connected.

``requests`` is imported lazily: ``diagnose --help`` must not pay for it.
"""

from __future__ import annotations

import html
import re
import socket
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from diagnose.core.reading import clean_text
from diagnose.core.urls import is_ip, normalise_url, url_problem  # noqa: F401  (net.normalise_url, ...)
from diagnose.web import policy as policy_module
from diagnose.web.html_bounds import bound_tags
from diagnose.web.policy import (  # noqa: F401  (the policy, as the checks name it: net.NetPolicy, ...)
    DEFAULT_MAX_BYTES, NOT_PUBLIC, NetPolicy, PrivateAddress, ResolveError, check_host, env_allows_private,
    is_public_address, refusal,
    resolve,
)
from diagnose.web.sessions import kept_session, make_session, send  # noqa: F401  (net.make_session, ...)
from diagnose.web.watchdog import Watch

if TYPE_CHECKING:  # pragma: no cover
    import requests

@dataclass(frozen=True)
class Fetched:
    url: str
    status_code: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    truncated: bool
    elapsed_ms: int

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self) -> str:
        """The body as text (decoded once)."""
        text = self.__dict__.get("_text")
        if text is None:
            charset = None
            for part in self.headers.get("content-type", "").split(";")[1:]:
                key, _, value = part.strip().partition("=")
                if key.lower() == "charset" and value:
                    charset = value.strip("\"' ")
            text = self.__dict__["_text"] = decode_html(self.body, charset)
        return text

    def tree(self):
        """The page parsed once (parse_html) and shared by every check that reads it: read it, never
        change it."""
        tree = self.__dict__.get("_tree")
        if tree is None:
            tree = self.__dict__["_tree"] = parse_html(self.text())
        return tree

    def __getstate__(self) -> dict:  # the caches stay behind (a deep tree would not even pickle)
        return {k: v for k, v in self.__dict__.items() if k not in ("_text", "_tree")}


_SNIFF_BYTES = 4096  # a <meta charset> must sit in the first 1024 bytes; the search never reads past this


def decode_html(body: bytes, charset: str | None) -> str:
    """Page bytes as text: the header's charset, else a byte-order mark or <meta charset> (looked for
    in the first bytes only: bs4's own search of 5 % of the page is quadratic), else UTF-8, else a guess.
    Some codecs (utf-7 ``+2AA-``, unicode_escape) decode to lone surrogates, which no parser or writer
    can encode: they become U+FFFD here, once, for every reader of the text."""
    return clean_text(_decode(body, charset))


def _decode(body: bytes, charset: str | None) -> str:
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except (LookupError, UnicodeError, ValueError):  # unknown, or a codec that is no text encoding (idna)
            pass
    from bs4 import dammit

    head = body[:_SNIFF_BYTES]
    stripped, bom = dammit.EncodingDetector.strip_byte_order_mark(head)
    if bom:
        body = body[len(head) - len(stripped):]
    declared = bom or dammit.EncodingDetector.find_declared_encoding(head, is_html=True)
    guess = getattr(dammit, "_chardet_dammit", None) or getattr(dammit, "chardet_dammit", None)
    # The BOM, the declaration, then UTF-8 (bytes that are valid UTF-8 are UTF-8: a detector may read a
    # pure-ASCII page as Shift_JIS, turning '~' and '\\' into other characters), a detector's guess,
    # windows-1252.
    for encoding in (declared, "utf-8", "guess", "windows-1252"):
        if encoding == "guess":
            encoding = guess(body) if guess else None
        if not encoding:
            continue
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeError, ValueError):  # UnicodeError: idna, undefined and the like
            continue
    return body.decode("utf-8", errors="replace")


def parse_html(text: str):
    """BeautifulSoup's html.parser tree of a hostile page. html.parser gives up on some markup
    declarations (``<![foo[...]]>``, an odd ``<!DOCTYPE``): then every ``<!`` that opens no comment
    is read as text, and failing that every ``<!``, so that any page is read (never raises)."""
    from bs4 import BeautifulSoup

    # A numeric character reference longer than any code point (&#999...; with thousands of digits)
    # makes html.unescape raise (Python's limit on int() of long strings): it stands for U+FFFD anyway.
    text = _HUGE_CHARREF_RE.sub("&#xFFFD;", clean_text(text))  # a browser's DOM may hold lone surrogates too
    readings = (lambda: text, lambda: _ODD_DECLARATION_RE.sub("&lt;!", text), lambda: text.replace("<!", "&lt;!"))
    for reading in readings:
        try:
            return BeautifulSoup(without_cut_end(reading()), "html.parser")
        except Exception:  # bs4's ParserRejectedMarkup (html.parser's AssertionError inside)
            continue
    return BeautifulSoup(without_cut_end(html.escape(text)), "html.parser")  # text only: cannot fail


class _Tokens(HTMLParser):
    """html.parser's tokenizer with nothing to do per token (bs4's settings): what it leaves unread."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)


def without_cut_end(text: str) -> str:
    """``text`` less a construct the end of the page leaves open (a tag cut short, a comment or
    declaration never closed, an unclosed script's rest). A browser drops such a tag and shows no
    comment or unrun script; html.parser, told the page has ended, re-reads what is left from each
    '<' in it, each time to the end of the page: quadratic (``'<a ' * 8000`` took 3 s, 5 MB hours).
    Fed without that end, html.parser leaves exactly that construct unread: cut it off. A start tag
    that runs past html_bounds.TAG_BOUND is read as text first (its one match would take ~500 bytes a
    token: ``'<a ' * 1.7M`` took 900 MB)."""
    text = bound_tags(text)
    tokens = _Tokens()
    tokens.feed(text)
    rest = tokens.rawdata
    return text[: len(text) - len(rest)] if rest.startswith("<") or tokens.cdata_elem else text


_ODD_DECLARATION_RE = re.compile(r"<!(?!--)")
_HUGE_CHARREF_RE = re.compile(r"&#(?:[xX]0*[0-9a-fA-F]{7,}|0*[0-9]{8,});?")  # beyond U+10FFFF; linear


class FetchTimeout(Exception):
    pass


class FetchConnectionError(Exception):
    pass


class InvalidRedirect(Exception):
    pass


class _StaleConnection(FetchConnectionError):
    """The hop went out on a kept-alive connection and the connection broke before any answer."""


def fetch(session: requests.Session, url: str, policy: NetPolicy) -> Fetched:
    """GET ``url`` once, without following redirects, within the policy's limits.

    Raises PrivateAddress, ResolveError, FetchTimeout, FetchConnectionError or InvalidRedirect.
    """
    parts = urlsplit(url)
    policy_module.check_host(parts.hostname or "", parts.port, policy.allow_private)
    started = time.monotonic()
    try:
        return _fetch(session, url, policy, parts.hostname, started)
    except _StaleConnection:
        # a kept-alive connection the server closed as it was reused: once more on a new one, as
        # browsers do (a failure then is the host's)
        return _fetch(session, url, policy, parts.hostname, started)


def _fetch(session: requests.Session, url: str, policy: NetPolicy, host: str | None, started: float) -> Fetched:
    # The hop's deadline (twice the timeout) covers the whole answer: status line, headers, body.
    with Watch(policy.timeout * 2) as watch:
        try:
            try:
                response = _get(session, url, policy, host)
            except FetchConnectionError as exc:
                if watch.reused and not watch.fired and not isinstance(exc, _StaleConnection):
                    raise _StaleConnection(str(exc)) from None
                raise
            try:
                chunks, truncated = _read_body(response, policy, host, started + policy.timeout * 2)
            except BaseException:
                response.close()
                raise
        except (FetchConnectionError, FetchTimeout):
            if watch.fired:
                raise _late(host, policy) from None
            raise
        if watch.fired:  # the shut-down socket may read as a clean (but cut) end of the headers or body
            response.close()
            raise _late(host, policy)
    if not truncated:  # read to its end: the connection goes back to the session's pool, kept alive
        response.raw.release_conn()
    response.close()
    body = b"".join(chunks)[: policy.max_bytes]
    return Fetched(
        url=url,
        status_code=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=body,
        truncated=truncated,
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )


def _late(host: str | None, policy: NetPolicy) -> FetchTimeout:
    return FetchTimeout(f"{host} was still sending after {policy.timeout * 2:g} s")


def _get(session: requests.Session, url: str, policy: NetPolicy, host: str | None):
    """The response's status and headers (the body is left to stream)."""
    import requests

    try:
        return send(session, url, policy)
    except PrivateAddress:
        raise
    except ValueError as exc:  # requests parses a redirect target it won't follow, and may choke on it
        raise InvalidRedirect(f"{host} redirects to an unusable address: {exc}") from None
    except requests.exceptions.Timeout:
        raise FetchTimeout(f"no answer from {host} within {policy.timeout:g} s") from None
    except requests.exceptions.RequestException as exc:
        cause = exc
        while cause.__context__ is not None and not isinstance(cause, PrivateAddress):
            cause = cause.__context__
        if isinstance(cause, PrivateAddress):
            raise cause from None
        raise FetchConnectionError(f"cannot connect to {host}: {_short(exc)}") from None


def _read_body(response, policy: NetPolicy, host: str | None, deadline: float) -> tuple[list[bytes], bool]:
    """The body's chunks (up to the byte cap) and whether it was cut there."""
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            # read1 returns what one socket read gives, so the deadline is checked as data trickles.
            chunk = response.raw.read1(65536, decode_content=True)
            if not chunk:
                return chunks, False
            chunks.append(chunk)
            size += len(chunk)
            if size >= policy.max_bytes:
                return chunks, True
            if time.monotonic() > deadline:
                raise FetchTimeout(f"{host} was still sending after {policy.timeout * 2:g} s")
    except FetchTimeout:
        raise
    except Exception as exc:  # urllib3 / socket errors while reading the body
        if "timed out" in str(exc).lower() or isinstance(exc, TimeoutError):
            raise FetchTimeout(f"{host} stopped sending for {policy.timeout:g} s") from None
        raise FetchConnectionError(f"connection to {host} broke: {_short(exc)}") from None


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception behind requests' and urllib3's wrappers (args, reason, cause, context)."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)), None)
        inner = inner or exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


def _short(exc: BaseException) -> str:
    """What went wrong on the connection, in words (never an exception's repr)."""
    import ssl

    root = _root_cause(exc)
    if isinstance(root, ssl.SSLCertVerificationError):
        return f"its TLS certificate was refused ({root.verify_message or 'not trusted'})"
    if isinstance(root, ssl.SSLError):
        reason = (root.reason or "").replace("_", " ").lower()
        if reason == "wrong version number":
            return "TLS handshake failed: the server does not speak HTTPS on this port"
        return f"TLS handshake failed ({reason or 'unknown reason'})"
    if isinstance(root, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    if isinstance(root, ConnectionResetError):
        return "the server reset the connection"
    if isinstance(root, socket.gaierror):
        return "the name does not resolve"
    if isinstance(root, OSError) and root.strerror:
        return root.strerror
    text = str(root) or type(root).__name__
    # urllib3 messages nest reprs of pools and connections: keep the last, informative part.
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker)[-1]
    return text.strip("()'\" ")[:200]
