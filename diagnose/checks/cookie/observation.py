"""What one visit saw: the raw readings the visit fills in (the recorder, what cookie_collect.js read,
the context's cookies, the server's HTML) and what follows from them, each derived once on first
use (the chain, the URL's partner key, the partner cookie, growsumo, the snippet, consent managers,
the signup page). The findings (assess.py) and the evidence are read off one Observation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import unquote, urlsplit

from diagnose.checks.cookie.consent import consent_managers
from diagnose.checks.cookie.itp import effective_days, itp_cap
from diagnose.checks.cookie.model import (
    MAX_LIST, ConsentManager, Cookie, CookieEvidence, Growsumo, Hop, InitCall, PartnerCookie, Signup,
    SnippetSeen,
)
from diagnose.checks.cookie.recorder import Recorder, chain_of
from diagnose.checks.cookie.rfc6265 import readable_at
from diagnose.core.partnerstack import (
    KNOWN_SCRIPT_HOSTS, PARTNERSTACK, decode_partner_key, key_along_chain, partner_params,
)


@dataclass
class Observation:
    """One visit's readings (filled in by the visit as it goes) and what follows from them."""

    base: dict[str, Any]  # url, policy, simulated, note, browser: the fields every result carries
    rec: Recorder
    expect_key: str | None = None
    signup_url: str | None = None
    state: dict[str, Any] = field(default_factory=dict)  # what cookie_collect.js read from the page
    cookies_raw: list[dict[str, Any]] = field(default_factory=list)  # the context's cookies
    signup_cookies: list[dict[str, Any]] | None = None  # the ones Chromium would send to signup_url
    static_html: str | None = None  # the server's HTML of the final page
    page_url: str | None = None  # where the page was once settled
    settled: bool = False
    screenshot: str | None = None
    har: str | None = None
    elapsed_ms: int = 0

    @property
    def policy(self) -> str:
        return self.base["policy"]

    @property
    def simulated(self) -> bool:
        return self.base["simulated"]

    # -- where the visit went --
    @cached_property
    def chain(self) -> list[Hop]:
        return chain_of(self.rec)

    @cached_property
    def final_url(self) -> str:
        return self.page_url or (self.chain[-1].url if self.chain else self.base["url"])

    @cached_property
    def _url_key(self) -> tuple[str | None, str | None]:
        key, reason = _url_partner_key(self.chain, self.final_url)
        if not key and not reason:
            key, reason = _url_partner_key([Hop(self.base["url"], None, "start")], None)
        return key, reason

    @property
    def url_key(self) -> str | None:
        """The partner key the URLs along the way carry (gspk / ps_partner_key, decoded)."""
        return self._url_key[0]

    @property
    def url_key_error(self) -> str | None:
        return self._url_key[1]

    # -- cookies --
    @cached_property
    def cookies(self) -> tuple[Cookie, ...]:
        now = time.time()
        writes = set(self.state.get("writes") or [])
        return tuple(
            Cookie(
                name=c["name"], value=c["value"][:500], domain=c["domain"], path=c["path"],
                expires_days=_days(c.get("expires"), now), http_only=bool(c.get("httpOnly")),
                secure=bool(c.get("secure")), same_site=str(c.get("sameSite") or "Lax"),
                written_by_script=c["name"] in writes,
            )
            for c in self.cookies_raw
        )

    @cached_property
    def itp(self) -> tuple[float | None, str | None]:
        """The safari-itp simulation's cap (days) and why; (None, None) under the other policies."""
        if not self.simulated:
            return None, None
        return itp_cap(self.chain or [Hop(self.final_url, None, "start")], self.final_url)

    @property
    def writes_blocked(self) -> tuple[str, ...]:
        """Every cookie the page tried to write under no-cookies, in order (repeats included)."""
        return tuple(self.state.get("blocked") or [])

    @cached_property
    def partner(self) -> PartnerCookie | None:
        """The partner cookie: one readable at the landing page (or set on its host) first, then by name."""
        final_host = (urlsplit(self.final_url).hostname or "").lower()
        candidates = [c for c in self.cookies if PARTNERSTACK.is_partner_cookie(c.name)]
        order = {n: i for i, n in enumerate(PARTNERSTACK.partner_cookie_names)}
        candidates.sort(key=lambda c: (
            not readable_at(c, self.final_url)[0] and c.domain.lstrip(".") != final_host,
            order.get(c.name, len(order)),
        ))
        if not candidates:
            return None
        c = candidates[0]
        effective = c.expires_days
        cap_days = self.itp[0]
        if cap_days is not None and (c.written_by_script or c.name not in self.rec.http_cookie_names):
            effective = effective_days(effective, cap_days)
        return PartnerCookie(
            name=c.name, value=c.value, domain=c.domain, path=c.path, expires_days=c.expires_days,
            same_site=c.same_site, secure=c.secure, http_only=c.http_only,
            matches_url_key=None if not self.url_key else self.url_key in _cookie_key(c.value),
            effective_days=effective, simulated=self.simulated,
        )

    # -- PartnerStackJS --
    @cached_property
    def init_calls(self) -> tuple[InitCall, ...]:
        return tuple(InitCall(i.get("object") or "growsumo", i.get("key"), i.get("from"))
                     for i in self.state.get("inits") or [])

    @cached_property
    def growsumo(self) -> Growsumo:
        state, calls = self.state, self.init_calls
        data_key = state.get("data_partner_key")
        return Growsumo(
            loaded=bool(state.get("has_initialize")) or bool(calls),
            global_name=state.get("global_name"),
            initialize_called=bool(calls),
            public_key=calls[0].public_key if calls else None,
            data_partner_key=data_key,
            data_partner_key_after_init=next((i.get("data_partner_key_after") for i in reversed(state.get("inits") or [])
                                              if i.get("data_partner_key_after")), None),
            data_intact=None if not self.url_key or not calls else data_key == self.url_key,
            replaced_by=tuple(
                f"{r.get('what')} replaced{' (keeps partner_key)' if r.get('keeps_partner_key') else ''}"
                f" by {r.get('from') or 'page code'}"
                for r in (state.get("replaced") or [])
            ),
        )

    @cached_property
    def snippet(self) -> SnippetSeen:
        """The snippet in the rendered DOM, and whether the server's HTML already had it."""
        snippets = self.state.get("snippets") or []
        calls, requested = self.init_calls, self.rec.snippet_requests
        injected_by = next((i.get("from") for i in (self.state.get("injected_by") or []) if i.get("from")), None)
        primary = next((s for s in snippets if s.get("kind") == "inline"), snippets[0] if snippets else None)
        if primary is not None or calls or requested:
            how = "static" if _in_static_html(self.static_html, self.final_url) else "injected"
        else:
            how = None
        return SnippetSeen(
            in_dom=bool(snippets),
            how=how,
            kind=primary.get("kind") if primary else None,
            script_src=next((s.get("src") for s in snippets if s.get("src")), None) or next(iter(requested), None),
            script_type=primary.get("type") if primary else None,
            in_head=primary.get("in_head") if primary else None,
            injected_by=None if how == "static" else (injected_by or (calls[0].called_from if calls else None)),
        )

    @cached_property
    def consent(self) -> tuple[ConsentManager, ...]:
        hosts = self.rec.script_hosts + [urlsplit(s).hostname or "" for s in self.state.get("script_srcs") or []]
        return tuple(consent_managers(hosts, self.state.get("globals") or []))

    @cached_property
    def signup(self) -> Signup | None:
        """Would the signup page get the partner cookie, readable by its scripts?"""
        if not self.signup_url:
            return None
        partner = self.partner
        if partner is None:
            return Signup(self.signup_url, False, "there is no partner cookie to send")
        ok, reason = readable_at(partner, self.signup_url)
        if self.signup_cookies is not None:
            sent = any(sc["name"] == partner.name and sc["domain"] == partner.domain for sc in self.signup_cookies)
            if ok and not sent:
                ok, reason = False, f"Chromium would not send {partner.name} to {self.signup_url}"
        return Signup(self.signup_url, ok, reason)

    def evidence(self) -> CookieEvidence:
        cap_days, cap_reason = self.itp
        return CookieEvidence(
            **self.base,
            final_url=self.final_url,
            page_title=self.state.get("title"),
            chain=tuple(self.chain),
            url_partner_key=self.url_key,
            url_partner_key_error=self.url_key_error,
            partner_cookie=self.partner,
            cookies=self.cookies[:MAX_LIST],
            cookie_writes_blocked=tuple(dict.fromkeys(self.writes_blocked))[:MAX_LIST],
            itp_cap_days=cap_days,
            itp_cap_reason=cap_reason,
            growsumo=self.growsumo,
            init_calls=self.init_calls,
            snippet=self.snippet,
            consent_managers=self.consent,
            partner_cookie_before_consent=(self.partner is not None) if self.consent else None,
            signup=self.signup,
            failed_requests=tuple(self.rec.failed),
            js_errors=tuple(self.rec.js_errors),
            blocked_private=tuple(self.rec.blocked_private),
            settled=self.settled,
            elapsed_ms=self.elapsed_ms,
            screenshot=self.screenshot,
            har=self.har,
        )


def _cookie_key(value: str) -> set[str]:
    """The partner keys a partner cookie's value may stand for (decoded, or base64-encoded)."""
    out = {value, unquote(value)}
    decoded, _ = decode_partner_key(value)
    if decoded:
        out.add(decoded)
    return out


def _days(expires: float | None, now: float) -> float | None:
    if expires is None or expires < 0:
        return None
    return round((expires - now) / 86400, 2)


def _url_partner_key(chain: list[Hop], final_url: str | None) -> tuple[str | None, str | None]:
    url = key_along_chain([h.url for h in chain] + ([final_url] if final_url else []))
    if url is None:
        return None, None
    params = partner_params(url)
    name = next(n for n in PARTNERSTACK.partner_key_params if n in params)
    key, reason = decode_partner_key(params[name])
    return key, (f"{name}={params[name][:80]!r} is {reason}" if reason else None)


def _in_static_html(html: str | None, base_url: str | None) -> bool:
    """Is a PartnerStack snippet in the server's HTML (as opposed to injected at runtime)?"""
    if not html:
        return False
    if "_initialize" not in html and "/pr/js" not in html and not any(h in html for h in KNOWN_SCRIPT_HOSTS):
        return False
    from diagnose.checks.snippet import analyse_html

    ev, _ = analyse_html(html, base_url=base_url)
    return ev.snippet_found and not ev.commented_out
