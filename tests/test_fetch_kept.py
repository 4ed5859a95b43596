"""Safe HTTP as a sweep uses it: one shared thread for every hop's deadline, and a kept-alive
session per worker thread whose connections are reused from link to link, whose cookies never pass
from one link to the next, and whose every new connection is still judged by the peer check."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from raw_server import raw_server

from diagnose.checks.link import follow
from diagnose.demo.site import LocalSite, Page, redirect
from diagnose.web import fetch as net
from diagnose.web import policy, watchdog
from diagnose.web.policy import NetPolicy
from diagnose.web.watchdog import Watch

GSPK = "NWMzOGRkZGJmN2Zj"
LANDING = "<!doctype html><html><head><title>Acme</title></head><body>" + "<p>Welcome.</p>" * 20 + "</body></html>"


# -- the hop deadlines -------------------------------------------------------------------------

class _Conn:
    """What a watch knows of a connection: its ``sock``."""

    def __init__(self, sock: socket.socket):
        self.sock = sock


def _blocked_read(sock: socket.socket, out: list) -> None:
    sock.settimeout(20)
    try:
        out.append(sock.recv(10))  # b"" once the watchdog shuts the socket down
    except OSError as exc:
        out.append(exc)


def test_a_running_hop_is_cut_at_its_deadline():
    a, b = socket.socketpair()
    out: list = []
    with a, b:
        started = time.monotonic()
        with Watch(0.3) as watch:
            Watch.register(_Conn(a))
            _blocked_read(a, out)
        took = time.monotonic() - started
        assert watch.fired
        assert out == [b""]
        assert 0.25 < took < 10


def test_a_finished_hop_is_never_cut_later():
    """A kept-alive connection goes on to serve other hops: a deadline must not reach it after its
    own hop ended."""
    a, b = socket.socketpair()
    with a, b:
        with Watch(0.2) as watch:
            Watch.register(_Conn(a))
        time.sleep(0.6)
        assert not watch.fired
        b.sendall(b"still open")
        a.settimeout(5)
        assert a.recv(10) == b"still open"


def test_an_earlier_deadline_is_not_kept_waiting_by_a_later_one():
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    slow_out: list = []
    started = threading.Event()

    def slow_hop():
        with Watch(30):
            Watch.register(_Conn(c))
            started.set()
            _blocked_read(c, slow_out)

    with a, b, c, d:
        slow = threading.Thread(target=slow_hop, daemon=True)
        slow.start()
        assert started.wait(5)
        out: list = []
        begun = time.monotonic()
        with Watch(0.3) as watch:
            Watch.register(_Conn(a))
            _blocked_read(a, out)
        assert watch.fired and out == [b""]
        assert time.monotonic() - begun < 10  # not the 30 s of the hop that started first
        d.sendall(b"x")  # the slow hop is still running, not cut
        slow.join(5)
        assert slow_out == [b"x"]


def test_finished_deadlines_do_not_pile_up():
    for _ in range(5000):
        with Watch(60):
            pass
    dog = watchdog._watchdog()
    assert dog.pending() == 0
    assert len(dog._heap) <= 2 * watchdog._COMPACT_FROM


def test_hops_start_no_thread_each(site, monkeypatch):
    """Every hop's deadline is kept by one thread for the process, not a timer thread a hop."""
    site.add("/r", redirect("/l?gspk=" + GSPK))
    site.add("/l", Page(LANDING))
    pol = NetPolicy(timeout=2, allow_private=True)
    follow(site.url("/r"), pol)  # the shared thread exists from here on
    me = threading.current_thread()
    started: list[str] = []
    real_start = threading.Thread.start

    def counting_start(self):
        if threading.current_thread() is me:
            started.append(self.name)
        return real_start(self)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    session = net.kept_session(pol)
    for _ in range(10):
        assert follow(site.url("/r"), pol, session=session).result.ran
    assert started == []


# -- a kept-alive session ----------------------------------------------------------------------

class KeepAliveServer:
    """A raw HTTP/1.1 server on 127.0.0.1 that keeps connections open and counts them.
    ``answers(nth_on_its_connection, nth_in_all)`` (1-based) says whether a request is answered; if
    not, the connection is closed unanswered once the request is read (as a server closing an idle
    kept-alive connection just as it is reused)."""

    def __init__(self, answers=lambda on_connection, in_all: True, seconds: float = 30.0):
        self.connections = 0
        self.requests: list[str] = []
        self.answers = answers
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.server.settimeout(seconds)
        self.port = self.server.getsockname()[1]
        self.end = time.monotonic() + seconds
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        with self.server:
            while time.monotonic() < self.end:
                try:
                    conn, _ = self.server.accept()
                except OSError:
                    return
                self.connections += 1
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            buffered = b""
            served = 0
            while time.monotonic() < self.end:
                try:
                    while b"\r\n\r\n" not in buffered:
                        data = conn.recv(4096)
                        if not data:
                            return
                        buffered += data
                except OSError:
                    return
                head, _, buffered = buffered.partition(b"\r\n\r\n")
                self.requests.append(head.split(b" ")[1].decode())
                served += 1
                if not self.answers(served, len(self.requests)):
                    return  # closed unanswered
                body = LANDING.encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))

    def close(self) -> None:
        self.end = 0
        self.server.close()


@pytest.fixture
def keep_alive():
    servers: list[KeepAliveServer] = []

    def start(**kwargs) -> KeepAliveServer:
        servers.append(KeepAliveServer(**kwargs))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def _in_a_new_thread(fn):
    """fn() in a thread of its own: a kept session belongs to its thread, so each test starts fresh."""
    out: list = []
    worker = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    worker.start()
    worker.join(60)
    assert out, "still running after 60 s"
    return out[0]


def test_a_kept_session_reuses_its_connection_from_link_to_link(keep_alive):
    server = keep_alive()
    pol = NetPolicy(timeout=2, allow_private=True)

    def five_links():
        session = net.kept_session(pol)
        return [follow(server.url(f"/l{i}?gspk={GSPK}"), pol, session=session).result for i in range(5)]

    results = _in_a_new_thread(five_links)
    assert [r.evidence.hops[-1].status_code for r in results] == [200] * 5
    assert server.connections == 1
    # without a kept session, each link has connections of its own
    for i in range(3):
        follow(server.url(f"/own{i}"), pol)
    assert server.connections == 4


def test_the_threads_of_a_process_share_their_connections(keep_alive):
    """Four threads check links on one host, two requests at a time (a sweep's per-host slots): the
    host sees no more connections than were in use at once, not one a thread."""
    server = keep_alive()
    pol = NetPolicy(timeout=2.5, allow_private=True)  # a policy of its own: its pools are new
    slots = threading.BoundedSemaphore(2)
    results: list = []

    def links(thread: int) -> None:
        session = net.kept_session(pol)
        for i in range(6):
            with slots:
                results.append(follow(server.url(f"/t{thread}/{i}"), pol, session=session).result)

    workers = [threading.Thread(target=links, args=(t,), daemon=True) for t in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [r.evidence.hops[-1].status_code for r in results] == [200] * 24
    assert 1 <= server.connections <= 2


def test_a_kept_connection_closed_as_it_is_reused_is_not_the_links_fault(keep_alive):
    server = keep_alive(answers=lambda on_connection, in_all: on_connection != 2)
    pol = NetPolicy(timeout=2, allow_private=True)

    def two_links():
        session = net.kept_session(pol)
        return [follow(server.url(f"/l{i}?gspk={GSPK}"), pol, session=session).result for i in range(2)]

    first, second = _in_a_new_thread(two_links)
    assert first.codes() == second.codes() == ["no-click-id"]
    assert second.evidence.hops[-1].status_code == 200
    # the second link's request: on the kept connection (dropped), then once more on a new one
    assert server.requests == ["/l0?gspk=" + GSPK, "/l1?gspk=" + GSPK, "/l1?gspk=" + GSPK]
    assert server.connections == 2


def test_a_host_that_drops_the_retry_too_is_a_connection_error(keep_alive):
    server = keep_alive(answers=lambda on_connection, in_all: in_all == 1)
    pol = NetPolicy(timeout=2, allow_private=True)

    def two_links():
        session = net.kept_session(pol)
        return [follow(server.url(f"/l{i}"), pol, session=session).result for i in range(2)]

    first, second = _in_a_new_thread(two_links)
    assert first.evidence.hops[-1].status_code == 200
    assert second.codes() == ["connection-error"]
    assert len(server.requests) == 3  # tried once more, not again and again
    # a link of its own (no kept connection) is not tried twice
    assert follow(server.url("/own"), pol).result.codes() == ["connection-error"]
    assert len(server.requests) == 4


def test_links_never_share_cookies(site):
    seen: dict[str, str | None] = {}

    def record(name):
        def route(request):
            seen[name] = request.headers.get("cookie")
            return Page(LANDING)
        return route

    site.add("/set", Page(b"", 302, "text/plain", (("Location", "/landing?gspk=" + GSPK),
                                                    ("Set-Cookie", "visitor=jane; Path=/"))))
    site.add("/landing", record("landing"))
    site.add("/other", record("other"))
    pol = NetPolicy(timeout=2, allow_private=True)

    def two_links():
        session = net.kept_session(pol)
        follow(site.url("/set"), pol, session=session)
        follow(site.url("/other"), pol, session=session)
        return len(session.cookies)

    assert _in_a_new_thread(two_links) == 0
    assert seen == {"landing": "visitor=jane", "other": None}  # kept within a chain, never across links


def test_every_new_connection_of_a_kept_session_is_judged(monkeypatch):
    """DNS rebinding with kept connections: the pre-check is fooled (every name public), 127.0.0.1
    counts as public and 127.0.0.2 does not. A link on .1 that redirects to .2 is refused at the hop
    that connects to .2, every time, while the connection to .1 is reused."""
    real = policy.is_public_address
    monkeypatch.setattr(policy, "check_host", lambda host, port, allow: ["93.184.216.34"])
    monkeypatch.setattr(policy, "is_public_address", lambda a: a == "127.0.0.1" or real(a))
    with LocalSite() as one, LocalSite(host="127.0.0.2") as two:
        one.add("/r", redirect(two.url("/l?gspk=" + GSPK)))
        one.add("/l", Page(LANDING))
        two.add("/l", Page(LANDING))
        pol = NetPolicy(timeout=2)

        def links():
            session = net.kept_session(pol)
            return [follow(one.url(path), pol, session=session).result
                    for path in ("/l", "/r", "/l", "/r", "/r")]

        results = _in_a_new_thread(links)
        assert [r.codes()[:1] for r in results] == [["no-partner-key"], ["private-network"],
                                                    ["no-partner-key"], ["private-network"], ["private-network"]]
        assert [len(r.evidence.hops) for r in results] == [1, 2, 1, 2, 2]
        assert two.hits == []
        assert one.hits == ["/l", "/r", "/l", "/r", "/r"]


def test_kept_sessions_are_per_thread_and_per_policy():
    strict, loose = NetPolicy(timeout=2), NetPolicy(timeout=2, allow_private=True)
    assert net.kept_session(strict) is net.kept_session(strict)
    assert net.kept_session(strict) is not net.kept_session(loose)
    assert _in_a_new_thread(lambda: net.kept_session(strict)) is not net.kept_session(strict)


def test_an_address_written_as_one_is_not_looked_up(monkeypatch):
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def recording(host, *args, **kwargs):
        looked_up.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    assert policy.resolve("127.0.0.1", 80) == ["127.0.0.1"]
    assert policy.resolve("2001:db8::1", None) == ["2001:db8::1"]
    assert looked_up == []
    # written otherwise (inet_aton's forms, a long IPv6 form, a name): what the resolver answers
    assert policy.resolve("127.1", 80) == ["127.0.0.1"]
    assert policy.resolve("0:0::1", 80) == ["::1"]
    assert policy.resolve("localhost", 80)
    assert looked_up == ["127.1", "0:0::1", "localhost"]


def _endless_redirect(location: str, seconds: float = 15.0) -> tuple[socket.socket, int]:
    """A raw server whose every answer is a redirect to ``location`` followed by a body that never
    ends (chunks for at most ``seconds``); it stops by itself."""
    head = b"HTTP/1.1 302 Found\r\nLocation: " + location.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    return raw_server(head, lambda: b"4000\r\n" + b"x" * 0x4000 + b"\r\n", seconds)


def test_a_redirect_whose_body_never_ends_is_read_to_the_byte_cap_and_followed(site):
    site.add("/l", Page(LANDING))
    server, port = _endless_redirect(site.url("/l?gspk=" + GSPK))
    try:
        started = time.monotonic()
        outcome = follow(f"http://127.0.0.1:{port}/", NetPolicy(timeout=5, allow_private=True, max_bytes=100_000))
        assert [h.status_code for h in outcome.result.evidence.hops] == [302, 200]
        assert time.monotonic() - started < 5  # not read until the hop's deadline (10 s)
    finally:
        server.close()
