"""Safe HTTP for untrusted links: timeouts, a body cap, and no requests to non-public addresses.

Every hop's host is resolved and refused when any of its addresses is loopback, private,
link-local, multicast or otherwise not public, unless private networks are allowed. The check is
made twice: before the request (a clear message) and on the connected socket's peer address (so a
DNS answer that changes between the two - DNS rebinding - cannot slip through).

``requests`` is imported lazily: ``diagnose --help`` must not pay for it.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

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


def decode_html(body: bytes, charset: str | None) -> str:
    """Page bytes as text: the header's charset, else a byte-order mark or <meta charset>, else UTF-8."""
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            pass
    from bs4.dammit import UnicodeDammit

    dammit = UnicodeDammit(body, is_html=True)  # BOM, then <meta charset>, then UTF-8 / windows-1252
    return dammit.unicode_markup if dammit.unicode_markup is not None else body.decode("utf-8", errors="replace")


class FetchTimeout(Exception):
    pass


class FetchConnectionError(Exception):
    pass


class InvalidRedirect(Exception):
    pass


_adapter_class: list[type] = []


def _guarded_adapter_class() -> type:
    """A requests adapter whose connections refuse non-public peers (built once, lazily)."""
    if _adapter_class:
        return _adapter_class[0]
    import requests.adapters
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def guard(conn, sock):
        peer = sock.getpeername()[0]
        if not policy_module.is_public_address(peer):
            sock.close()
            raise PrivateAddress(conn.host, peer)
        return sock

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self):
            return guard(self, super()._new_conn())

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self):
            return guard(self, super()._new_conn())

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    class GuardedAdapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {
                "http": GuardedHTTPPool,
                "https": GuardedHTTPSPool,
            }

    _adapter_class.append(GuardedAdapter)
    return GuardedAdapter


def make_session(policy: NetPolicy) -> "requests.Session":
    import requests
    import requests.adapters

    session = requests.Session()
    # No proxies or .netrc from the environment: the peer check must see the real host.
    session.trust_env = False
    if policy.allow_private:
        adapter = requests.adapters.HTTPAdapter(max_retries=0)
    else:
        adapter = _guarded_adapter_class()(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = policy.user_agent
    session.headers["Accept"] = "text/html,application/xhtml+xml,*/*;q=0.8"
    return session


def fetch(session: "requests.Session", url: str, policy: NetPolicy) -> Fetched:
    """GET ``url`` once, without following redirects, within the policy's limits.

    Raises PrivateAddress, ResolveError, FetchTimeout or FetchConnectionError.
    """
    import requests

    parts = urlsplit(url)
    policy_module.check_host(parts.hostname or "", parts.port, policy.allow_private)
    started = time.monotonic()
    deadline = started + policy.timeout * 2
    try:
        response = session.get(
            url,
            allow_redirects=False,
            stream=True,
            timeout=(policy.timeout, policy.timeout),
        )
    except PrivateAddress:
        raise
    except ValueError as exc:  # requests parses a redirect target it won't follow, and may choke on it
        raise InvalidRedirect(f"{parts.hostname} redirects to an unusable address: {exc}") from None
    except requests.exceptions.Timeout:
        raise FetchTimeout(f"no answer from {parts.hostname} within {policy.timeout:g} s") from None
    except requests.exceptions.RequestException as exc:
        cause = exc
        while cause.__context__ is not None and not isinstance(cause, PrivateAddress):
            cause = cause.__context__
        if isinstance(cause, PrivateAddress):
            raise cause from None
        raise FetchConnectionError(f"cannot connect to {parts.hostname}: {_short(exc)}") from None
    chunks: list[bytes] = []
    size = 0
    truncated = False
    try:
        while True:
            # read1 returns what one socket read gives, so the deadline is checked as data trickles.
            chunk = response.raw.read1(65536, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size >= policy.max_bytes:
                truncated = True
                break
            if time.monotonic() > deadline:
                raise FetchTimeout(
                    f"{parts.hostname} was still sending after {policy.timeout * 2:g} s"
                )
    except Exception as exc:  # urllib3 / socket errors while reading the body
        if isinstance(exc, FetchTimeout):
            raise
        if "timed out" in str(exc).lower() or isinstance(exc, TimeoutError):
            raise FetchTimeout(f"{parts.hostname} stopped sending for {policy.timeout:g} s") from None
        raise FetchConnectionError(f"connection to {parts.hostname} broke: {_short(exc)}") from None
    finally:
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
