"""A local stand-in of the PartnerStack REST API (v2), standard library only, on 127.0.0.1: the same
envelope, Basic auth, cursor paging, errors and write rules (demo/api_store.py): partnerships,
customers, transactions and rewards (a live sale makes a pending reward; a test sale none), plus what tests and
benchmarks need: 429s and 500s on demand, a latency per request, and a log of the requests.

    with ApiStandIn("pk_test_…", "sk_test_…", latency=0.02) as api:
        api.add_partnership("jane", email="jane@partners.example")
        api.add_customer("user-1", "ann@example.com", "jane")
        api.fail_next(429, retry_after=0.05, count=3)
        client = PartnerStackClient(Credentials(api.public_key, api.secret_key), base_url=api.url)

Test keys (``test`` in their prefix, as the client reads them) make what POSTs create ``test: true``.
It serves requests concurrently (a thread each; the latency is a sleep, which frees the GIL).
``python -m diagnose.demo.api_standin --customers N`` serves one in a process of its own (the keys
from PARTNERSTACK_PUBLIC_KEY / PARTNERSTACK_SECRET_KEY; it prints its URL and stops at end of input).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from diagnose.core.partnerstack import API_TEST_KEY_RE
from diagnose.demo.api_store import DAY_MS, Refusal, Store, now_ms

PREFIX = "/api/v2/"
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           409: "Conflict", 422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable"}


@dataclass(frozen=True)
class Logged:
    """A request as the stand-in saw it (never its Authorization header)."""

    method: str
    path: str  # below /api/v2/, e.g. "customers"
    params: dict[str, str]
    body: Any
    status: int
    authorized: bool
    at: float  # time.monotonic() when it arrived


@dataclass
class _Failure:
    status: int
    count: int
    retry_after: float | str | None
    path: str | None
    body: bytes | None


class ApiStandIn:
    def __init__(self, public_key: str = "pk_test_standin", secret_key: str = "sk_test_standin_secret",
                 latency: float = 0.0, host: str = "127.0.0.1", port: int = 0):
        self.public_key, self.secret_key = public_key, secret_key
        self.latency = latency
        self.host, self.port = host, port
        self.test = bool(API_TEST_KEY_RE.match(public_key) or API_TEST_KEY_RE.match(secret_key))
        self.store = Store(test=self.test)
        self.requests: list[Logged] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()

    # -- seeding and assertions (the store's, here for short test code) -----------------------
    def add_partnership(self, partner_key: str, **fields: Any) -> dict:
        return self.store.add_partnership(partner_key, **fields)

    def add_customer(self, customer_key: str, email: str, partner_key: str | None = None, **fields: Any) -> dict:
        return self.store.add_customer(customer_key, email, partner_key, **fields)

    def populate(self, count: int, start_ms: int | None = None, end_ms: int | None = None, **options: Any) -> None:
        end = now_ms() if end_ms is None else end_ms
        self.store.populate(count, end - 365 * DAY_MS if start_ms is None else start_ms, end, **options)

    @property
    def customers(self) -> list[dict]:
        with self.store.lock:
            return [dict(c) for c in self.store.customers.values()]

    def add_reward(self, customer: str, status: str = "pending", **fields: Any) -> dict:
        return self.store.add_reward(customer, status, **fields)

    @property
    def rewards(self) -> list[dict]:
        with self.store.lock:
            return [dict(r) for r in self.store.rewards.values()]

    @property
    def transactions(self) -> list[dict]:
        with self.store.lock:
            return [dict(t) for t in self.store.transactions.values()]

    def fail_next(self, status: int, count: int = 1, retry_after: float | str | None = None,
                  path: str | None = None, body: bytes | str | None = None) -> None:
        """Answer the next ``count`` authorised requests (to ``path`` below /api/v2/ when given) with
        ``status`` (and a Retry-After header, and ``body`` instead of an error envelope, when given)."""
        raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._failures.append(_Failure(status, count, retry_after, path, raw))

    def requests_to(self, path: str, method: str | None = None) -> list[Logged]:
        return [r for r in list(self.requests) if r.path == path and (method is None or r.method == method)]

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PREFIX}"

    def start(self) -> ApiStandIn:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30  # an idle kept-alive connection is dropped after this
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stall)

            def log_message(self, *args: Any) -> None:  # quiet (and never the headers)
                pass

            def setup(self) -> None:
                super().setup()
                with api._lock:
                    api._connections.add(self.connection)

            def finish(self) -> None:
                with api._lock:
                    api._connections.discard(self.connection)
                super().finish()

            def do_GET(self) -> None:
                api._handle(self, "GET")

            def do_POST(self) -> None:
                api._handle(self, "POST")

            def do_PATCH(self) -> None:
                api._handle(self, "PATCH")

            def do_DELETE(self) -> None:
                api._handle(self, "DELETE")

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 64

            def handle_error(self, request: Any, client_address: Any) -> None:  # clients hanging up
                pass

        self._server = Server((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="api-standin").start()
        return self

    def close(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        with self._lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._server.server_close()
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one request ----------------------------------------------------------------------------
    def _authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return bool(sep) and hmac.compare_digest(user, self.public_key) and hmac.compare_digest(password, self.secret_key)

    def _failure(self, path: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.path is None or failure.path == path:
                    failure.count -= 1
                    if failure.count <= 0:
                        self._failures.remove(failure)
                    return failure
        return None

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        arrived = time.monotonic()
        parts = urlsplit(handler.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if self.latency:
            time.sleep(self.latency)
        path = unquote(parts.path[len(PREFIX):]) if parts.path.startswith(PREFIX) else parts.path
        authorized = self._authorized(handler.headers.get("Authorization"))
        headers: dict[str, str] = {}
        body_out: bytes | None = None
        body: Any = None
        try:
            if not authorized:
                raise Refusal(401, "Unauthorized: the API keys were not accepted")
            failure = self._failure(path)
            if failure:
                if failure.retry_after is not None:
                    headers["Retry-After"] = str(failure.retry_after)
                body_out = failure.body
                raise Refusal(failure.status, REASONS.get(failure.status, "Injected failure"))
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise Refusal(400, "the body is not JSON") from None
            status, data = self._route(method, path, params, body)
            payload = {"data": data, "message": REASONS.get(status, "OK"), "status": status}
        except Refusal as refusal:
            status, payload = refusal.status, {"message": refusal.message, "status": refusal.status}
        with self._lock:
            self.requests.append(Logged(method, path, params, body, status, authorized, arrived))
        out = body_out if body_out is not None else json.dumps(payload, separators=(",", ":")).encode()
        try:
            handler.send_response(status, REASONS.get(status))
            handler.send_header("Content-Type", "application/json" if body_out is None else "text/html")
            handler.send_header("Content-Length", str(len(out)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(out)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self, method: str, path: str, params: dict, body: Any) -> tuple[int, Any]:
        store = self.store
        parts = path.strip("/").split("/")
        resource, key = parts[0], "/".join(parts[1:]) or None
        if method == "POST" and key is None and resource in ("customers", "transactions", "partnerships"):
            if not isinstance(body, dict):
                raise Refusal(400, "the body must be a JSON object")
            if resource == "customers":
                return 200, store.create_customer(body)
            if resource == "transactions":
                return 200, store.create_transaction(body)[0]
            if not isinstance(body.get("partner_key"), str) or not body["partner_key"]:
                raise Refusal(422, "partner_key is required")
            return 200, store.add_partnership(body["partner_key"], email=body.get("email"),
                                              group=body.get("group_key") or "default")
        if method != "GET":
            raise Refusal(404, f"no route for {method} /{path}")
        if resource == "customers":
            found = store.list_customers(params) if key is None else store.customer(key)
        elif resource == "partnerships":
            found = store.list_partnerships(params) if key is None else store.partnership(key)
        elif resource == "transactions" and key is None:
            found = store.list_transactions(params)
        elif resource == "rewards" and key is None:
            found = store.list_rewards(params)
        else:
            raise Refusal(404, f"no route for GET /{path}")
        if found is None:
            raise Refusal(404, f"{resource[:-1]} {key!r} not found")
        return 200, found


def main(argv: list[str] | None = None) -> None:
    """Serve a stand-in in this process until end of input (for benchmarks: no GIL shared with the client)."""
    import argparse
    import os
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=0)
    parser.add_argument("--start-ms", type=int)
    parser.add_argument("--end-ms", type=int)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    public = os.environ.get("PARTNERSTACK_PUBLIC_KEY") or "pk_test_standin"
    secret = os.environ.get("PARTNERSTACK_SECRET_KEY") or "sk_test_standin_secret"
    with ApiStandIn(public, secret, latency=args.latency) as api:
        api.populate(args.customers, args.start_ms, args.end_ms)
        print(api.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
