"""Exports read once per batch: while :func:`shared_reads` is active (``diagnose batch``), each export
file is read once however many tickets name it, and every ticket reuses the table read.

A read is known by the file (its resolved path, size and modification time in nanoseconds: a file
changed meanwhile is read again), the side and the column mapping. Several threads asking for the
same file at once wait for the one read. A read that fails is not kept (each asker gets its error
and a later ticket tries again). Tables are kept up to ``max_bytes`` (polars' estimate of their
size) and ``max_entries`` (a ticket answered from the API reconciles a temporary file of its own),
the least recently used dropped first. Outside :func:`shared_reads` nothing is cached: a
single ``diagnose ticket`` or ``reconcile`` reads its files as always.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 64


@dataclass
class ExportCache:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_entries: int = DEFAULT_MAX_ENTRIES
    reads: int = 0  # files actually read
    hits: int = 0  # reads saved
    _entries: OrderedDict = field(default_factory=OrderedDict)  # key -> Future of the table
    _sizes: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple, read: Callable[[], Any]) -> Any:
        with self._lock:
            future = self._entries.get(key)
            if future is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                mine = False
            else:
                future = self._entries[key] = Future()
                self.reads += 1
                mine = True
        if not mine:
            return future.result()
        try:
            table = read()
        except BaseException as exc:
            with self._lock:
                self._entries.pop(key, None)
            future.set_exception(exc)
            raise
        future.set_result(table)
        self._account(key, table)
        return table

    def _account(self, key: tuple, table: Any) -> None:
        with self._lock:
            if key not in self._entries:
                return
            self._sizes[key] = _size_of(table)
            while (sum(self._sizes.values()) > self.max_bytes or len(self._entries) > self.max_entries) \
                    and len(self._entries) > 1:
                oldest = next(iter(self._entries))
                if oldest == key:
                    break
                self._entries.pop(oldest)
                self._sizes.pop(oldest, None)


def _size_of(table: Any) -> int:
    total = 0
    for name in ("rows", "rejected", "unreadable"):
        frame = getattr(table, name, None)
        estimate = getattr(frame, "estimated_size", None)
        total += int(estimate()) if callable(estimate) else 0
    return total


_active: ExportCache | None = None
_active_lock = threading.Lock()


@contextlib.contextmanager
def shared_reads(max_bytes: int = DEFAULT_MAX_BYTES, max_entries: int = DEFAULT_MAX_ENTRIES) -> Iterator[ExportCache]:
    """Within the block, every reconcile reads each export once (process-wide, all threads)."""
    global _active
    with _active_lock:
        previous, _active = _active, ExportCache(max_bytes, max_entries)
        cache = _active
    try:
        yield cache
    finally:
        with _active_lock:
            _active = previous


def file_key(path: str | Path) -> tuple | None:
    """(resolved path, size, mtime_ns), or None when the file cannot be looked at (the read names why)."""
    try:
        p = Path(path).resolve()
        info = os.stat(p)
    except (OSError, ValueError):
        return None
    return (str(p), info.st_size, info.st_mtime_ns)


def cached_read(path: str | Path, side: str, mapping: dict[str, str | None] | None,
                read: Callable[[], Any]) -> Any:
    """``read()``, or the table it returned for the same file, side and mapping in this batch."""
    cache = _active
    key = file_key(path) if cache is not None else None
    if cache is None or key is None:
        return read()
    return cache.get((*key, side, tuple(sorted((mapping or {}).items()))), read)
