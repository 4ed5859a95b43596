"""Finding a value in text whatever its spelling, for ``--redact`` (pipeline/redact.py).

A value the report must not show can be written many ways: as it is, in another case,
percent-encoded once or twice (a URL inside a URL), with '+' for a space (a query string), escaped as
JSON, JavaScript or Python's repr write it ('\\u00eb', '\\x27', "\\'"), as an HTML character
reference, and base64-encoded (the gspk form of a partner key). Rather than a pattern per spelling,
the text is read into a *canonical* form - escapes decoded, case folded, white space and '+' a
space - that knows which stretch of the text each of its characters came from; a value is looked
for there with ``str.find``, and what is replaced is the stretch of the original text it was found
in. Long texts are read in overlapping windows, so time and memory stay linear in the text.
"""

from __future__ import annotations

import base64
import re
from bisect import bisect_right
from dataclasses import dataclass

_ESCAPE_RE = re.compile(
    r"(?P<pct>(?:%(?:25)?[0-9A-Fa-f]{2})+)"
    r"|\\u(?P<u>[0-9A-Fa-f]{4})(?:\\u(?P<low>[dD][c-fC-F][0-9A-Fa-f]{2}))?"
    r"|\\U(?P<U>[0-9A-Fa-f]{8})|\\x(?P<x>[0-9A-Fa-f]{2})"
    r"|\\(?P<esc>[nrtfv0])|\\(?P<lit>[^\w\s])"
    r"|&#(?P<dec>[0-9]{1,7});|&#[xX](?P<hex>[0-9A-Fa-f]{1,6});|&(?P<named>amp|lt|gt|quot|apos|nbsp);"
)
_MAYBE_ESCAPE = re.compile(r"[%\\&]")
_PCT_RE = re.compile(r"%(25)?([0-9A-Fa-f]{2})")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": " "}
_ESC = {"n": "\n", "r": "\r", "t": "\t", "f": "\f", "v": "\v", "0": "\0"}
_SPACES = str.maketrans({c: " " for c in ["+", *(chr(i) for i in range(0x3001) if chr(i).isspace())]})
WINDOW = 1 << 20  # characters read at once
OVERLAP = 1 << 16  # shared by two windows: the longest stretch one value can take in the text


def _fold(text: str) -> str:
    return text.casefold().translate(_SPACES)


class Canonical:
    """``text`` as values are looked for in it, and where each of its characters came from: a list
    of segments (canonical start, original start, original length, step): with a step, canonical
    character ``k`` of the segment came from ``step`` characters at ``start + k * step``; without one
    (0), every character of the segment came from the whole stretch (one escape, one folded letter)."""

    def __init__(self, text: str):
        self.parts: list[str] = []
        self.cstarts: list[int] = []
        self.segments: list[tuple[int, int, int]] = []
        self.size = 0
        pos = 0
        matches = _ESCAPE_RE.finditer(text) if _MAYBE_ESCAPE.search(text) else ()
        for m in matches:
            self._plain(text, pos, m.start())
            self._escape(m)
            pos = m.end()
        self._plain(text, pos, len(text))
        self.text = "".join(self.parts).translate(_SPACES)
        del self.parts

    def _add(self, chars: str, start: int, length: int, step: int) -> None:
        if chars:
            self.parts.append(chars)
            self.cstarts.append(self.size)
            self.segments.append((start, length, step))
            self.size += len(chars)

    def _plain(self, text: str, a: int, b: int) -> None:
        folded = text[a:b].casefold()
        if len(folded) == b - a:  # one character for one: the common case, in one step
            self._add(folded, a, b - a, 1)
            return
        run = a
        for k in range(a, b):  # letters that fold to more than one ('ß' -> 'ss') stand alone
            one = text[k].casefold()
            if len(one) != 1:
                self._add(text[run:k].casefold(), run, k - run, 1)
                self._add(one, k, 1, 0)
                run = k + 1
        self._add(text[run:b].casefold(), run, b - run, 1)

    def _escape(self, m: re.Match[str]) -> None:
        a, b, kind = m.start(), m.end(), m.lastgroup
        if kind == "pct":
            units = _PCT_RE.findall(m.group())
            raw = bytes(int(h, 16) for _, h in units)
            chars = raw.decode("utf-8", "replace")
            widths = {5 if twice else 3 for twice, _ in units}
            if raw.isascii() and len(widths) == 1:  # %41%42 -> 'ab', each from its own three characters
                self._add(chars.casefold(), a, b - a, widths.pop())
            else:
                self._add(chars.casefold(), a, b - a, 0)
            return
        if kind in ("u", "low"):
            high, low = int(m.group("u"), 16), m.group("low")
            chars = chr(high)
            if low is not None:
                low_code = int(low, 16)
                paired = 0xD800 <= high < 0xDC00
                chars = chr(0x10000 + ((high - 0xD800) << 10) + (low_code - 0xDC00)) if paired else chars + chr(low_code)
        elif kind in ("U", "x", "dec", "hex"):
            code = int(m.group(kind), 10 if kind == "dec" else 16)
            chars = chr(code) if code <= 0x10FFFF else "\ufffd"
        elif kind == "esc":
            chars = _ESC[m.group(kind)]
        elif kind == "lit":
            chars = m.group(kind)
        else:
            chars = _NAMED[m.group(kind)]
        self._add(chars.casefold(), a, b - a, 0)

    def _origin(self, i: int) -> tuple[int, int]:
        k = bisect_right(self.cstarts, i) - 1
        start, length, step = self.segments[k]
        if not step:
            return start, start + length
        first = start + (i - self.cstarts[k]) * step
        return first, first + step

    def span(self, i: int, j: int) -> tuple[int, int]:
        """The stretch of the original text that canonical characters ``i``..``j - 1`` came from."""
        return self._origin(i)[0], self._origin(j - 1)[1]


def canonical(text: str) -> Canonical:
    return Canonical(text)


@dataclass(frozen=True)
class Needle:
    text: str  # canonical
    bounded: bool  # a word: not found inside another word
    short: bool  # too short to hide everywhere: only where it is quoted or assigned
    padded: bool  # base64: its '=' padding goes with it
    shown: str


_SHORT = 4
_OPEN, _CLOSE = "'\"=", "'\"&;,) "


def needles(value: str, shown: str) -> list[Needle]:
    """What to look for to find ``value`` (and its base64 forms) in a canonical text."""
    value = value.strip()
    if not value:
        return []
    # the value as it is (written escaped, its escapes read back are the value) and with its own
    # escapes read (written as it is, the text's '\\0' or '%41' is read as an escape too)
    forms = dict.fromkeys((_fold(value), canonical(value).text))
    if len(value) < _SHORT:
        return [Needle(form, False, True, False, shown) for form in forms]
    wordlike = len(value) < 8 or all(c.isalpha() or c in " '-.\u2019" for c in value)
    found = [Needle(form, wordlike, False, False, shown) for form in forms]
    raw = value.encode("utf-8", "surrogatepass")
    for encoded in dict.fromkeys((base64.b64encode(raw), base64.urlsafe_b64encode(raw))):
        found.append(Needle(_fold(encoded.decode("ascii").rstrip("=")), False, False, True, shown))
    return found


def _word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _hits(text: str, wanted: list[Needle], offset: int) -> list[tuple[int, int, str]]:
    canon = canonical(text)
    c = canon.text
    hits = []
    for needle in wanted:
        i = c.find(needle.text)
        while i >= 0:
            j = i + len(needle.text)
            before, after = c[i - 1] if i else "", c[j] if j < len(c) else ""
            if needle.short:
                ok = before != "" and before in _OPEN and (after == "" or after in _CLOSE)
            else:
                ok = not needle.bounded or not (before and _word(before)) and not (after and _word(after))
            if ok:
                if needle.padded:
                    while j < len(c) and c[j] == "=" and j - i - len(needle.text) < 2:
                        j += 1
                start, end = canon.span(i, j)
                hits.append((offset + start, offset + end, needle.shown))
            i = c.find(needle.text, j if ok else i + 1)
    return hits


def find(text: str, wanted: list[Needle]) -> list[tuple[int, int, str]]:
    """The stretches of ``text`` holding a wanted value, as ``(start, end, shown)``, not overlapping
    (where two overlap, the one starting first wins, then the longer)."""
    if not wanted or not text:
        return []
    hits: list[tuple[int, int, str]] = []
    for start in range(0, len(text), WINDOW):  # a hit belongs to the window it starts in
        last = start + WINDOW >= len(text)
        hits += [h for h in _hits(text[start:start + WINDOW + OVERLAP], wanted, start) if last or h[0] < start + WINDOW]
        if last:
            break
    hits.sort(key=lambda h: (h[0], -h[1]))
    chosen: list[tuple[int, int, str]] = []
    for hit in hits:
        if not chosen or hit[0] >= chosen[-1][1]:
            chosen.append(hit)
    return chosen
