"""A bound on how far one start tag may run, applied to a page before html.parser reads it.

html.parser finds where a start tag ends with one regular expression (``locatestarttagend_tolerant``)
whose repeated group keeps state for each attribute-like token it passes. A page of ``'<a ' * 1.7M``
(5 MB) is one "tag" of 1.7 million tokens: ~900 MB for that one match (``'<a x=">" '`` repeated does the
same across the ``>`` inside its quotes). No real tag runs that far, so a start tag that reaches more
than ``TAG_BOUND`` characters from its ``<`` is neutralised: the tag but its last ``TAG_BOUND``
characters is left out (its line breaks stay, so lines are counted as before). A browser shows nothing
of it either: it is the tag's attribute names and values (so is every ``<`` in it), or, where the page
ends first, a tag the browser drops. What is left of it reads as text, and no tag html.parser then
meets runs further. (Writing each ``<`` as ``&lt;`` instead would leave a million character references
to read, one call or one match object each: ~200 MB and seconds.)

The page is walked once, left to right, as html.parser walks it: comments to ``--\\s*>``, ``</``,
``<!`` and ``<?`` to the next ``>``, a script's or style's text to its end tag, a start tag as far as
html.parser's own expression reaches (a copy whose repetition is possessive: the same reach, constant
memory). Each match resumes where the previous one ended, so the walk is linear in the page.

The trade-off: a legitimate tag longer than the bound is lost: what it holds is left out, its last part read as text. That is an
element with a huge quoted attribute, typically ``<img src="data:...">`` with more than 128 KB of
inline image: the checks never need such an element (no snippet, link or refresh lives in an image).
What follows the tag is read as before, so a snippet before or after it is still found. Script text
is never touched (a script is skipped to its end tag), unless its own ``<script ...>`` tag is the one
that runs too far.
"""

from __future__ import annotations

import re

TAG_BOUND = 128 * 1024  # characters from a start tag's '<' to its end; beyond, it is no tag

# html.parser's locatestarttagend_tolerant (Python 3.11) with its repeated group made possessive (*+):
# nothing after the group can fail, so the reach is the same, without a saved state per token.
_START_TAG = r"""
  <(?P<name>[a-zA-Z][^\t\n\r\f />\x00]*)
  (?:[\s/]*
    (?:(?<=['"\s/])[^\s/>][^\s/=>]*
      (?:\s*=+\s*(?:'[^']*'|"[^"]*"|(?!['"])[^>\s]*)\s*)?(?:\s|/(?!>))*
    )*+
  )?
  \s*"""
_TOKENS = re.compile(
    r"(?P<comment><!--(?:.*?--\s*>|.*))"  # an unclosed comment runs to the end of the page
    r"|<[/!?][^>]*>?"  # end tags, declarations, bogus comments, processing instructions
    r"|" + _START_TAG,
    re.DOTALL | re.VERBOSE,
)
_RAW_TEXT = {"script": re.compile(r"</\s*script\s*>", re.IGNORECASE), "style": re.compile(r"</\s*style\s*>", re.IGNORECASE)}


def bound_tags(text: str, bound: int = TAG_BOUND) -> str:
    """``text`` with every start tag that runs more than ``bound`` characters neutralised (see above)."""
    pieces: list[str] = []
    done = pos = 0  # text[:done] is in pieces; the walk resumes at pos
    while True:
        for match in _TOKENS.finditer(text, pos):
            name = match.group("name")
            if name is None:
                continue
            start, end = match.span()
            if end - start > bound:
                break
            raw = _RAW_TEXT.get(name.lower())
            if raw is not None and text.startswith(">", end):  # html.parser reads its text raw, to its end tag
                close = raw.search(text, end)
                pos = close.end() if close else len(text)
                break
        else:
            break
        if name is not None and end - start > bound:  # a tag that runs too far
            pos = max(start + 1, end - bound)
            head = text[start:pos]  # inside the tag, where a browser shows nothing: only its line breaks stay
            pieces += (text[done:start], "\n" * head.count("\n") or " ")
            done = pos
    pieces.append(text[done:])
    return "".join(pieces)
