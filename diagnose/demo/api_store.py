"""The stand-in API's data: a program's partnerships, customers and transactions in memory, with the
API's rules (what POST /customers and POST /transactions refuse) and cursor paging. The HTTP side
is demo/api_standin.py. Thread-safe: one lock around every read and write.

Lists come newest first (created_at descending, then the order of creation); ``starting_after`` /
``ending_before`` take an item's ``key``; ``min_created`` / ``max_created`` are epoch ms, both
INCLUSIVE here (the reference does not say; the client works either way). Refusals are
:class:`Refusal` (status, message): 422 names the field first in its message, as the reference's
``{message, status}`` errors give no field of their own; a customer_key used twice is 409.
"""

from __future__ import annotations

import bisect
import itertools
import re
import threading
import time

from diagnose.core.partnerstack import (
    API_METADATA_MAX,
    API_NAME_MAX,
    API_PAGE_LIMIT,
    API_TRANSACTION_CUSTOMER_FIELDS,
    API_TRANSACTION_KEY_LENGTH,
    TEST_PARTNER_KEY,
)

DAY_MS = 86_400_000


class Refusal(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _int_param(params: dict, name: str, low: int | None = None, high: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Refusal(422, f"{name} must be a whole number (epoch milliseconds for times)") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise Refusal(422, f"{name} must be between {low} and {high}")
    return number


class Store:
    def __init__(self, test: bool = False):
        self.test = test  # the keys are test keys: what they create is flagged test
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self.partnerships: dict[str, dict] = {}  # by partner_key
        self.customers: dict[str, dict] = {}  # by PartnerStack's key
        self.by_customer_key: dict[str, str] = {}  # the company's customer_key -> key
        self.transactions: dict[str, dict] = {}  # by key
        self.rewards: dict[str, dict] = {}  # by key
        self._rows: list[tuple[int, int, str]] = []  # (created_at, seq, key) of every customer
        self._sorted = True
        self.ignore_created = False  # True: GET /customers ignores min_created / max_created (a worst case)
        self.add_partnership(TEST_PARTNER_KEY, email="test@partnerstack.example", first_name="Test",
                             last_name="Partner", group="test")

    def _key(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):010d}"

    # -- seeding --------------------------------------------------------------------------------
    def add_partnership(self, partner_key: str, email: str | None = None, first_name: str = "", last_name: str = "",
                        group: str = "default", archived: bool = False, joined_at: int | None = None,
                        key: str | None = None) -> dict:
        with self.lock:
            joined = now_ms() if joined_at is None else int(joined_at)
            item = {"key": key or self._key("part"), "partner_key": partner_key,
                    "email": email or f"{partner_key}@partners.example", "first_name": first_name,
                    "last_name": last_name, "group": {"key": group, "name": group.title()},
                    "archived": bool(archived), "joined_at": joined, "created_at": joined, "updated_at": joined,
                    "stats": {"customer_count": 0}}
            self.partnerships[partner_key] = item
            return dict(item)

    def add_customer(self, customer_key: str, email: str, partner_key: str | None = None, name: str | None = None,
                     provider_key: str | None = None, created_at: int | None = None, test: bool | None = None,
                     key: str | None = None, meta: dict | None = None, source_type: str = "referral_link") -> dict:
        with self.lock:
            partner = self.partnerships.get(partner_key) if partner_key else None
            created = now_ms() if created_at is None else int(created_at)
            item = {"key": key or self._key("cus"), "customer_key": customer_key, "email": email, "name": name,
                    "partner_key": partner_key, "partnership_key": partner["key"] if partner else None,
                    "provider_key": provider_key, "source_key": None, "source_type": source_type,
                    "test": self.test if test is None else bool(test), "meta": meta or {}, "fields": {},
                    "created_at": created, "updated_at": created}
            self.customers[item["key"]] = item
            self.by_customer_key[customer_key] = item["key"]
            self._rows.append((created, next(self._ids), item["key"]))
            self._sorted = False
            if partner:
                partner["stats"]["customer_count"] += 1
            return dict(item)

    def add_reward(self, customer: str, status: str = "pending", amount: int = 1000, currency: str = "USD",
                   created_at: int | None = None, transaction_key: str | None = None) -> dict:
        """A reward for a customer (by PartnerStack's key or the company's customer_key); its
        ``customer_key`` is PartnerStack's key, like a transaction's."""
        with self.lock:
            found = self.customers.get(customer) or self.customers.get(self.by_customer_key.get(customer, ""))
            if found is None:
                raise KeyError(f"no customer {customer!r}")
            created = now_ms() if created_at is None else int(created_at)
            item = {"key": self._key("rwd"), "customer_key": found["key"], "customer_external_key": found["customer_key"],
                    "partner_key": found["partner_key"], "transaction_key": transaction_key, "amount": amount,
                    "currency": currency, "status": status, "test": found["test"], "created_at": created,
                    "updated_at": created}
            self.rewards[item["key"]] = item
            return dict(item)

    def populate(self, count: int, start_ms: int, end_ms: int, partners: tuple[str, ...] = ("jane", "john"),
                 prefix: str = "gen") -> None:
        """``count`` customers spread evenly over [start_ms, end_ms), for tests and the benchmark."""
        with self.lock:
            for partner in partners:
                if partner not in self.partnerships:
                    self.add_partnership(partner)
            span = max(1, end_ms - start_ms)
            for n in range(count):
                self.add_customer(f"{prefix}-{n}", f"customer{n}@example.com", partners[n % len(partners)],
                                  name=f"Customer {n}", provider_key=f"cus_{n:08d}",
                                  created_at=start_ms + span * n // max(1, count))

    # -- reading ---------------------------------------------------------------------------------
    def _rows_sorted(self) -> list[tuple[int, int, str]]:
        if not self._sorted:
            self._rows.sort()
            self._sorted = True
        return self._rows

    def _row_of(self, key: str, name: str) -> tuple[int, int, str]:
        item = self.customers.get(key)
        if item is None:
            raise Refusal(422, f"{name}: no customer with key {key!r}")
        rows = self._rows_sorted()
        for n in range(bisect.bisect_left(rows, (item["created_at"],)), len(rows)):
            if rows[n][2] == key:
                return rows[n]
        raise Refusal(422, f"{name}: no customer with key {key!r}")  # pragma: no cover

    def customer(self, key: str) -> dict | None:
        """By PartnerStack's key or by the company's customer_key."""
        with self.lock:
            item = self.customers.get(key) or self.customers.get(self.by_customer_key.get(key, ""))
            return dict(item) if item else None

    def partnership(self, key: str) -> dict | None:
        """By partner key or by partnership key."""
        with self.lock:
            item = self.partnerships.get(key) or next(
                (p for p in self.partnerships.values() if p["key"] == key), None)
            return dict(item) if item else None

    def list_customers(self, params: dict) -> dict:
        limit = self.limit(params)
        low, high = _int_param(params, "min_created"), _int_param(params, "max_created")
        if self.ignore_created:
            low = high = None
        extra = {k: v for k, v in params.items() if k in ("partner_key", "test", "provider_key")}
        with self.lock:
            rows = self._rows_sorted()
            lo = 0 if low is None else bisect.bisect_left(rows, (low,))
            hi = len(rows) if high is None else bisect.bisect_left(rows, (high + 1,))
            if extra:
                rows = [r for r in rows[lo:hi] if all(str(self.customers[r[2]].get(k)).lower() == str(v).lower()
                                                      for k, v in extra.items())]
                lo, hi = 0, len(rows)
            after, before = self.cursors(params)
            page, more = _page(rows, lo, hi, after and self._row_of(after, "starting_after"),
                               before and self._row_of(before, "ending_before"), limit)
            return {"items": [dict(self.customers[r[2]]) for r in page], "has_more": more}

    def list_simple(self, items: list[dict], params: dict) -> dict:
        """Paging over a small list (partnerships, transactions, rewards): newest first."""
        limit = self.limit(params)
        low, high = _int_param(params, "min_created"), _int_param(params, "max_created")
        items = [i for i in items if (low is None or i["created_at"] >= low) and (high is None or i["created_at"] <= high)]
        rows = sorted((i["created_at"], n, i["key"]) for n, i in enumerate(items))
        by_key = {r[2]: r for r in rows}
        after, before = self.cursors(params)
        for name, cursor in (("starting_after", after), ("ending_before", before)):
            if cursor and cursor not in by_key:
                raise Refusal(422, f"{name}: no item with key {cursor!r}")
        found = {i["key"]: i for i in items}
        page, more = _page(rows, 0, len(rows), by_key.get(after or ""), by_key.get(before or ""), limit)
        return {"items": [dict(found[r[2]]) for r in page], "has_more": more}

    @staticmethod
    def limit(params: dict) -> int:
        return _int_param(params, "limit", 1, API_PAGE_LIMIT) or 10

    @staticmethod
    def cursors(params: dict) -> tuple[str | None, str | None]:
        after, before = params.get("starting_after") or None, params.get("ending_before") or None
        if after and before:
            raise Refusal(422, "starting_after and ending_before cannot be given together")
        return after, before

    # -- writing ---------------------------------------------------------------------------------
    def create_customer(self, body: dict) -> dict:
        for name in ("customer_key", "email", "partner_key"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise Refusal(422, f"{name} is required")
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > API_NAME_MAX):
            raise Refusal(422, f"name must be text of at most {API_NAME_MAX} characters")
        if body.get("meta") is not None and not isinstance(body["meta"], dict):
            raise Refusal(422, "meta must be an object")
        with self.lock:
            if body["partner_key"] not in self.partnerships:
                raise Refusal(422, f"partner_key {body['partner_key']!r} is not a partner of this program")
            if body["customer_key"] in self.by_customer_key:
                raise Refusal(409, f"customer_key {body['customer_key']!r} already exists")
            return self.add_customer(body["customer_key"], body["email"], body["partner_key"], name=name,
                                     provider_key=body.get("provider_key"), meta=body.get("meta"),
                                     source_type="api")

    def create_transaction(self, body: dict) -> tuple[dict, bool]:
        """The transaction, and whether it is new (a known ``key`` returns the existing one)."""
        given = [f for f in API_TRANSACTION_CUSTOMER_FIELDS if body.get(f) not in (None, "")]
        if len(given) != 1:
            raise Refusal(422, "give exactly one of " + ", ".join(API_TRANSACTION_CUSTOMER_FIELDS))
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise Refusal(422, "amount must be an integer number of cents")
        currency = body.get("currency")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise Refusal(422, "currency must be a 3-letter code")
        key = body.get("key")
        low, high = API_TRANSACTION_KEY_LENGTH
        if key is not None and (not isinstance(key, str) or not low <= len(key) <= high):
            raise Refusal(422, f"key must be {low} to {high} characters")
        metadata = body.get("metadata")
        if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > API_METADATA_MAX):
            raise Refusal(422, f"metadata must be an object of at most {API_METADATA_MAX} attributes")
        with self.lock:
            if key and key in self.transactions:
                return dict(self.transactions[key]), False
            customer = self._transaction_customer(given[0], str(body[given[0]]))
            created = now_ms()
            item = {"key": key or self._key("txn"), "amount": amount, "currency": currency.upper(),
                    "customer_key": customer["key"], "customer_external_key": customer["customer_key"],
                    "customer_email": customer["email"], "product_key": body.get("product_key"),
                    "category_key": body.get("category_key"), "metadata": metadata or {},
                    "test": self.test, "created_at": created, "updated_at": created}
            self.transactions[item["key"]] = item
            if not self.test:  # test transactions produce no rewards
                self.add_reward(customer["key"], "pending", amount // 5, item["currency"], created, item["key"])
            return dict(item), True

    def _transaction_customer(self, field: str, value: str) -> dict:
        if field == "customer_key":
            found = self.customers.get(value)
            hint = (" (customer_key is PartnerStack's own customer key; the company's key goes in "
                    "customer_external_key)") if value in self.by_customer_key else ""
        elif field == "customer_external_key":
            found, hint = self.customers.get(self.by_customer_key.get(value, "")), ""
        else:
            wanted = value.strip().casefold()
            found = next((c for c in self.customers.values() if str(c["email"]).casefold() == wanted), None)
            hint = ""
        if found is None:
            raise Refusal(422, f"{field} {value!r} is not a customer of this program{hint}")
        return found

    def list_transactions(self, params: dict) -> dict:
        with self.lock:
            items = [t for t in self.transactions.values()
                     if all(str(t.get(k)) == str(params[k]) for k in ("customer_key", "customer_external_key")
                            if params.get(k))]
            return self.list_simple(items, params)

    def list_rewards(self, params: dict) -> dict:
        """Filters: customer_key (PartnerStack's key), partner_key, status (or payment_status)."""
        wanted = {"customer_key": params.get("customer_key"), "partner_key": params.get("partner_key"),
                  "status": params.get("status") or params.get("payment_status")}
        with self.lock:
            items = [r for r in self.rewards.values() if all(str(r.get(k)) == str(v) for k, v in wanted.items() if v)]
            return self.list_simple(items, params)

    def list_partnerships(self, params: dict) -> dict:
        with self.lock:  # no e-mail filter (none is documented): a client pages through
            return self.list_simple(list(self.partnerships.values()), params)


def _page(rows: list, lo: int, hi: int, after: tuple | None, before: tuple | None, limit: int) -> tuple[list, bool]:
    """A page of rows[lo:hi] (ascending) in listing order (descending): after a cursor, the older
    items; before one, the newer items nearest to it."""
    if before:
        start = max(lo, bisect.bisect_right(rows, before, lo, hi))
        page = rows[start:min(hi, start + limit)]
        return page[::-1], start + limit < hi
    end = hi if not after else min(hi, bisect.bisect_left(rows, after, lo, hi))
    start = max(lo, end - limit)
    return rows[start:end][::-1], start > lo
