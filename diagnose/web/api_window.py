"""The customers of a created-date window, fetched in concurrent slices so that paging is not the
bottleneck (a cursor is sequential: one slice, one page at a time).

- with a concurrency of 1, one cursor reads the window (filtered here to [lo, hi));
- else [lo, hi) is cut into ``concurrency x SLICES_PER_WORKER`` slices; ``concurrency`` threads take them
  from a shared queue and cursor-page each one;
- a slice asks for one extra millisecond at each end and keeps only the items created inside it, so
  whether the API's min_created / max_created are inclusive or exclusive, each customer belongs to
  exactly one slice (an item without a readable created_at is kept once, by its key);
- a slice whose first page says there is more, while a worker waits with no slice left to take (a
  busy stretch of a skewed window), is split in two: its first page is yielded, and the halves skip
  those keys (a split costs one page). So a window whose customers sit in one week still spreads
  over the workers; a slice is never split after its first page: that would need the API's order
  of items, which the reference does not promise (a half-done cursor is finished by its worker);
- pages go to the caller through a bounded queue as they arrive (memory stays bounded: at most
  about 3 x concurrency pages in flight), in no particular order;
- slicing needs the API to honour min_created / max_created: one request first checks it (a server
  that ignores them is read with one cursor, filtered here), and a page holding a customer outside
  its range is an error;
- a 429 holds back every worker (the client's shared gate, honouring Retry-After);
- an error in any worker stops the others and is raised to the caller; a caller that stops
  early (break, close) stops the workers too.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.partnerstack import epoch_ms
from diagnose.web.api_errors import ApiError
from diagnose.web.api_http import MAX_CONCURRENCY, next_cursor

log = logging.getLogger("diagnose.api")

SLICES_PER_WORKER = 4
_POLL = 0.1  # seconds: how often a blocked worker looks whether it should stop


@dataclass(frozen=True)
class Slice:
    lo: int  # epoch ms, inclusive
    hi: int  # epoch ms, exclusive
    skip: frozenset[tuple[int, str]] = frozenset()  # (created, key) already yielded by the parent slice


class _Stopped(Exception):
    pass


def _first_time(item: dict, seen: set[str]) -> bool:
    key = item.get("key")
    if not isinstance(key, str) or not key:
        return True
    if key in seen:
        return False
    seen.add(key)
    return True


def created_ms(item: dict) -> int | None:
    """An item's created_at in epoch ms (a number, a numeric string or an ISO date), or None."""
    value = item.get("created_at")
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            return epoch_ms(datetime.fromisoformat(text))
        except ValueError:
            return None
    return None


def slices(lo: int, hi: int, count: int) -> list[Slice]:
    count = max(1, min(count, hi - lo))
    bounds = [lo + (hi - lo) * i // count for i in range(count + 1)]
    return [Slice(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def window(client: Any, lo: int, hi: int, concurrency: int, limit: int, filters: dict) -> Iterator[dict]:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise BadInput(f"the API concurrency must be a whole number from 1 to {MAX_CONCURRENCY}, not {concurrency!r}")
    if hi <= lo:
        return iter(())
    if concurrency == 1:
        return _one_cursor(client, lo, hi, limit, filters)
    if not honours_created_filter(client, filters):
        log.warning("the API ignores min_created / max_created: the window is read with one cursor")
        return _one_cursor(client, lo, hi, limit, filters)
    return _Window(client, lo, hi, concurrency, limit, filters).run()


def honours_created_filter(client: Any, filters: dict) -> bool:
    """Whether the API filters customers by creation time (slicing relies on it): asked for those
    created in 1970's first milliseconds, a server that filters answers none, one that ignores the
    filter its newest customer. One request."""
    items, _ = client.page("customers", {**filters, "min_created": 0, "max_created": 1, "limit": 1})
    return all((c := created_ms(item)) is None or 0 <= c <= 2 for item in items)


def _one_cursor(client: Any, lo: int, hi: int, limit: int, filters: dict) -> Iterator[dict]:
    params = {**filters, "min_created": lo - 1, "max_created": hi}
    for item in client.paginate("customers", params, limit):
        created = created_ms(item)
        if created is None or lo <= created < hi:
            yield item


class _Window:
    def __init__(self, client: Any, lo: int, hi: int, concurrency: int, limit: int, filters: dict):
        self.client, self.limit, self.concurrency = client, limit, concurrency
        self.filters = {k: v for k, v in filters.items() if v is not None}
        self.todo = deque(slices(lo, hi, concurrency * SLICES_PER_WORKER))
        self.outstanding = len(self.todo)  # slices queued or being fetched
        self.cond = threading.Condition()
        self.stop = threading.Event()  # workers should stop (an error, or the caller stopped)
        self.closed = threading.Event()  # the caller reads no more
        self.out: queue.Queue = queue.Queue(maxsize=2 * concurrency)
        self.orphans: set[str] = set()  # keys of items without a readable created_at, kept once
        self.idle = 0  # workers waiting for a slice
        self.splits = 0

    def run(self) -> Iterator[dict]:
        threads = [threading.Thread(target=self.work, name=f"partnerstack-window-{n}", daemon=True)
                   for n in range(self.concurrency)]
        for thread in threads:
            thread.start()
        finished = 0
        try:
            while finished < len(threads):
                kind, payload = self.out.get()
                if kind == "done":
                    finished += 1
                elif kind == "error":
                    raise payload
                else:
                    yield from payload
        finally:
            self.closed.set()
            self.stop.set()
            with self.cond:
                self.cond.notify_all()
            for thread in threads:
                thread.join(timeout=self.client.timeout + 1)

    # -- workers --------------------------------------------------------------------------------
    def work(self) -> None:
        try:
            while True:
                with self.cond:
                    while not self.todo and self.outstanding and not self.stop.is_set():
                        self.idle += 1
                        self.cond.wait()
                        self.idle -= 1
                    if self.stop.is_set() or not self.todo:
                        return
                    piece = self.todo.popleft()
                self.fetch(piece)
                with self.cond:
                    self.outstanding -= 1
                    self.cond.notify_all()
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001  (handed to the caller's thread, raised there)
            self.stop.set()
            with self.cond:
                self.cond.notify_all()
            self.put(("error", exc), always=True)
        finally:
            self.put(("done", None), always=True)

    def put(self, message: tuple, always: bool = False) -> None:
        """Hand a message to the caller, waiting while the queue is full (the caller's pace)."""
        while True:
            if self.closed.is_set() or (self.stop.is_set() and not always):
                if always:
                    return
                raise _Stopped
            try:
                self.out.put(message, timeout=_POLL)
                return
            except queue.Full:
                continue

    def fetch(self, piece: Slice) -> None:
        params = {**self.filters, "min_created": piece.lo - 1, "max_created": piece.hi, "limit": self.limit}
        cursor, first = None, True
        seen: set[str] = set()  # a slice's items repeated on its next page (a list that moved) count once
        while True:
            if self.stop.is_set():
                raise _Stopped
            if cursor is not None:
                params["starting_after"] = cursor
            items, has_more = self.client.page("customers", params)
            if has_more and not items:
                raise ApiError("PartnerStack's list at /customers says there is more but sent an empty page: "
                               "the listing cannot go on (nothing was left out silently)")
            keep = [item for item in items if self.mine(item, piece) and _first_time(item, seen)]
            if len(keep) < len(items):
                self.check_filtered(items, piece)
            if first and has_more and self.should_split(piece):
                self.put(("items", keep))
                self.split(piece, keep)
                return
            if keep:
                self.put(("items", keep))
            if not has_more or not items:
                return
            cursor, first = next_cursor(items, cursor, "customers"), False

    def mine(self, item: dict, piece: Slice) -> bool:
        created = created_ms(item)
        if created is None:
            key = str(item.get("key") or item.get("customer_key") or id(item))
            with self.cond:
                if key in self.orphans:
                    return False
                self.orphans.add(key)
                return True
        return piece.lo <= created < piece.hi and (created, str(item.get("key"))) not in piece.skip

    @staticmethod
    def check_filtered(items: list[dict], piece: Slice) -> None:
        """A backstop: a page must hold only customers created in the range asked for."""
        for item in items:
            created = created_ms(item)
            if created is not None and not piece.lo - 1 <= created <= piece.hi:
                raise ApiError(f"PartnerStack answered GET /customers for min_created={piece.lo - 1}, "
                               f"max_created={piece.hi} with a customer created at {created}: the window cannot "
                               "be read in slices (try an API concurrency of 1)")

    def should_split(self, piece: Slice) -> bool:
        """Split a slice found to hold more than a page when a worker waits with nothing to do."""
        with self.cond:
            return piece.hi - piece.lo >= 2 and self.idle > 0 and not self.todo

    def split(self, piece: Slice, kept: list[dict]) -> None:
        mid = (piece.lo + piece.hi) // 2
        seen = set(piece.skip) | {(c, str(i.get("key"))) for i in kept if (c := created_ms(i)) is not None}
        low = Slice(piece.lo, mid, frozenset(s for s in seen if s[0] < mid))
        high = Slice(mid, piece.hi, frozenset(s for s in seen if s[0] >= mid))
        with self.cond:
            self.todo.appendleft(high)
            self.todo.appendleft(low)
            self.outstanding += 2
            self.splits += 1
            self.cond.notify_all()
