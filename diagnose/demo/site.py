"""A small local web site on 127.0.0.1 (standard library only), for the demo and the tests.

Routes are data: a path maps to a :class:`Page` (status, headers, body) or to a function of the
request that returns one. The server runs in a background thread and stops on ``close()``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    host: str


@dataclass(frozen=True)
class Page:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds before answering
    drip: float = 0.0  # seconds between 1-byte writes of the body (a slow server)


def redirect(location: str, status: int = 302) -> Page:
    return Page(b"", status, "text/plain", (("Location", location),))


Route = Page | Callable[[Request], Page]


@dataclass
class LocalSite:
    routes: dict[str, Route] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.hits: list[str] = []

    # -- lifecycle --
    def start(self) -> "LocalSite":
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                site._handle(self)

            def do_HEAD(self):
                site._handle(self, head=True)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):  # clients hanging up are normal
                pass

        self._server = Server((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "LocalSite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- routes --
    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def _handle(self, handler: BaseHTTPRequestHandler, head: bool = False) -> None:
        parts = urlsplit(handler.path)
        self.hits.append(handler.path)
        route = self.routes.get(parts.path)
        request = Request(
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in handler.headers.items()},
            host=handler.headers.get("Host", ""),
        )
        if route is None:
            page = Page("<!doctype html><title>Not found</title><h1>404</h1>", 404)
        elif callable(route):
            page = route(request)
        else:
            page = route
        body = page.body.encode("utf-8") if isinstance(page.body, str) else page.body
        if page.delay:
            time.sleep(page.delay)
        try:
            handler.send_response(page.status)
            handler.send_header("Content-Type", page.content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.send_header("Cache-Control", "no-store")
            for name, value in page.headers:
                handler.send_header(name, value)
            handler.end_headers()
            if head:
                return
            if page.drip:
                for i in range(len(body)):
                    handler.wfile.write(body[i : i + 1])
                    handler.wfile.flush()
                    time.sleep(page.drip)
            else:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def static_text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def partnerstack_snippet(key_arg: str, src: str = "/pr/js", obj: str = "growsumo", attrs: str = "") -> str:
    """The PartnerStackJS snippet as the reference shows it. ``key_arg`` is the JavaScript source of
    _initialize's argument (``"'pk_...'"``, ``"''"``, ``"window.KEY"``); ``attrs`` go on the tag."""
    return f"""<script{' ' + attrs if attrs else ''}>
  (function() {{
    var gs = document.createElement('script');
    gs.src = '{src}';
    gs.type = 'text/javascript'; gs.async = 'true';
    gs.onload = gs.onreadystatechange = function() {{
      var rs = this.readyState; if (rs && rs != 'complete' && rs != 'loaded') return;
      try {{ {obj}._initialize({key_arg}); if (typeof(growsumoInit) === 'function') {{ growsumoInit(); }} }} catch (e) {{}}
    }};
    var s = document.getElementsByTagName('script')[0]; s.parentNode.insertBefore(gs, s);
  }})();
</script>"""
