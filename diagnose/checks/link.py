"""Check: follow a referral link hop by hop, as an incognito browser would, without a browser.

Each hop is requested by hand (no automatic redirects), so that every redirect - HTTP 3xx,
``Refresh`` header, ``<meta http-equiv=refresh>`` or a bare JavaScript ``location`` assignment -
is recorded with its status, kind and time, and the partner parameters are tracked along the way.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from diagnose.web import fetch as net
from diagnose.core.evidence import CheckResult, Problem, error, evidence, fail, sensitive, warn
from diagnose.core.partnerstack import (
    PARTNERSTACK, decode_partner_key, disagreement, is_test_partner, partner_params, query_params,
)



@dataclass(frozen=True)
class Hop:
    url: str
    status_code: int | None
    kind: str  # how this response sent the browser on; "final" for the landing page
    elapsed_ms: int
    location: str | None = None  # the next URL, for redirects
    params: dict[str, str] = field(default_factory=dict)  # partner parameters in this hop's URL


@evidence("link")
@dataclass(frozen=True)
class LinkEvidence:
    input_url: str
    final_url: str | None = None
    hops: tuple[Hop, ...] = ()
    params: dict[str, str] = field(default_factory=dict)  # at the final URL
    partner_key: str | None = sensitive("partner", default=None)  # decoded; from the final URL, else where it was last seen
    click_id: str | None = None
    dropped_params: tuple[str, ...] = ()
    dropped_at_hop: int | None = None  # 1-based hop whose redirect lost them
    completed: bool = False  # the chain reached a page that does not redirect further
    final_content_type: str | None = None


@dataclass(frozen=True)
class FollowOutcome:
    """Everything :func:`follow` learnt, including the landing page's body for other checks."""

    result: CheckResult[LinkEvidence]
    final_page: net.Fetched | None


# Pages and headers are hostile: every pattern here is linear (no two quantifiers can share a
# character) and reads a bounded text. The refresh value's head is a pattern; its tail is cut by hand.
# The delay as HTML's "shared declarative refresh steps" read it: ASCII white space, then digits and dots
# (at least one); then the end, or ';', ',' or white space. Anything else ("-1;url=/x", "1e400;url=/x",
# "url=/x" with no delay at all): browsers ignore the whole value, so no redirect.
_REFRESH_TIME_RE = re.compile(r"[\t\n\f\r ]*[0-9.]+")
_REFRESH_SEP_RE = re.compile(r"[\t\n\f\r ]*[;,]?")
_REFRESH_URL_RE = re.compile(r"[\t\n\f\r ]*(?:url[\t\n\f\r ]*=[\t\n\f\r ]*)?", re.IGNORECASE)
_MAX_REFRESH = 8192  # a Refresh value or meta content longer than this is not read further
_JS_TARGET = r"""(?P<q>['"`])(?P<url>(?:\\.|(?!(?P=q))[^\\]){1,2000})(?P=q)"""
# '/landing' + location.search (+ location.hash): the common way to keep the query string.
_JS_KEEP = r"""(?P<keep>(?:\s*\+\s*(?:(?:window|document)\s*\.\s*)?location\s*\.\s*(?:search|hash))*)"""
_JS_LOCATION = r"(?<![\w$.])(?:(?:window|document|top|self|parent)\s*\.\s*)?location"
_JS_REDIRECT_RES = (
    re.compile(_JS_LOCATION + r"(?:\s*\.\s*href)?\s*=(?!=)\s*" + _JS_TARGET + _JS_KEEP),
    re.compile(_JS_LOCATION + r"\s*\.\s*(?:replace|assign)\s*\(\s*" + _JS_TARGET + _JS_KEEP + r"\s*\)"),
)


def _refresh_target(content: str) -> str | None:
    """The URL of a Refresh header or meta refresh: ``5; url='/next'``, ``0;URL=/next``, ``0 /next``;
    None when there is none, or when the delay is not one a browser reads (then it ignores the value)."""
    text = (content or "")[:_MAX_REFRESH]
    time = _REFRESH_TIME_RE.match(text)
    if time is None:
        return None
    at = time.end()
    if at < len(text) and text[at] not in ";,\t\n\f\r ":
        return None
    at = _REFRESH_SEP_RE.match(text, at).end()
    rest = text[_REFRESH_URL_RE.match(text, at).end():].rstrip()
    if rest.endswith(";"):
        rest = rest[:-1].rstrip()
    if len(rest) >= 2 and rest[0] in "'\"" and rest[-1] == rest[0]:
        rest = rest[1:-1]
    return rest.strip() or None


def _js_unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: m.group(1), value)


def find_client_redirect(page: net.Fetched) -> tuple[str, str] | None:
    """A meta refresh, or a JS location assignment on an otherwise empty page: (kind, target)."""
    if page.content_type not in ("text/html", "application/xhtml+xml", "") or not page.body:
        return None
    text = page.text()
    if "location" not in text and not _may_refresh(text):
        return None  # nothing on the page can send the browser on: it need not be parsed
    return _client_redirect(page)


def _may_refresh(text: str) -> bool:
    """Can the page hold a <meta http-equiv=refresh>? Its tag is written "<meta" in any case, and the
    word "refresh" too, unless numeric character references spell it (no named one spells it)."""
    low = text.lower()
    return "<meta" in low and ("refresh" in low or "&#" in text)


def _client_redirect(page: net.Fetched) -> tuple[str, str] | None:
    soup = page.tree()  # parsed once for every reader of the page: read, never changed
    for meta in soup.find_all("meta"):
        if meta.find_parent("noscript") is not None:
            continue  # only for browsers without JavaScript: a customer's browser ignores it
        if str(meta.get("http-equiv", "")).strip().lower() == "refresh":
            target = _refresh_target(str(meta.get("content", "")))
            if target:
                return "meta-refresh", target
    scripts = [s.get_text() for s in soup.find_all("script") if not s.get("src")]
    visible = " ".join(" ".join(visible_strings(soup)).split())
    if len(visible) > 200:  # a real page, not a redirect stub
        return None
    for code in scripts:
        for pattern in _JS_REDIRECT_RES:
            match = pattern.search(code)
            if match and "${" not in match.group("url"):
                target = _js_unescape(match.group("url")).strip()
                return "javascript", _keep_query(target, page.url, match.group("keep"))
    return None


_HIDDEN = frozenset(("script", "style", "noscript", "template"))


def visible_strings(soup) -> list[str]:
    """The strings ``soup.get_text()`` gives once every script, style, noscript and template element
    is removed, without removing them (the tree is shared). A walk with a stack of its own: a page
    may nest elements deeper than Python's recursion limit."""
    from bs4 import CData, NavigableString, Tag

    kinds = getattr(soup, "interesting_string_types", None)  # what get_text() reads (bs4 decides)
    if kinds is None:
        kinds = getattr(soup, "MAIN_CONTENT_STRING_TYPES", None) or (NavigableString, CData)
    kinds = kinds if isinstance(kinds, tuple | frozenset | set | list) else (kinds,)
    found: list[str] = []
    stack = [iter(soup.contents)]
    while stack:
        for node in stack[-1]:
            if isinstance(node, Tag):
                if node.name not in _HIDDEN:
                    stack.append(iter(node.contents))
                    break
            elif type(node) in kinds:
                found.append(str(node))
        else:
            stack.pop()
    return found


def _keep_query(target: str, current: str, keep: str) -> str:
    """Append the current page's query (and fragment) where the script concatenates them."""
    parts = urlsplit(current)
    if "search" in keep and parts.query:
        target += ("&" if "?" in target else "?") + parts.query
    if "hash" in keep and parts.fragment:
        target += "#" + parts.fragment
    return target


def _next_hop(page: net.Fetched) -> tuple[str, str] | None:
    if 300 <= page.status_code < 400 and "location" in page.headers:
        return "http", page.headers["location"].strip()
    if "refresh" in page.headers:
        target = _refresh_target(page.headers["refresh"])
        if target:
            return "refresh-header", target
    if 200 <= page.status_code < 300:
        return find_client_redirect(page)
    return None


def follow(url: str, policy: net.NetPolicy | None = None,
           gate: Callable[[str], contextlib.AbstractContextManager] | None = None,
           session=None) -> FollowOutcome:
    """Follow ``url`` to its landing page. ``url`` must already be a valid http(s) URL. ``gate(host)``,
    when given, is held around each request to ``host`` (a sweep's per-host concurrency cap).
    ``session`` (net.kept_session's) keeps its connections for the next link; its cookies are
    cleared before and after, as an incognito window's would be. Without it, a session of its own."""
    policy = policy or net.NetPolicy()
    kept = session is not None
    if not kept:
        session = net.make_session(policy)
    session.cookies.clear()
    problems: list[Problem] = []
    hops: list[Hop] = []
    seen: set[tuple[str, tuple]] = set()
    current = url
    final_page: net.Fetched | None = None
    completed = False
    try:
        while True:
            state = (current, tuple(sorted((c.name, c.value) for c in session.cookies)))
            if state in seen:
                problems.append(
                    fail("redirect-loop", f"the chain comes back to {current} and would loop forever")
                )
                break
            seen.add(state)
            if len(hops) > policy.max_redirects:
                problems.append(
                    fail(
                        "too-many-redirects",
                        f"more than {policy.max_redirects} redirects; stopped at {current}",
                    )
                )
                break
            params = partner_params(current)
            try:
                with gate(urlsplit(current).hostname or "") if gate else contextlib.nullcontext():
                    page = net.fetch(session, current, policy)
            except net.PrivateAddress as exc:
                hops.append(Hop(current, None, "error", 0, None, params))
                problems.append(fail("private-network", exc.refusal))
                break
            except net.FetchTimeout as exc:
                hops.append(Hop(current, None, "error", int(policy.timeout * 1000), None, params))
                problems.append(error("timeout", str(exc)))
                break
            except net.InvalidRedirect as exc:
                hops.append(Hop(current, None, "error", 0, None, params))
                problems.append(fail("invalid-url", str(exc)))
                break
            except (net.FetchConnectionError, net.ResolveError) as exc:
                hops.append(Hop(current, None, "error", 0, None, params))
                problems.append(error("connection-error", str(exc)))
                break
            nxt = _next_hop(page)
            if nxt is None:
                hops.append(Hop(current, page.status_code, "final", page.elapsed_ms, None, params))
                final_page = page
                completed = True
                if page.truncated:
                    problems.append(
                        warn(
                            "body-truncated",
                            f"the landing page is larger than {policy.max_bytes} bytes; "
                            "only the first part was read",
                        )
                    )
                break
            kind, target = nxt
            try:
                absolute = urljoin(current, target)
            except ValueError as exc:  # e.g. "http://[::1" - not even parseable
                absolute, reason = target, str(exc)
            else:
                reason = net.url_problem(absolute)
            hops.append(Hop(current, page.status_code, kind, page.elapsed_ms, absolute, params))
            if reason:
                problems.append(
                    fail("invalid-url", f"hop {len(hops)} redirects to {target[:200]!r}: {reason}")
                )
                break
            current = absolute
    finally:
        if kept:
            session.cookies.clear()
        else:
            session.close()
    final_url = hops[-1].url if hops else url
    evidence_ = _summarise(url, final_url, hops, completed, final_page, problems)
    return FollowOutcome(CheckResult("link", evidence_, tuple(problems)), final_page)


def _summarise(
    input_url: str,
    final_url: str,
    hops: list[Hop],
    completed: bool,
    final_page: net.Fetched | None,
    problems: list[Problem],
) -> LinkEvidence:
    final_params = partner_params(final_url)
    key_params = PARTNERSTACK.partner_key_params
    click_params = PARTNERSTACK.click_id_params

    # Which parameters appeared somewhere and were gone at the end, and which hop lost them.
    dropped: list[str] = []
    dropped_at: int | None = None
    for name in PARTNERSTACK.params:
        if name in final_params:
            continue
        carriers = [i for i, h in enumerate(hops) if name in h.params]
        if carriers:
            dropped.append(name)
            last = carriers[-1]
            dropped_at = last + 1 if dropped_at is None else min(dropped_at, last + 1)
    if dropped and completed:
        hop = hops[dropped_at - 1]
        problems.append(
            fail(
                "params-dropped",
                f"hop {dropped_at} ({hop.kind} {hop.status_code or ''}) sent the browser to "
                f"{hop.location or final_url} without {', '.join(dropped)}",
            )
        )

    # The partner key: at the final URL, else the last place it was seen (for the rules).
    encoded = next((final_params[p] for p in key_params if p in final_params), None)
    if encoded is None:
        for hop in reversed(hops):
            encoded = next((hop.params[p] for p in key_params if p in hop.params), None)
            if encoded is not None:
                break
    partner_key, reason = decode_partner_key(encoded) if encoded is not None else (None, None)
    click_id = next((final_params[p] for p in click_params if p in final_params), None)

    if completed:
        status = hops[-1].status_code or 0
        if status >= 400:
            problems.append(fail("http-error", f"the landing page answered HTTP {status}"))
        elif 300 <= status < 400:
            problems.append(fail("http-error", f"the chain ends in HTTP {status} with nowhere to go (no Location)"))
        if not any(p in final_params for p in key_params):
            if not dropped:
                problems.append(
                    fail(
                        "no-partner-key",
                        "the landing URL carries neither gspk nor ps_partner_key: "
                        "the snippet has no partner to remember",
                    )
                )
        if reason:
            problems.append(fail("invalid-gspk", f"the partner key {encoded[:80]!r}: {reason}"))
        if is_test_partner(partner_key):
            problems.append(warn("test-partner", "the link carries the program's test partner (gstest): "
                                                 "signups through it credit no real partner"))
        given = query_params(final_url)  # every value: gspk=a&gspk=b names two partners
        for family in (key_params, click_params):
            shown = disagreement({p: given[p] for p in family if p in given})
            if shown:
                problems.append(fail("params-disagree", f"the landing URL disagrees with itself: {shown}"))
        if final_params and not any(p in final_params for p in click_params) and not dropped:
            problems.append(warn("no-click-id", "the landing URL has a partner key but no gsxid / ps_xid click id"))
    return LinkEvidence(
        input_url=input_url,
        final_url=final_url,
        hops=tuple(hops),
        params=final_params,
        partner_key=partner_key,
        click_id=click_id,
        dropped_params=tuple(dropped),
        dropped_at_hop=dropped_at if dropped else None,
        completed=completed,
        final_content_type=final_page.content_type if final_page else None,
    )


def check_link(url: str, policy: net.NetPolicy | None = None) -> CheckResult[LinkEvidence]:
    return follow(url, policy).result
