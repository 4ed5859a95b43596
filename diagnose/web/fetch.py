"""Safe HTTP for untrusted links: timeouts, a body cap, and no requests to non-public addresses.

Every hop's host is resolved and refused when any of its addresses is loopback, private,
link-local, multicast or otherwise not public, unless private networks are allowed. The check is
made twice: before the request (a clear message) and on the connected socket's peer address (so a
DNS answer that changes between the two - DNS rebinding - cannot slip through).

``requests`` is imported lazily: ``diagnose --help`` must not pay for it.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from diagnose.core.reading import clean_text
from diagnose.core.urls import is_ip, normalise_url, url_problem  # noqa: F401  (net.normalise_url, ...)
from diagnose.web import policy as policy_module
from diagnose.web.policy import (  # noqa: F401  (the policy, as the checks name it: net.NetPolicy, ...)
    DEFAULT_MAX_BYTES, NOT_PUBLIC, NetPolicy, PrivateAddress, ResolveError, check_host, env_allows_private,
    is_public_address, refusal,
    resolve,
)

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
        charset = None
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"' ")
        return decode_html(self.body, charset)


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
    try:
        return BeautifulSoup(text, "html.parser")
    except Exception:  # bs4's ParserRejectedMarkup (html.parser's AssertionError inside)
        pass
    try:
        return BeautifulSoup(_ODD_DECLARATION_RE.sub("&lt;!", text), "html.parser")
    except Exception:
        return BeautifulSoup(text.replace("<!", "&lt;!"), "html.parser")


_ODD_DECLARATION_RE = re.compile(r"<!(?!--)")
_HUGE_CHARREF_RE = re.compile(r"&#(?:[xX]0*[0-9a-fA-F]{7,}|0*[0-9]{8,});?")  # beyond U+10FFFF; linear


class FetchTimeout(Exception):
    pass


class FetchConnectionError(Exception):
    pass


class InvalidRedirect(Exception):
    pass


class _Watch:
    """The deadline of one hop: when it passes, the sockets this thread used for the hop are shut
    down, so a server dribbling its status line or headers (which requests only bounds per read)
    cannot hold the hop past it. Connections register themselves as they connect or send."""

    local = threading.local()

    def __init__(self, seconds: float) -> None:
        self.connections: list = []
        self.fired = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> "_Watch":
        _Watch.local.current = self
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        _Watch.local.current = None

    @staticmethod
    def register(conn) -> None:
        watch = getattr(_Watch.local, "current", None)
        if watch is not None:
            with watch._lock:
                watch.connections.append(conn)
                fired = watch.fired
            if fired:
                _shutdown(conn)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            connections = list(self.connections)
        for conn in connections:
            _shutdown(conn)


def _shutdown(conn) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: wakes a blocked read, TLS too
        except OSError:
            pass


_adapter_classes: dict[bool, type] = {}


def _adapter_class(check_peer: bool) -> type:
    """A requests adapter whose connections are watched by the hop's deadline and, with
    ``check_peer``, refuse non-public peers (built once per kind, lazily)."""
    if check_peer in _adapter_classes:
        return _adapter_classes[check_peer]
    import requests.adapters
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def guard(conn, sock):
        peer = sock.getpeername()[0]
        if check_peer and not policy_module.is_public_address(peer):
            sock.close()
            raise PrivateAddress(conn.host, peer)
        return sock

    class Watched:
        def _new_conn(self):
            _Watch.register(self)
            return guard(self, super()._new_conn())

        def request(self, *args, **kwargs):  # a kept-alive connection is watched by its new hop too
            _Watch.register(self)
            return super().request(*args, **kwargs)

    class WatchedHTTPConnection(Watched, HTTPConnection):
        pass

    class WatchedHTTPSConnection(Watched, HTTPSConnection):
        pass

    class WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    class WatchedAdapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {
                "http": WatchedHTTPPool,
                "https": WatchedHTTPSPool,
            }

    _adapter_classes[check_peer] = WatchedAdapter
    return WatchedAdapter


def make_session(policy: NetPolicy) -> "requests.Session":
    import requests
    import requests.adapters

    session = requests.Session()
    # No proxies or .netrc from the environment: the peer check must see the real host.
    session.trust_env = False
    adapter = _adapter_class(check_peer=not policy.allow_private)(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = policy.user_agent
    session.headers["Accept"] = "text/html,application/xhtml+xml,*/*;q=0.8"
    return session


def fetch(session: "requests.Session", url: str, policy: NetPolicy) -> Fetched:
    """GET ``url`` once, without following redirects, within the policy's limits.

    Raises PrivateAddress, ResolveError, FetchTimeout, FetchConnectionError or InvalidRedirect.
    """
    parts = urlsplit(url)
    policy_module.check_host(parts.hostname or "", parts.port, policy.allow_private)
    started = time.monotonic()
    # The hop's deadline (twice the timeout) covers the whole answer: status line, headers, body.
    with _Watch(policy.timeout * 2) as watch:
        late = FetchTimeout(f"{parts.hostname} was still sending after {policy.timeout * 2:g} s")
        try:
            response = _get(session, url, policy, parts.hostname)
            try:
                chunks, truncated = _read_body(response, policy, parts.hostname, started + policy.timeout * 2)
            finally:
                response.close()
        except (FetchConnectionError, FetchTimeout):
            if watch.fired:
                raise late from None
            raise
        if watch.fired:  # the shut-down socket may read as a clean (but cut) end of the headers or body
            raise late
    body = b"".join(chunks)[: policy.max_bytes]
    return Fetched(
        url=url,
        status_code=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=body,
        truncated=truncated,
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )


def _get(session: "requests.Session", url: str, policy: NetPolicy, host: str | None):
    """The response's status and headers (the body is left to stream)."""
    import requests

    try:
        return session.get(url, allow_redirects=False, stream=True, timeout=(policy.timeout, policy.timeout))
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
