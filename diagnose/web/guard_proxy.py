"""A tiny forward proxy on 127.0.0.1 that enforces the private-network rule for the browser.

Playwright's request routing sees only the first request of a redirect chain, and the browser
resolves host names itself, so a hostile page could still reach this machine or its network
through a redirect or a ``*.localhost`` name. Every request of a browser context that uses this
proxy (redirects, sub-resources, WebSockets, HTTPS via CONNECT) comes here first: the host is
resolved, every address must be public, and the connection goes to the address that was checked
(so DNS rebinding cannot slip in between). Anything else gets ``403`` and is recorded in
``blocked``. A checked address that cannot be reached gets ``502`` and is recorded in
``unreachable``, so that the browser check can tell the proxy's answer from the site's.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from urllib.parse import urlsplit

from diagnose.web import fetch as net
from diagnose.web import policy as web_policy
from diagnose.web.policy import NOT_PUBLIC

_MAX_HEAD = 64 * 1024
_IDLE_S = 60.0


class GuardProxy:
    """``with GuardProxy() as proxy: context = browser.new_context(proxy=proxy.playwright_option)``."""

    def __init__(self, connect_timeout: float = 10.0):
        self.connect_timeout = connect_timeout
        self.blocked: list[str] = []
        self.unreachable: dict[str, str] = {}  # what -> "timeout" or the reason, while it lasts
        self._lock = threading.Lock()
        guard = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                guard._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address) -> None:  # a client hanging up is normal
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="diagnose-guard-proxy", daemon=True)

    @property
    def playwright_option(self) -> dict[str, str]:
        # "<-loopback>" removes Chromium's implicit bypass of localhost, so loopback goes through us too.
        return {"server": f"http://127.0.0.1:{self.port}", "bypass": "<-loopback>"}

    def start(self) -> "GuardProxy":
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "GuardProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the rule --
    def _refuse(self, what: str) -> None:
        with self._lock:
            if what not in self.blocked and len(self.blocked) < 50:
                self.blocked.append(what)

    def _address(self, host: str, port: int) -> str | None:
        """The checked public address to connect to, or None (refused)."""
        host = host.strip("[]").lower()
        if not host or host == "localhost" or host.endswith(".localhost"):
            return None
        try:
            addresses = web_policy.check_host(host, port, False)
        except (net.PrivateAddress, net.ResolveError):
            return None
        return addresses[0] if addresses else None

    # -- one client connection --
    def _handle(self, client: socket.socket) -> None:
        client.settimeout(self.connect_timeout)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
                if len(head) > _MAX_HEAD:
                    return
        except OSError:
            return
        header_end = head.index(b"\r\n\r\n") + 4
        first_line, _, rest = head[:header_end].partition(b"\r\n")
        parts = first_line.decode("latin-1").split(" ")
        if len(parts) != 3:
            return
        method, target, version = parts
        if method.upper() == "CONNECT":
            host, _, port_text = target.rpartition(":")
            port = int(port_text) if port_text.isdigit() else 443
            upstream = self._connect(host, port, f"{host}:{port}", client)
            if upstream is None:
                return
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._relay(client, upstream, head[header_end:])
            return
        url = urlsplit(target)
        if url.scheme not in ("http", "ws") or not url.hostname:
            self._answer(client, 400, "only absolute http URLs are proxied")
            return
        port = url.port or 80
        upstream = self._connect(url.hostname, port, target, client)
        if upstream is None:
            return
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        lines = [f"{method} {path} {version}".encode("latin-1")]
        lines += _without_hop_headers(rest)
        lines.append(b"Connection: close")
        upstream.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        # One request per connection: the answer says "close", so that the browser never sends a
        # request for another host down a connection whose host was checked.
        self._relay(client, upstream, head[header_end:], one_request=True)

    def _connect(self, host: str, port: int, what: str, client: socket.socket) -> socket.socket | None:
        address = self._address(host, port)
        if address is None:
            self._refuse(what)
            self._answer(client, 403, f"diagnose: {NOT_PUBLIC}")
            return None
        try:
            upstream = socket.create_connection((address, port), timeout=self.connect_timeout)
        except OSError as exc:
            with self._lock:
                if len(self.unreachable) < 50:
                    self.unreachable[what] = "timeout" if isinstance(exc, TimeoutError) else (
                        exc.strerror or type(exc).__name__)
            self._answer(client, 502, "diagnose: cannot connect")
            return None
        with self._lock:
            self.unreachable.pop(what, None)
        return upstream

    @staticmethod
    def _answer(client: socket.socket, status: int, text: str) -> None:
        body = text.encode()
        try:
            client.sendall(
                f"HTTP/1.1 {status} {text}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n".encode("latin-1") + body
            )
        except OSError:
            pass

    @staticmethod
    def _relay(client: socket.socket, upstream: socket.socket, pending: bytes, one_request: bool = False) -> None:
        answered = False
        response_head = b""
        try:
            if pending:
                upstream.sendall(pending)
            sockets = [client, upstream]
            while True:
                readable, _, _ = select.select(sockets, [], [], _IDLE_S)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        if one_request and answered:
                            return  # a second request on this connection: refuse by closing
                        upstream.sendall(data)
                    elif one_request and response_head is not None:
                        answered = True
                        response_head += data
                        if b"\r\n\r\n" not in response_head:
                            if len(response_head) > _MAX_HEAD:
                                return
                            continue
                        end = response_head.index(b"\r\n\r\n") + 4
                        status, _, rest = response_head[:end].partition(b"\r\n")
                        lines = [status, *_without_hop_headers(rest), b"Connection: close", b"Proxy-Connection: close"]
                        client.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + response_head[end:])
                        response_head = None
                    else:
                        client.sendall(data)
        except OSError:
            return
        finally:
            upstream.close()


_HOP_HEADERS = (b"connection", b"keep-alive", b"proxy-connection", b"proxy-authorization")


def _without_hop_headers(block: bytes) -> list[bytes]:
    """The header lines of ``block`` (ending in a blank line or not), minus hop-by-hop ones."""
    out = []
    for line in block.split(b"\r\n"):
        if not line:
            continue
        if line.split(b":", 1)[0].strip().lower() in _HOP_HEADERS:
            continue
        out.append(line)
    return out
