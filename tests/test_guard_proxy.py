"""The guard proxy's CONNECT path - the one every HTTPS request of the browser check takes.

Real TLS servers on 127.0.0.x with a certificate of a throwaway CA (trustme). The test's own DNS
(``dns`` below) names them: shop.example is 127.0.0.2, which these tests treat as the public
internet (the trick of test_cookie.py), and intranet.example is 127.0.0.1, a private address.
The browser cannot resolve either name itself, so a page that loads came through the proxy.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import pytest
import trustme
from browser_fixtures import PK, html, snippet

from diagnose.web import browser
from diagnose.web import fetch as net
from diagnose.web import policy
from diagnose.web.browser import BrowserSession
from diagnose.checks.cookie import check_cookie
from diagnose.core.partnerstack import encode_partner_key
from diagnose.demo.site import LocalSite, Page, redirect, static_text
from diagnose.web.guard_proxy import GuardProxy
from diagnose.web.fetch import NetPolicy


PUBLIC, PRIVATE = "127.0.0.2", "127.0.0.1"
NAMES = {"shop.example": PUBLIC, "intranet.example": PRIVATE}
KEY = "5c38dddbf7fc"
QUERY = f"?gspk={encode_partner_key(KEY)}"
GUARDED = NetPolicy(timeout=5.0)  # private networks not allowed: the guard proxy is on


@pytest.fixture
def dns(monkeypatch):
    """Name resolution of the test's own, and 127.0.0.2 counted as a public address."""

    def resolve(host: str, port: int | None) -> list[str]:
        if host in NAMES:
            return [NAMES[host]]
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            raise net.ResolveError(f"cannot resolve {host}") from None

    monkeypatch.setattr(policy, "resolve", resolve)
    monkeypatch.setattr(policy, "is_public_address", lambda address: address == PUBLIC)


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def server_cert(ca):
    return ca.issue_cert(*NAMES)


@dataclass
class TLSSite(LocalSite):
    """The demo site over HTTPS (``tls``: a server-side context), counting accepted connections."""

    tls: ssl.SSLContext | None = None

    def start(self) -> "TLSSite":
        super().start()
        self.accepted = 0
        server = self._server
        # Before anyone knows the port: wrap the listening socket (the handshake happens on the
        # first read, in the request's thread), and count every connection that reaches us.
        server.socket = self.tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        accept = server.get_request

        def get_request():
            connection = accept()
            self.accepted += 1
            return connection

        server.get_request = get_request
        return self

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"https://{host or self.host}:{self.port}{path}"


@pytest.fixture
def tls_sites(server_cert):
    """(public shop.example, private intranet.example), both on HTTPS."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(context)
    with TLSSite(host=PUBLIC, tls=context) as public, TLSSite(host=PRIVATE, tls=context) as private:
        public.add("/pr/js", Page(static_text("partnerstack.js"), content_type="application/javascript"))
        private.add("/admin", Page("private things"))
        yield public, private


@pytest.fixture
def guard(dns):
    with GuardProxy(connect_timeout=5.0) as proxy:
        yield proxy


# -- the proxy over a socket ---------------------------------------------------------------------


def connect_through(proxy: GuardProxy, target: str, extra: bytes = b"") -> tuple[bytes, socket.socket]:
    """Send CONNECT ``target``; the proxy's answer head and the socket (the tunnel when 200)."""
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode() + extra)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)  # byte by byte: what follows the head belongs to the tunnel
        if not chunk:
            break
        head += chunk
    return head, sock


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_connect_to_a_public_host_tunnels_tls_end_to_end(guard, tls_sites, ca):
    public, private = tls_sites
    public.add("/hello", Page("hello over TLS"))
    head, sock = connect_through(guard, f"shop.example:{public.port}")
    assert head.startswith(b"HTTP/1.1 200 "), head
    client = ssl.create_default_context()
    ca.configure_trust(client)  # the client verifies the throwaway CA's certificate for shop.example
    with client.wrap_socket(sock, server_hostname="shop.example") as tls:
        tls.sendall(b"GET /hello HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n")
        answer = read_all(tls)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"hello over TLS")
    assert public.hits == ["/hello"] and public.accepted == 1
    assert private.accepted == 0 and guard.blocked == []


@pytest.mark.parametrize("target", ["intranet.example", "127.0.0.1", "localhost", "admin.localhost", "[::1]"])
def test_connect_to_a_private_host_is_refused(guard, tls_sites, target):
    public, private = tls_sites
    what = f"{target}:{private.port}"
    head, sock = connect_through(guard, what, extra=b"\x16\x03\x01 a TLS hello that must go nowhere")
    with sock:
        assert head.startswith(b"HTTP/1.1 403 "), head
        assert b"not a public address" in read_all(sock)  # then the proxy hangs up
    time.sleep(0.2)
    assert private.accepted == 0 and private.hits == []  # nothing reached the private server
    assert guard.blocked == [what]


def test_connect_to_an_unknown_name_is_refused(guard):
    head, sock = connect_through(guard, "nowhere.invalid:443")
    sock.close()
    assert head.startswith(b"HTTP/1.1 403 ") and guard.blocked == ["nowhere.invalid:443"]


def test_connect_relays_bytes_sent_with_the_request(guard):
    # a client may send its first bytes right behind the CONNECT head: they go to the upstream too
    echo = socket.create_server((PUBLIC, 0))
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = echo.accept()
        with conn:
            while data := conn.recv(65536):
                got.append(data)
                conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    with echo:
        head, sock = connect_through(guard, f"{PUBLIC}:{echo.getsockname()[1]}", extra=b"early bytes")
        with sock:
            assert head.startswith(b"HTTP/1.1 200 ")
            answer = b""
            while len(answer) < len(b"early bytes"):
                answer += sock.recv(64)
            sock.sendall(b" and later ones")
            while not answer.endswith(b"LATER ONES"):
                answer += sock.recv(64)
    assert answer == b"EARLY BYTES AND LATER ONES"
    assert b"".join(got) == b"early bytes and later ones"


def closed_port() -> int:
    spare = socket.create_server((PUBLIC, 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens there now
    return port


def test_a_closed_port_is_a_bad_gateway_and_recorded(guard):
    port = closed_port()
    head, sock = connect_through(guard, f"shop.example:{port}")
    sock.close()
    assert head.startswith(b"HTTP/1.1 502 ") and guard.blocked == []
    assert guard.unreachable == {f"shop.example:{port}": "Connection refused"}
    # plain HTTP: the proxy's 502 is all the browser gets, so it is recorded under the URL
    url = f"http://shop.example:{port}/land"
    with socket.create_connection(("127.0.0.1", guard.port), timeout=5) as sock:
        sock.sendall(f"GET {url} HTTP/1.1\r\nHost: shop.example:{port}\r\n\r\n".encode())
        assert read_all(sock).startswith(b"HTTP/1.1 502 ")
    assert guard.unreachable[url] == "Connection refused"


# -- the browser check over HTTPS ------------------------------------------------------------------


def spki_pin(cert_pem: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = x509.load_pem_x509_certificate(cert_pem).public_key()
    return base64.b64encode(hashlib.sha256(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).digest()).decode()


@pytest.fixture(scope="module")
def tls_browser(browser_session, server_cert):
    """A second browser that accepts exactly the throwaway server certificate (by its key), for
    these tests only: production launch flags keep full certificate checks (see the test below)."""
    pin = spki_pin(server_cert.cert_chain_pems[0].bytes())
    with BrowserSession(browser_session.executable,
                        extra_args=(f"--ignore-certificate-errors-spki-list={pin}",)) as session:
        yield session


@pytest.fixture
def connects(monkeypatch):
    """Every address the guard proxy was asked to connect to (CONNECT host:port, or a URL)."""
    seen: list[str] = []
    real = GuardProxy._connect

    def spy(self, host, port, what, client):
        seen.append(what)
        return real(self, host, port, what, client)

    monkeypatch.setattr(GuardProxy, "_connect", spy)
    return seen


def test_https_landing_page_through_the_proxy(tls_browser, tls_sites, dns, connects):
    public, private = tls_sites
    land = public.add("/land", Page(html(snippet())))
    link = public.add("/go", redirect("/land" + QUERY))
    r = check_cookie(link.replace(PUBLIC, "shop.example"), session=tls_browser, net_policy=GUARDED)
    assert r.status == "pass", r.problems
    assert r.evidence.final_url == land.replace(PUBLIC, "shop.example") + QUERY
    assert [h.status for h in r.evidence.chain] == [302, 200]
    assert r.evidence.partner_cookie.value == KEY and r.evidence.growsumo.public_key == PK
    assert f"shop.example:{public.port}" in connects  # the CONNECT path
    assert {"/go", "/land" + QUERY, "/pr/js"} <= set(public.hits)  # (some builds also ask for /favicon.ico)
    assert r.evidence.blocked_private == () and private.accepted == 0


def test_https_name_of_a_private_address_is_refused(tls_browser, tls_sites, dns, connects):
    public, private = tls_sites
    inside = private.url("/admin", host="intranet.example")
    where = f"intranet.example:{private.port}"

    # straight there: refused before the browser opens anything
    r = check_cookie(inside + QUERY, session=tls_browser, net_policy=GUARDED)
    assert r.codes() == ["private-network"] and r.problem("private-network").severity == "fail"

    # a public HTTPS link that redirects there: the browser's CONNECT is refused by the proxy
    hop = public.add("/to-inside", redirect(inside + QUERY)).replace(PUBLIC, "shop.example")
    r = check_cookie(hop, session=tls_browser, net_policy=GUARDED)
    assert r.codes() == ["private-network"], r.problems
    assert r.problem("private-network").severity == "fail"  # the page itself was refused
    assert where in r.problem("private-network").message
    assert where in r.evidence.blocked_private and where in connects
    assert [(h.url, h.status) for h in r.evidence.chain] == [(hop, 302)]

    # a public page whose script sends the browser there once it loaded
    js = public.add("/js-to-inside", Page(html(f"<script>location.href = '{inside + QUERY}'</script>")))
    r = check_cookie(js.replace(PUBLIC, "shop.example"), session=tls_browser, net_policy=GUARDED)
    assert r.codes() == ["private-network"] and r.problem("private-network").severity == "fail", r.problems
    assert r.evidence.chain[0].url == js.replace(PUBLIC, "shop.example")

    # a public page whose image redirects there (request routing sees only the first request)
    public.add("/pixel", redirect(private.url("/admin", host="intranet.example")))
    url = public.add("/with-image", Page(html(snippet(), body='<img src="/pixel">'))).replace(PUBLIC, "shop.example")
    r = check_cookie(url + QUERY, session=tls_browser, net_policy=GUARDED)
    assert r.problem("private-network").severity == "warn"  # the page was checked; a sub-request was not
    assert where in r.evidence.blocked_private
    assert r.evidence.partner_cookie.value == KEY

    assert private.accepted == 0 and private.hits == []  # nothing reached the private server


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_a_landing_page_whose_server_is_down_is_a_connection_error(tls_browser, tls_sites, dns, scheme):
    # as `diagnose link` says; over http the proxy's 502 answer must not be inspected as the page
    public, _ = tls_sites
    down = f"{scheme}://shop.example:{closed_port()}/land"
    hop = public.add(f"/to-down-{scheme}", redirect(down + QUERY)).replace(PUBLIC, "shop.example")
    r = check_cookie(hop, session=tls_browser, net_policy=GUARDED)
    assert r.codes() == ["connection-error"], r.problems
    assert r.problem("connection-error").message == "cannot connect to shop.example: Connection refused"
    assert r.evidence.chain[0].url == hop and r.evidence.chain[0].status == 302


def test_no_cookies_fetches_go_through_the_proxy_too(browser_session, dns, connects):
    # under no-cookies the pages are fetched outside the browser (to strip Set-Cookie): those
    # connections must take the guard too, not resolve names on their own
    with LocalSite(host=PUBLIC) as public:
        public.add("/pr/js", Page(static_text("partnerstack.js"), content_type="application/javascript"))
        url = public.add("/land", Page(html(snippet()))) + QUERY
        r = check_cookie(url, session=browser_session, net_policy=GUARDED, browser_policy="no-cookies")
    assert r.codes() == ["no-partner-cookie"], r.problems
    assert f"{PUBLIC}:{public.port}" in connects  # (Playwright's fetcher tunnels http with CONNECT too)


def test_production_browser_still_checks_certificates(browser_session, tls_sites, dns):
    assert not any("certificate" in flag for flag in browser.LAUNCH_ARGS)
    public, _ = tls_sites
    url = public.add("/land", Page(html(snippet()))).replace(PUBLIC, "shop.example")
    r = check_cookie(url + QUERY, session=browser_session, net_policy=GUARDED)
    assert r.codes() == ["navigation-failed"] and "CERT_AUTHORITY_INVALID" in r.problem("navigation-failed").message
    assert public.hits == []
