"""``--json``: the whole result written as JSON a chunk of rows at a time (never every row as a
Python object), so memory stays flat whatever the number of rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from diagnose.core.reading import clean_text


def stream_json(data: dict[str, Any], lists: dict[str, tuple[Any, Callable[[Any], Any], list[str]]],
                out: Any, chunk: int = 20_000) -> None:
    """Write ``data`` (a result's JSON object) to ``out`` with each key of ``lists`` replaced by all
    its rows: ``(frame, builder, columns)``, built and written ``chunk`` rows at a time as JSON by
    polars, two chunks at once on two threads, a few chunks ahead at most, so memory stays flat
    whatever the number of rows. ``complete`` is true."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    def render(frame: Any, build: Callable[[Any], Any], columns: list[str], start: int) -> str:
        text = build(frame.slice(start, chunk)).select(columns).write_ndjson()
        return ("," if start else "") + "\n    " + text.rstrip("\n").replace("\n", ",\n    ")

    def pieces(pool: Any) -> Any:  # text, or a future of text, in output order
        yield "{"
        for n, (key, value) in enumerate({**data, "complete": True}.items()):
            yield ("," if n else "") + f"\n  {json.dumps(key)}: "
            if key not in lists:
                # lone surrogates (a --customer from undecodable bytes) become U+FFFD: writing never fails
                yield clean_text(json.dumps(value, indent=2, ensure_ascii=False)).replace("\n", "\n  ")
                continue
            frame, build, columns = lists[key]
            yield "[" if frame.height else "[]"
            for start in range(0, frame.height, chunk):
                yield pool.submit(render, frame, build, columns, start)
            yield "\n  ]" if frame.height else ""
        yield "\n}\n"

    with ThreadPoolExecutor(max_workers=2) as pool:
        ahead: deque[Any] = deque()
        for piece in pieces(pool):
            ahead.append(piece)
            while len(ahead) > 3 or (ahead and isinstance(ahead[0], str)):
                first = ahead.popleft()
                out.write(first if isinstance(first, str) else first.result())
        for first in ahead:
            out.write(first if isinstance(first, str) else first.result())
