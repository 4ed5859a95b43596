"""Hostile pages against the browser check (issue 10): the private-network rule in every policy, a
landing refused however the page gets there, and redirect loops.

The trick of test_cookie.py: 127.0.0.2 counts as the public internet, 127.0.0.1 is the private
network. For DNS rebinding, ``rebind.test`` has two answers: the guard's resolver (Python's, which
these tests replace) says 127.0.0.2, while every other resolver says 127.0.0.1 - Chromium's (a
--host-resolver-rules flag) and Node's in the Playwright driver (a preload script that answers
``dns.lookup``), as a rebinding DNS server would answer a second look-up. A public twin and a private
twin listen on the same port of the two addresses, so a connection that did not go through the guard
lands on the private twin, which counts every TCP connection and UDP datagram it gets.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_fixtures import html, snippet
from click.testing import CliRunner

from diagnose.checks.cookie import POLICIES, check_cookie, check_cookie_many
from diagnose.core.partnerstack import encode_partner_key
from diagnose.core.ticket import Ticket
from diagnose.demo.site import LocalSite, Page, redirect, static_text
from diagnose.pipeline.gather import GatherOptions, gather
from diagnose.report.model import build_report, exit_code
from diagnose.web import fetch as net
from diagnose.web import policy
from diagnose.web.browser import BrowserSession
from diagnose.web.guard_proxy import GuardProxy
from diagnose.web.policy import NetPolicy

pytestmark = pytest.mark.browser

PUBLIC, PRIVATE = "127.0.0.2", "127.0.0.1"
NAME = "rebind.test"
KEY = "5c38dddbf7fc"
QUERY = f"?gspk={encode_partner_key(KEY)}"
GUARDED = NetPolicy(timeout=5.0)
OPEN = NetPolicy(timeout=5.0, allow_private=True)

# Node's resolver in the Playwright driver: rebind.test is the private address (and each look-up is logged).
PRELOAD = r"""
const dns = require('dns');
const fs = require('fs');
const NAME = /(^|\.)rebind\.test\.?$/i;
const LOG = process.env.DIAGNOSE_TEST_LOOKUP_LOG;
function seen(host) { if (LOG) fs.appendFileSync(LOG, host + '\n'); }
function opts(o) { return typeof o === 'number' ? { family: o } : (o || {}); }
const lookup = dns.lookup;
dns.lookup = function (host, options, callback) {
  if (typeof options === 'function') { callback = options; options = {}; }
  if (!NAME.test(String(host))) return lookup.call(this, host, options, callback);
  seen(host);
  const o = opts(options);
  process.nextTick(() => o.all ? callback(null, [{ address: '%s', family: 4 }]) : callback(null, '%s', 4));
};
const promised = dns.promises.lookup;
dns.promises.lookup = async function (host, options) {
  if (!NAME.test(String(host))) return promised.call(this, host, options);
  seen(host);
  const o = opts(options);
  const found = o.family === 6 ? [] : [{ address: '%s', family: 4 }];
  return o.all ? found : found[0];
};
""".replace("%s", PRIVATE)


@pytest.fixture(scope="module")
def lying_resolvers(browser_session, tmp_path_factory):
    """A browser whose own resolvers (Chromium's and the Playwright driver's) answer rebind.test with
    the private address; and the file where the driver logs each look-up of it."""
    folder = tmp_path_factory.mktemp("rebind")
    preload, log = folder / "preload.js", folder / "lookups.log"
    preload.write_text(PRELOAD, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:  # the driver reads its environment when it starts
        mp.setenv("NODE_OPTIONS", f'--require "{preload}"')
        mp.setenv("DIAGNOSE_TEST_LOOKUP_LOG", str(log))
        session = BrowserSession(browser_session.executable,
                                 extra_args=(f"--host-resolver-rules=MAP {NAME} {PRIVATE}",)).start()
    try:
        yield session, log
    finally:
        session.close()


def lookups(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.fixture
def guard_dns(monkeypatch):
    """The guard's resolver: rebind.test is the public twin (``flip``: only for its first look-up, the
    private one after, as a rebinding DNS server answers), and 127.0.0.2 counts as public."""
    state = {"flip": False, "calls": 0}

    def resolve(host: str, port: int | None) -> list[str]:
        if host == NAME:
            state["calls"] += 1
            return [PRIVATE if state["flip"] and state["calls"] > 1 else PUBLIC]
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            raise net.ResolveError(f"cannot resolve {host}") from None

    monkeypatch.setattr(policy, "resolve", resolve)
    monkeypatch.setattr(policy, "is_public_address", lambda address: address == PUBLIC)
    return state


@dataclass
class PrivateTwin(LocalSite):
    """The private twin: a site on 127.0.0.1 that counts every TCP connection, and every UDP datagram
    sent to its port (STUN, QUIC)."""

    def start(self) -> PrivateTwin:
        super().start()
        self.accepted, self.datagrams = 0, 0
        accept = self._server.get_request

        def get_request():
            connection = accept()
            self.accepted += 1
            return connection

        self._server.get_request = get_request
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((self.host, self.port))
        self._udp.settimeout(0.1)
        self._stop = threading.Event()
        threading.Thread(target=self._count_datagrams, daemon=True).start()
        return self

    def _count_datagrams(self) -> None:
        while not self._stop.is_set():
            try:
                self._udp.recv(65536)
            except OSError:
                continue
            self.datagrams += 1

    def close(self) -> None:
        self._stop.set()
        self._udp.close()
        super().close()

    @property
    def reached(self) -> tuple[int, int, list[str]]:
        return self.accepted, self.datagrams, self.hits


def serve_landing(site: LocalSite) -> None:
    port = site.port
    probes = f"""<img src="http://{NAME}:{port}/pixel.png"><iframe src="/frame"></iframe>
<script>
fetch('/api').catch(() => 0);
navigator.sendBeacon('/beacon', 'x');
try {{ new WebSocket('ws://{NAME}:{port}/ws') }} catch (e) {{}}
try {{ new EventSource('/events') }} catch (e) {{}}
try {{ new WebTransport('https://{NAME}:{port}/wt').ready.catch(() => 0) }} catch (e) {{}}
try {{
  const servers = ['stun:{NAME}:{port}', 'stun:{PRIVATE}:{port}'].map(u => ({{urls: u}}))
    .concat(['turn:{NAME}:{port}?transport=udp', 'turn:{NAME}:{port}?transport=tcp']
    .map(u => ({{urls: u, username: 'u', credential: 'p'}})));
  const pc = new RTCPeerConnection({{iceServers: servers}});
  pc.createDataChannel('d');
  pc.createOffer().then(o => pc.setLocalDescription(o));
}} catch (e) {{}}
</script>"""
    site.add("/pr/js", Page(static_text("partnerstack.js"), content_type="application/javascript"))
    site.add("/land", Page(html(snippet() + f'<link rel="preconnect" href="http://{NAME}:{port}">', body=probes)))
    site.add("/go", redirect("/land" + QUERY))


@pytest.fixture
def twins():
    """(public twin on 127.0.0.2, private twin on 127.0.0.1), the same port, the same pages."""
    for _ in range(20):
        public = LocalSite(host=PUBLIC).start()
        try:
            private = PrivateTwin(host=PRIVATE, port=public.port).start()
        except OSError:  # that port is taken on 127.0.0.1: another one
            public.close()
            continue
        for site in (public, private):
            serve_landing(site)
        try:
            yield public, private
        finally:
            public.close()
            private.close()
        return
    pytest.skip("no port free on both 127.0.0.1 and 127.0.0.2")


# -- the private-network rule in every policy ------------------------------------------------------


def test_the_lying_resolvers_would_catch_a_bypass(lying_resolvers, guard_dns, twins):
    # without the guard (private networks allowed) the browser and the no-cookies fetcher resolve
    # rebind.test themselves: they reach the private twin. So the test below can see a bypass.
    session, log = lying_resolvers
    public, private = twins
    link = f"http://{NAME}:{public.port}/go"
    for browser_policy in ("chromium", "no-cookies"):
        before = private.accepted
        check_cookie(link, session=session, net_policy=OPEN, browser_policy=browser_policy)
        assert private.accepted > before, browser_policy
    assert NAME in lookups(log)  # the no-cookies fetcher asked Node's resolver
    assert "/go" not in public.hits


@pytest.mark.parametrize("rebinding", [False, True], ids=["guard-only-name", "rebound-after-first-look-up"])
def test_every_policy_reaches_only_what_the_guard_checked(lying_resolvers, guard_dns, twins, rebinding):
    session, log = lying_resolvers
    public, private = twins
    guard_dns["flip"] = rebinding
    log.unlink(missing_ok=True)
    link = f"http://{NAME}:{public.port}/go"
    results = check_cookie_many([link], policies=POLICIES, session=session, net_policy=GUARDED, settle_ms=1000)
    by_policy = {r.evidence.policy: r for r in results}
    assert set(by_policy) == set(POLICIES)
    assert private.reached == (0, 0, [])  # no connection, no datagram, no request reached the private twin
    assert lookups(log) == []  # nothing but the guard resolved the name
    if rebinding:  # the name turned private after the first look-up: refused, whoever asks next
        for r in results:
            assert r.problem("private-network").severity == "fail", (r.evidence.policy, r.problems)
        return
    assert {"/go", "/land" + QUERY, "/pr/js"} <= set(public.hits)
    for name in ("chromium", "safari-itp"):
        assert by_policy[name].evidence.partner_cookie.value == KEY, by_policy[name].problems
    assert by_policy["no-cookies"].has("no-partner-cookie")
    # what the guard refused are the page's attempts at the private address itself (STUN, TURN)
    assert all(PRIVATE in b for r in results for b in r.evidence.blocked_private)


def test_the_guard_connects_to_the_address_it_checked(guard_dns, twins):
    # the name turns private after the guard's look-up: the connection still goes where it was checked
    public, private = twins
    guard_dns["flip"] = True
    with GuardProxy(connect_timeout=5.0) as proxy, socket.create_connection(("127.0.0.1", proxy.port), 5) as sock:
        url = f"http://{NAME}:{public.port}/pr/js"
        sock.sendall(f"GET {url} HTTP/1.1\r\nHost: {NAME}:{public.port}\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and guard_dns["calls"] == 1
    assert public.hits == ["/pr/js"] and private.reached == (0, 0, [])


# -- a landing refused however the page gets there ----------------------------------------------------


@pytest.fixture
def refused_target(monkeypatch, ps_site):
    """(public site, a URL on the private network that carries the partner key) - 127.0.0.2 is public."""
    monkeypatch.setattr(policy, "is_public_address", lambda address: address == PUBLIC)
    ps_site.add("/inside", Page(html(snippet())))
    with LocalSite(host=PUBLIC) as public:
        public.add("/pr/js", Page(static_text("partnerstack.js"), content_type="application/javascript"))
        yield public, ps_site.url("/inside") + QUERY
    assert not any(hit.startswith("/inside") for hit in ps_site.hits)  # nothing reached it


ONCE = "if (window.__went) return 'x'; window.__went = 1;"
REDIRECTS = {
    "http": lambda to: redirect(to),
    "meta": lambda to: Page(html(f'<meta http-equiv="refresh" content="0; url={to}">')),
    "js": lambda to: Page(html(f"<script>location = '{to}'</script>")),
    # the link check cannot see this one: the browser follows it, the static page has no snippet
    "js-hidden": lambda to: Page(html(f"<script>window['loc' + 'ation'] = '{to}'</script>")),
    # the page goes while it is being read (its title getter runs when the check reads the title)
    "js-while-read": lambda to: Page(html("<script>Object.defineProperty(document, 'title', "
                                          f"{{get() {{ {ONCE} location = '{to}'; return 'x' }}}})</script>")),
    "meta-while-read": lambda to: Page(html("<script>Object.defineProperty(document, 'title', "
                                            f"{{get() {{ {ONCE} document.head.insertAdjacentHTML('beforeend', "
                                            f"'<meta http-equiv=\"refresh\" content=\"0; url={to}\">'); "
                                            "return 'x' }})</script>")),
}


@pytest.mark.parametrize("how", REDIRECTS)
def test_a_refused_landing_is_private_network_in_every_policy(browser_session, refused_target, how):
    public, inside = refused_target
    url = public.add(f"/to-inside-{how}", REDIRECTS[how](inside))
    results = check_cookie_many([url], policies=POLICIES, session=browser_session, net_policy=GUARDED)
    for r in results:
        assert r.status == "fail" and r.codes() == ["private-network"], (r.evidence.policy, r.problems)
        assert r.problem("private-network").severity == "fail"
        assert r.evidence.final_url == inside  # where it was refused, not chrome-error:// nor the page before
        assert inside in r.problem("private-network").message


# a page that tries to hide its navigations from the check: every getter the check could read them by
HIDE = ("<script>for (const [c, n] of [[Event, 'defaultPrevented'], [NavigateEvent, 'destination'], "
        "[NavigateEvent, 'downloadRequest'], [NavigationDestination, 'sameDocument'], "
        "[NavigationDestination, 'url']]) Object.defineProperty(c.prototype, n, {get() { return n === "
        "'sameDocument' || n === 'defaultPrevented' || '' }}); String.prototype.slice = () => '';</script>")


@pytest.mark.parametrize("hide", [False, True])
def test_a_landing_begun_while_read_is_waited_for_when_its_request_reaches_us_late(
        monkeypatch, browser_session, refused_target, hide):
    """CI once read the page of "js-while-read" as the landing: the navigation its title getter
    began reached the check (as a request event) only after the reading. Here every event of that
    navigation comes 0.3 s late; the check must still wait for it (the page said it was leaving),
    also when the page redefines what the check reads that by."""
    from diagnose.checks.cookie.recorder import Recorder

    public, inside = refused_target
    page = REDIRECTS["js-while-read"](inside)
    if hide:
        page = Page(page.body.replace("<script>", HIDE + "<script>", 1))
    url = public.add(f"/late-inside-{hide}", page)
    for i, name in enumerate(("on_request", "on_response", "on_finished", "on_failed")):
        def late(self, request, *, _orig=getattr(Recorder, name), _delay=0.3 + i * 0.02):
            if "/inside" in request.url:  # (a response is also named by its url)
                asyncio.get_running_loop().call_later(_delay, _orig, self, request)
            else:
                _orig(self, request)
        late.__name__ = name  # (Playwright keeps one wrapper per handler name)
        monkeypatch.setattr(Recorder, name, late)
    (r,) = check_cookie_many([url], policies=POLICIES[:1], session=browser_session, net_policy=GUARDED)
    assert r.codes() == ["private-network"], r.problems
    assert r.evidence.final_url == inside


def test_a_navigation_that_never_sends_a_request_costs_at_most_one_wait(monkeypatch, browser_session, ps_site):
    """A page whose router takes its own navigation over (Navigation API intercept) never sends the
    request the page said it began: the check waits for it a bounded while, once (settling and the
    reading's check share the wait, LEAVING_S), then reads the page that stayed. (The wait is made
    4 s here, so that once and twice lie far apart whatever the machine's load.)"""
    from diagnose.checks.cookie import browse, page

    monkeypatch.setattr(page, "LEAVING_S", 4.0)
    monkeypatch.setattr(browse, "LEAVING_S", 4.0)
    url = ps_site.add("/router", Page(html(snippet() + "<script>navigation.addEventListener('navigate', "
                                           "(e) => e.intercept()); const t = setInterval(() => { if "
                                           "(document.cookie.includes('growSumoPartnerKey')) { clearInterval(t); "
                                           "location = '/elsewhere' } }, 20)</script>")))
    started = time.monotonic()
    r = check_cookie(url + QUERY, session=browser_session, net_policy=NetPolicy(timeout=10.0, allow_private=True))
    took = time.monotonic() - started
    assert r.evidence.final_url.endswith("/elsewhere") and r.evidence.partner_cookie, r.problems
    assert r.evidence.settled, r.problems
    assert "/elsewhere" not in ps_site.hits  # (the router kept it in the page)
    assert took < 4.0 + 3.0, took  # one 4 s wait, not two, plus the visit itself


def test_a_page_that_stops_its_own_navigation_is_read_within_the_limits(browser_session, ps_site):
    """A trial's page: a script redirect, then window.stop(). The document's body never comes from the
    browser (Response.text() does not return): the check read nothing and ran into its hard deadline
    (25 s for --timeout 10). Now the page is read as it stayed, within --timeout and the reading's bound."""
    url = ps_site.add("/stopped", Page(html("<script>location = '/elsewhere' + location.search; "
                                            "window.stop()</script>")))
    started = time.monotonic()
    r = check_cookie(url + QUERY, session=browser_session, net_policy=NetPolicy(timeout=2.0, allow_private=True))
    took = time.monotonic() - started
    assert r.evidence.final_url == url + QUERY, r.problems  # where the customer stays
    assert "timeout" not in r.codes() and "no-partner-cookie" in r.codes(), r.problems
    assert took < 2.0 + 1.0 + 3.0 + 2.0, took  # --timeout, the settling after it, the reading, slack


@pytest.mark.parametrize("how", REDIRECTS)
def test_a_refused_landing_is_cannot_tell_for_the_ticket(browser_session, refused_target, tmp_path, how):
    public, inside = refused_target
    url = public.add(f"/ticket-to-inside-{how}", REDIRECTS[how](inside)) + QUERY
    ticket = Ticket(link=url, partner_key=KEY, click_browser="Safari", signup_browser="Safari")
    evidence = gather(ticket, GatherOptions(policy=GUARDED, screenshot_dir=tmp_path), session=browser_session)
    report = build_report(ticket, evidence)
    verdicts = {f.id: str(f.verdict) for f in report.diagnosis}
    assert evidence["cookie"].problem("private-network").severity == "fail"
    assert verdicts["case-4"] == verdicts["case-9"] == verdicts["integration-healthy"] == "cannot-tell", verdicts
    assert not report.positive, [(f.id, f.reason) for f in report.positive]
    assert exit_code(report) == 3


def test_a_landing_refused_while_read_is_exit_3_from_the_cli(monkeypatch, refused_target, tmp_path):
    public, inside = refused_target
    monkeypatch.chdir(tmp_path)  # the screenshot goes to reports/
    url = public.add("/cli-to-inside", REDIRECTS["js-while-read"](inside)) + QUERY
    result = CliRunner().invoke(_cli(), ["ticket", "--link", url, "--partner-key", KEY, "--click-browser", "Safari",
                                         "--json", "--timeout", "5"])
    data = json.loads(result.stdout)
    assert result.exit_code == 3, [(f["id"], f["verdict"]) for f in data["diagnosis"]]
    cookie = data["evidence"]["cookie"]
    assert [(p["code"], p["severity"]) for p in cookie["problems"]] == [("private-network", "fail")]
    assert not cookie["final_url"].startswith("chrome-error")


def _cli():
    from diagnose.cli import cli

    return cli


# -- redirect loops, as `diagnose link` says them ---------------------------------------------------------


@pytest.fixture(scope="module")
def loops():
    with LocalSite() as site:
        site.add("/a", redirect("/b"))
        site.add("/b", redirect("/a"))
        counter = iter(range(10_000))
        site.add("/grow", lambda request: redirect(f"/grow?i={next(counter)}"))
        site.add("/js-a", Page(html("<script>location = '/js-b'</script>")))
        site.add("/js-b", Page(html("<script>location = '/js-a'</script>")))
        site.add("/meta", Page(html('<meta http-equiv="refresh" content="0; url=/meta">')))
        site.add("/land", Page(html(snippet())))
        site.add("/js-to-loop", Page(html(snippet() + "<script>setTimeout(() => location = '/a', 50)</script>")))
        site.add("/pr/js", Page(static_text("partnerstack.js"), content_type="application/javascript"))
        yield site


@pytest.mark.parametrize("path,code,comes_back_to", [
    ("/a", "redirect-loop", "/a"),
    ("/grow", "too-many-redirects", None),
    ("/js-a", "redirect-loop", "/js-a"),
    ("/meta", "redirect-loop", "/meta"),
    ("/js-to-loop", "redirect-loop", "/a"),  # a loop after the landing page's script sent it on
])
def test_browser_redirect_loops_are_said_as_link_says_them(browser_session, loops, path, code, comes_back_to):
    from diagnose.checks.link import follow

    results = check_cookie_many([loops.url(path)], policies=("chromium", "no-cookies"), session=browser_session,
                                net_policy=NetPolicy(timeout=3.0, allow_private=True))
    for r in results:
        assert r.codes() == [code] and r.status == "fail", (r.evidence.policy, r.problems)
        if comes_back_to:
            assert r.problem(code).message == f"the chain comes back to {loops.url(comes_back_to)} and would loop forever"
        else:
            assert r.problem(code).message.startswith("more than 20 redirects")
    if path != "/js-to-loop":  # (the link check does not run the landing page's timers)
        assert follow(loops.url(path), NetPolicy(timeout=3.0, allow_private=True)).result.codes() == [code]


@pytest.mark.parametrize("path", ["/js-a", "/meta"])
def test_a_redirect_loop_by_script_is_said_without_waiting_for_the_timeout(browser_session, loops, path):
    """A trial's page pair sending each other on by script at once: 51 visits and --timeout (10 s) before
    redirect-loop was said, as only the missing load event ended the wait."""
    started = time.monotonic()
    (r,) = check_cookie_many([loops.url(path)], session=browser_session,
                             net_policy=NetPolicy(timeout=10.0, allow_private=True))
    assert r.codes() == ["redirect-loop"], r.problems
    assert time.monotonic() - started < 5.0


def test_a_browser_redirect_loop_is_link_broken_not_a_snippet_fault(browser_session, loops, tmp_path):
    ticket = Ticket(link=loops.url("/a"), partner_key=KEY, click_browser="Safari")
    evidence = gather(ticket, GatherOptions(policy=NetPolicy(timeout=3.0, allow_private=True),
                                            screenshot_dir=tmp_path), session=browser_session)
    report = build_report(ticket, evidence)
    verdicts = {f.id: str(f.verdict) for f in report.diagnosis}
    assert evidence["cookie"].codes() == ["redirect-loop"]
    assert verdicts["link-broken"] == "confirmed"
    assert verdicts["case-4"] == verdicts["case-9"] == "cannot-tell", verdicts  # the browser saw no page
    assert exit_code(report) == 1
    r = CliRunner().invoke(_cli(), ["cookie", loops.url("/a"), "--allow-private-network", "--no-screenshot",
                                    "--json", "--timeout", "3"])
    assert r.exit_code == 1 and json.loads(r.stdout)["problems"][0]["code"] == "redirect-loop"


def test_a_page_that_opens_popups_is_checked_without_tracebacks(ps_site, tmp_path):
    # found by a new user: Playwright raised for each popup's navigation request (its frame does not exist
    # yet) inside our request listener, and printed a traceback per popup on stderr
    import subprocess
    import sys

    ps_site.add("/popups", Page(html(snippet() + "<script>for (let i = 0; i < 3; i++) window.open('/popped?' + i)"
                                     "</script>")))
    ps_site.add("/popped", Page(html("<p>popped</p>")))
    done = subprocess.run([sys.executable, "-m", "diagnose", "cookie", ps_site.url("/popups") + QUERY,
                           "--allow-private-network", "--json", "--timeout", "5"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "Error occurred in event listener" not in done.stderr, done.stderr[-2000:]
    assert json.loads(done.stdout)["url_partner_key"] == KEY
