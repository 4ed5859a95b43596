"""A client of the PartnerStack REST API (v2, vendor side): one requests.Session with Basic auth.

- every request has a timeout; 429 (honouring ``Retry-After``, seconds or an HTTP date, up to
  ``MAX_RETRY_AFTER``), 5xx and connection failures are retried with exponential backoff, at most
  ``max_retries`` times. A 429 holds back every thread of the client (a shared gate), not just the
  one that got it. POSTs are retried only when that cannot apply them twice: after a 429, after a
  connection that was never made, or (``idempotent=True``) always: ``create_transaction`` with a
  ``key`` is idempotent, ``create_customer`` is not;
- answers are ``{"data", "message", "status"}`` envelopes: ``get`` / ``post`` return the data; a body
  that is not JSON or has no ``data`` is an :class:`ApiError` naming the path;
- lists are cursor-paged generators (``limit`` up to 250, ``starting_after`` = the last item's key);
  ``customers_window`` fetches a created-date window in concurrent slices (web/api_window.py);
- every error is one line (web/api_errors.py) and a named exit code; the secret key never appears
  in a message, a repr, a log line or an exception (answers are scrubbed of it before being read);
- the base URL must be http(s); plain http only to this machine (localhost, 127.0.0.0/8, ::1), so
  that the keys never cross a network unencrypted; a redirect is an error, not followed.

``requests`` is imported when a client is made, not when this module is: ``diagnose --help`` stays light.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Self
from urllib.parse import urlsplit

from diagnose.core.errors import BadInput
from diagnose.core.partnerstack import API_BASE, API_DEFAULT_CONCURRENCY, API_PAGE_LIMIT, epoch_ms
from diagnose.web.api_errors import (  # noqa: F401  (the client's errors, importable from here)
    ApiConflict,
    ApiError,
    ApiInvalid,
    ApiNotFound,
    ApiRefused,
    error_for,
    short,
)
from diagnose.web.api_http import (  # noqa: F401  (re-exported: the client's helpers, importable from here)
    MAX_CONCURRENCY,
    check_base_url,
    check_limit,
    is_this_machine,
    next_cursor,
    reason,
    retry_after_seconds,
    segment,
)
from diagnose.web.api_keys import Credentials, load_credentials, scrub  # noqa: F401  (re-exported)

DEFAULT_BASE = API_BASE
DEFAULT_CONCURRENCY = API_DEFAULT_CONCURRENCY
MAX_ANSWER_BYTES = 32 << 20  # an answer bigger than this is refused unread (a full page is ~1 MB)
MAX_RETRY_AFTER = 60.0  # seconds: a longer Retry-After gives up at once, saying how long to wait
MAX_BACKOFF = 30.0
USER_AGENT = "diagnose/0.1 (PartnerStack API client)"
log = logging.getLogger("diagnose.api")


class PartnerStackClient:
    def __init__(self, credentials: Credentials, base_url: str = DEFAULT_BASE, timeout: float = 10.0,
                 max_retries: int = 4, backoff: float = 0.5, session: Any = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 allow_http: bool = False):
        import requests
        from requests.adapters import HTTPAdapter

        if not isinstance(credentials, Credentials):
            raise TypeError("credentials must be a Credentials (see load_credentials)")
        self.credentials = credentials
        self.base_url = check_base_url(base_url, allow_http)
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff = max(0.0, float(backoff))
        self._sleep, self._clock = sleep, clock
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=MAX_CONCURRENCY)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            # The environment's proxies and CA bundle, read once (not on every request), and no
            # ~/.netrc: its password would replace the keys' Authorization header.
            found = session.merge_environment_settings(self.base_url, {}, None, None, None)
            session.proxies.update(found["proxies"])
            session.verify = found["verify"]
            session.trust_env = False
        session.headers["User-Agent"] = USER_AGENT
        session.headers["Accept"] = "application/json"
        self.session = session
        self._gate_lock = threading.Lock()
        self._not_before = 0.0
        self._random = random.Random()

    def __repr__(self) -> str:
        test = ", test keys" if self.credentials.test else ""
        return f"PartnerStackClient({self.base_url!r}, public key {self.credentials.public_hint!r}{test})"

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests -----------------------------------------------------------------------------
    def get(self, path: str, params: dict | None = None) -> Any:
        """GET ``path`` (relative to the base URL): the envelope's data."""
        return self._request("GET", path, params=params)

    def post(self, path: str, json: Any, idempotent: bool = False) -> Any:
        """POST ``json`` to ``path``: the envelope's data. Retried after a 5xx or a lost connection
        only when ``idempotent`` (the request cannot be applied twice)."""
        return self._request("POST", path, body=json, idempotent=idempotent)

    def _scrub(self, text: str) -> str:
        c = self.credentials
        token = base64.b64encode(f"{c.public_key}:{c.secret_key}".encode()).decode()
        return scrub(text, c.secret_key, token)

    def _sign(self, prepared: Any) -> Any:
        """requests' auth hook: Basic public:secret (given as auth, it also keeps ~/.netrc out)."""
        c = self.credentials
        prepared.headers["Authorization"] = "Basic " + base64.b64encode(f"{c.public_key}:{c.secret_key}".encode()).decode()
        return prepared

    def _hold(self, delay: float) -> None:
        """Hold back every request of this client (all threads) for ``delay`` seconds."""
        with self._gate_lock:
            self._not_before = max(self._not_before, self._clock() + delay)

    def _wait_gate(self) -> None:
        with self._gate_lock:
            wait = self._not_before - self._clock()
        if wait > 0:
            self._sleep(wait)

    def _backoff_delay(self, attempt: int) -> float:
        return min(MAX_BACKOFF, self.backoff * 2 ** (attempt - 1)) * self._random.uniform(0.5, 1.0)

    def _request(self, method: str, path: str, params: dict | None = None, body: Any = None,
                 idempotent: bool | None = None) -> Any:
        import requests

        path = path.lstrip("/")
        shown = self._scrub(f"{method} /{path}")
        retry_all = method in ("GET", "HEAD") or bool(idempotent)
        url = self.base_url + path
        host = urlsplit(url).netloc
        attempt, last_5xx = 0, None
        while True:
            self._wait_gate()
            attempt += 1
            started = time.perf_counter()
            try:
                resp = self.session.request(
                    method, url, params=params, json=body, timeout=self.timeout, allow_redirects=False,
                    auth=self._sign, stream=True)  # streamed: the body is read up to MAX_ANSWER_BYTES
            except requests.exceptions.RequestException as exc:
                why, never_sent = reason(exc, self.timeout)
                log.debug("%s: %s (attempt %d)", shown, why, attempt)
                if attempt <= self.max_retries and (retry_all or never_sent):
                    self._sleep(self._backoff_delay(attempt))
                    continue
                tries = f" ({attempt} attempts)" if attempt > 1 else ""
                maybe = "" if retry_all or never_sent else "; it may or may not have been applied: read it back before sending it again"
                raise ApiError(self._scrub(f"could not reach PartnerStack at {host}{tries} on {shown}: {why}{maybe}")) from None
            status = resp.status_code
            if status == 429 or status >= 500:
                resp.close()  # not read: give the connection back
            log.debug("%s -> HTTP %d in %d ms (attempt %d)", shown, status,
                      (time.perf_counter() - started) * 1000, attempt)
            if status == 429:
                wait = retry_after_seconds(resp.headers.get("Retry-After"))
                if wait is not None and wait > MAX_RETRY_AFTER:
                    raise ApiError(f"PartnerStack is rate-limiting {shown} and asks to wait {wait:.0f} s "
                                   "(Retry-After): try again later", 429)
                if attempt > self.max_retries:
                    raise ApiError(f"PartnerStack kept rate-limiting {shown} (HTTP 429 {attempt} times): "
                                   "try again later, or with a lower API concurrency", 429)
                self._hold(wait if wait is not None else self._backoff_delay(attempt))
                continue
            if status >= 500:
                last_5xx = status
                if retry_all and attempt <= self.max_retries:
                    self._sleep(self._backoff_delay(attempt))
                    continue
                if retry_all:
                    raise ApiError(f"PartnerStack answered 5xx {attempt} times on {shown} (last: HTTP "
                                   f"{last_5xx}): try again later", last_5xx)
                raise ApiError(f"PartnerStack failed on {shown} (HTTP {status}); it may or may not have "
                               "been applied: read it back before sending it again", status)
            return self._unwrap(resp, method, path, shown, params, body)

    @staticmethod
    def _read_capped(resp: Any, shown: str) -> bytes:
        """The answer's body, at most MAX_ANSWER_BYTES (a bigger answer is an error, never read whole)."""
        import requests

        chunks, size = [], 0
        try:
            for chunk in resp.iter_content(1 << 16):
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise ApiError(f"PartnerStack's answer to {shown} is over {MAX_ANSWER_BYTES >> 20} MB: not read "
                                   "(a page of 250 items is far smaller; check the API base URL)", resp.status_code)
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise ApiError(f"PartnerStack's answer to {shown} was cut off while being read "
                           f"({type(exc).__name__})", resp.status_code) from None
        finally:
            resp.close()
        return b"".join(chunks)

    def _unwrap(self, resp: Any, method: str, path: str, shown: str, params: Any, body: Any) -> Any:
        status = resp.status_code
        if 300 <= status < 400:
            resp.close()
            target = self._scrub(short(resp.headers.get("Location") or "nowhere", 80))
            raise ApiError(f"PartnerStack answered {shown} with a redirect (HTTP {status}) to {target}: "
                           "check the API base URL", status)
        content = self._read_capped(resp, shown)
        text = self._scrub(content.decode("utf-8", "replace")) if content else ""
        try:
            answer = json.loads(text) if text.strip() else None
        except ValueError:
            answer = None
            if status < 400:
                kind = resp.headers.get("Content-Type", "no content type").split(";")[0]
                raise ApiError(f"PartnerStack's answer to {shown} is not JSON (HTTP {status}, {kind}: "
                               f"{short(text, 60)!r})", status) from None
        if status < 400 and isinstance(answer, dict) and isinstance(answer.get("status"), int) \
                and answer["status"] >= 400 and "data" not in answer:
            status = answer["status"]  # an error envelope sent with HTTP 200
        if status == 404 and not isinstance(answer, dict):
            # PartnerStack's own "not found" is a JSON envelope; a page that is not is a wrong URL
            raise ApiError(f"{shown} answered HTTP 404 without PartnerStack's JSON envelope: check the API "
                           f"base URL ({self.base_url})", status)
        if status >= 400:
            fields = tuple((params or {}).keys()) + tuple(body.keys() if isinstance(body, dict) else ())
            raise error_for(status, method, self._scrub(path), answer, self.credentials.public_hint,
                            self.credentials.test, fields)
        if answer is None:
            raise ApiError(f"PartnerStack answered {shown} with an empty body (HTTP {status})", status)
        if not isinstance(answer, dict) or "data" not in answer:
            has = ", ".join(sorted(map(str, answer))[:6]) if isinstance(answer, dict) else type(answer).__name__
            raise ApiError(f"PartnerStack's answer to {shown} has no 'data' envelope (it has: {has or 'nothing'})",
                           status)
        return answer["data"]

    # -- paging -------------------------------------------------------------------------------
    def page(self, path: str, params: dict) -> tuple[list[dict], bool]:
        """One page of a list: its items and has_more."""
        data = self.get(path, params)
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ApiError(f"PartnerStack's answer to GET /{path.lstrip('/')} is not a list of items "
                           "(data.items missing or not a list of objects)")
        return items, bool(data.get("has_more"))

    def paginate(self, path: str, params: dict | None = None, limit: int = API_PAGE_LIMIT) -> Iterator[dict]:
        """Every item of a list, page after page (``starting_after`` = the last item's key)."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        query["limit"] = check_limit(limit)
        cursor = None
        seen: set[str] = set()  # an item repeated on the next page (a list that moved) is yielded once
        while True:
            if cursor is not None:
                query["starting_after"] = cursor
            items, has_more = self.page(path, query)
            for item in items:
                key = item.get("key")
                if isinstance(key, str) and key:
                    if key in seen:
                        continue
                    seen.add(key)
                yield item
            if not has_more:
                return
            if not items:
                raise ApiError(f"PartnerStack's list at /{path.lstrip('/')} says there is more but sent an empty "
                               "page: the listing cannot go on (nothing was left out silently)")
            cursor = next_cursor(items, cursor, path)

    # -- resources ----------------------------------------------------------------------------
    def partnership(self, key: str) -> dict | None:
        """The partnership whose partner key (or partnership key) is ``key``; None when there is none."""
        try:
            return self.get(f"partnerships/{segment(key, 'partner key')}")
        except ApiNotFound:
            return None

    def partnerships(self, **filters: Any) -> Iterator[dict]:
        return self.paginate("partnerships", filters)

    def find_partnership_by_email(self, email: str) -> dict | None:
        """The partnership with this e-mail (case-insensitive), or None. No e-mail filter is documented:
        an ``email`` filter is sent (a server that knows it answers at once), and the pages are matched
        here, so a server that ignores it is paged through to the end."""
        wanted = (email or "").strip().casefold()
        if not wanted:
            raise BadInput("a partner e-mail is empty")
        try:
            found = self._first_email(self.partnerships(email=email.strip()), wanted)
        except ApiInvalid:  # the server refuses the unknown filter: page through everything
            found = None
        if found is None:  # the filter, undocumented, may match exactly (case-sensitively): page through all
            found = self._first_email(self.partnerships(), wanted)
        return found

    @staticmethod
    def _first_email(items: Iterator[dict], wanted: str) -> dict | None:
        for item in items:
            if str(item.get("email") or "").strip().casefold() == wanted:
                return item
        return None

    def customer(self, customer_key: str) -> dict | None:
        """The customer ``GET /customers/{customer_key}`` names; None when there is none."""
        try:
            return self.get(f"customers/{segment(customer_key, 'customer key')}")
        except ApiNotFound:
            return None

    def customers(self, min_created: Any = None, max_created: Any = None, **filters: Any) -> Iterator[dict]:
        """The customers, cursor-paged; times as datetimes, dates or epoch milliseconds."""
        params = dict(filters)
        if min_created is not None:
            params["min_created"] = epoch_ms(min_created)
        if max_created is not None:
            params["max_created"] = epoch_ms(max_created)
        return self.paginate("customers", params)

    def customers_window(self, min_created: Any, max_created: Any, concurrency: int = DEFAULT_CONCURRENCY,
                         limit: int = API_PAGE_LIMIT, **filters: Any) -> Iterator[dict]:
        """Every customer created in [min_created, max_created) exactly once, fetched in concurrent
        slices of the window and yielded as pages arrive, in no particular order (web/api_window.py);
        a concurrency of 1, or an API that ignores min_created / max_created, is one cursor."""
        from diagnose.web.api_window import window

        return window(self, epoch_ms(min_created), epoch_ms(max_created), concurrency, check_limit(limit),
                      filters)

    def create_customer(self, **fields: Any) -> dict:
        """POST /customers (customer_key, email, partner_key, name, provider_key, meta). Not
        idempotent: a 5xx or a lost answer is not retried (read the customer back first)."""
        from diagnose.web.api_fields import refuse_bad_customer

        refuse_bad_customer(fields)
        return self.post("customers", fields)

    def transactions(self, **filters: Any) -> Iterator[dict]:
        return self.paginate("transactions", filters)

    def create_transaction(self, **fields: Any) -> dict:
        """POST /transactions: exactly one of customer_key (PartnerStack's own key),
        customer_external_key (the company's) or customer_email; amount in cents; currency; ``key``
        makes it idempotent (and retried safely)."""
        from diagnose.web.api_fields import refuse_bad_transaction

        refuse_bad_transaction(fields)
        return self.post("transactions", fields, idempotent=bool(fields.get("key")))
