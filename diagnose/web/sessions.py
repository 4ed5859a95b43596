"""The HTTP sessions safe HTTP (web/fetch.py) sends with: ``requests`` sessions whose connections
are watched by the hop's deadline (web/watchdog.py) and, unless private networks are allowed, refuse
a peer that is not public once connected (DNS rebinding); a kept-alive session per thread for a
sweep's workers; and the send of one hop.

``requests`` is imported lazily: ``diagnose --help`` must not pay for it.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlparse

from diagnose.web import policy as policy_module
from diagnose.web.policy import NetPolicy, PrivateAddress
from diagnose.web.watchdog import Watch

if TYPE_CHECKING:  # pragma: no cover
    import requests

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
            self.diagnose_hop = Watch.current()  # connected for this hop
            Watch.register(self)
            return guard(self, super()._new_conn())

        def request(self, *args, **kwargs):  # a kept-alive connection is watched by its new hop too
            watch = Watch.current()
            if watch is not None and getattr(self, "sock", None) is not None \
                    and getattr(self, "diagnose_hop", None) is not watch:
                watch.reused = True  # kept alive from an earlier hop: the server may have closed it since
            self.diagnose_hop = watch
            Watch.register(self)
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


def make_session(policy: NetPolicy, adapter=None) -> requests.Session:
    """A session for ``policy``: its own connections, or ``adapter``'s (shared) ones."""
    import requests

    session = requests.Session()
    # No proxies or .netrc from the environment: the peer check must see the real host.
    session.trust_env = False
    adapter = adapter or _adapter_class(check_peer=not policy.allow_private)(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = policy.user_agent
    session.headers["Accept"] = "text/html,application/xhtml+xml,*/*;q=0.8"
    return session


KEPT_HOSTS = 64  # hosts whose connections a process keeps alive (the least recently used are let go)
KEPT_PER_HOST = 64  # at least --per-host's largest value: no host has more connections in use than that
_kept = threading.local()
_shared: dict[NetPolicy, object] = {}
_shared_lock = threading.Lock()


def kept_session(policy: NetPolicy) -> requests.Session:
    """This thread's kept-alive session for ``policy`` (a sweep's worker checks link after link with
    it). The connections are the process's, shared by the threads' sessions (a pool per host): reused
    from link to link, never more per host than were in use at once (--per-host in a sweep), and each
    new one is still judged by the peer check. The cookies are this thread's, the caller's to clear, so
    that links never share them."""
    sessions = _kept.__dict__.setdefault("sessions", {})
    session = sessions.get(policy)
    if session is None:
        with _shared_lock:
            adapter = _shared.get(policy)
            if adapter is None:
                adapter = _shared[policy] = _adapter_class(check_peer=not policy.allow_private)(
                    pool_connections=KEPT_HOSTS, pool_maxsize=KEPT_PER_HOST, max_retries=0)
        session = sessions[policy] = make_session(policy, adapter)
    return session


def release_kept() -> None:
    """Let go of the connections kept alive (at the end of a sweep: the next one in this process, if any,
    connects anew)."""
    with _shared_lock:
        adapters = list(_shared.values())
    for adapter in adapters:
        adapter.close()  # drops the pools and their idle connections; the adapter opens new ones if used


def _after_fork() -> None:  # a forked worker opens connections of its own
    global _shared_lock
    _shared.clear()
    _shared_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def send(session: requests.Session, url: str, policy: NetPolicy):
    """GET ``url`` with the session, without following a redirect, the body left to stream: what
    ``session.get(url, allow_redirects=False, stream=True)`` does, less what it does for a redirect it
    does not follow (reading the redirect's whole body, unbounded, to prepare a next request it keeps
    unused) and less merging a request's own settings into the session's (there are none). Raises
    what session.get raises, ValueError where requests could not have prepared the redirect."""
    import requests
    from requests.cookies import extract_cookies_to_jar

    prepared = requests.PreparedRequest()
    prepared.prepare(method="GET", url=url, headers=session.headers, cookies=session.cookies.copy(),
                     hooks=requests.hooks.default_hooks())
    adapter = session.get_adapter(prepared.url)
    response = adapter.send(prepared, stream=True, timeout=(policy.timeout, policy.timeout), verify=session.verify,
                            cert=session.cert, proxies={})
    extract_cookies_to_jar(session.cookies, prepared, response.raw)
    try:
        _next_url(session, response, prepared)
    except ValueError:
        response.close()
        raise
    return response


def _next_url(session: requests.Session, response, prepared) -> str | None:
    """The request after a redirect, as requests' resolve_redirects prepares it, as far as it can fail:
    a Location that is not UTF-8, that does not parse, or (with credentials from the link) whose port
    is no port (ValueError, as there)."""
    from requests.utils import requote_uri

    url = session.get_redirect_target(response)
    if not url:
        return None
    if url.startswith("//"):
        url = f"{urlparse(response.url).scheme}:{url}"
    parsed = urlparse(url)
    url = parsed.geturl()
    url = urljoin(response.url, requote_uri(url)) if not parsed.netloc else requote_uri(url)
    if "Authorization" in prepared.headers:
        session.should_strip_auth(prepared.url, url)
    return url
