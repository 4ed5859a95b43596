"""What the snippet check reads of a page, in one streaming pass and without building a tree: the
script elements, the elements whose event handlers name the PartnerStack global, the comments and
the title, each element with its line and whether it sits inside ``<head>``.

The tokenizer is the standard library's ``html.parser`` (the one BeautifulSoup's html.parser builder
uses: the same tags, attributes and script text), and elements nest as that builder nests them (an end
tag closes the most recent open element of its name, and every element opened after it; a void or
self-closing element holds nothing). A tree of a hostile page costs a Python object per element (a
page of 200,000 unclosed ``<div>`` took seconds and hundreds of MB); this pass keeps only a stack of
names. Where html.parser's own recovery differs, this follows HTML5 as browsers do:

- a construct still open at the end of the page is not re-read character by character (html.parser
  before Python 3.11.13 / 3.12.11 / 3.13.5 reads it again from each ``<``: quadratic, so a page of
  ``<a `` repeated hangs): a comment or a ``<!``/``<?`` section runs to the end of the page, a tag
  cut short is dropped, and so is the text of a script still open (a browser never runs it);
- character references are read as text is (``convert_charrefs``): a malformed ``&#`` never turns
  the rest of the page into text, as it does under BeautifulSoup's own reference handling;
- ``<![...`` is a bogus comment (HTML5), never the "unknown marked section" html.parser raises on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser

from diagnose.core.reading import clean_text
from diagnose.web.html_bounds import bound_tags

TITLE_MAX = 300  # characters of the page's title kept
# Elements html.parser's BeautifulSoup builder never leaves open (HTML's void elements and the old ones
# it knows), and those whose text is not the page's text (script, style, template, ruby annotations).
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "menuitem",
                   "meta", "param", "source", "track", "wbr", "basefont", "bgsound", "command", "frame",
                   "image", "isindex", "nextid", "spacer"})
_NOT_TEXT = frozenset({"script", "style", "template", "rt", "rp"})
# A numeric reference longer than any code point stands for U+FFFD (html.unescape would raise on
# thousands of digits: Python's limit on int() of long strings). Linear.
_HUGE_CHARREF_RE = re.compile(r"&#(?:[xX]0*[0-9a-fA-F]{7,}|0*[0-9]{8,});?")


@dataclass(slots=True)
class Element:
    name: str
    attrs: dict[str, str]
    in_head: bool
    line: int
    text: str = ""  # a script's code

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)


@dataclass
class Outline:
    elements: list[Element] = field(default_factory=list)  # scripts and handler-bearing elements, in order
    comments: list[str] = field(default_factory=list)
    title: str | None = None


def names_the_global(value: str) -> bool:
    return "growsumo" in value or "partnerstack" in value


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.outline = Outline()
        self.stack: list[str] = []
        self.open: dict[str, int] = {}  # name -> how many of the stack
        self.heads = self.not_text = 0  # open <head> / script-like elements
        self.script: Element | None = None  # the script whose text is being read
        self.chunks: list[str] = []
        self.title_at: int | None = None  # stack depth of the open <title>, while its text is read
        self.title: list[str] | None = None
        self.title_size = 0
        self.pending: list[str] = []  # one string of the title, until the next tag or comment

    # -- the stack -----------------------------------------------------------------------------

    def _push(self, name: str) -> None:
        self.stack.append(name)
        self.open[name] = self.open.get(name, 0) + 1
        self.heads += name == "head"
        self.not_text += name in _NOT_TEXT

    def _pop_to(self, name: str) -> None:
        while self.open.get(name):
            top = self.stack.pop()
            self.open[top] -= 1
            self.heads -= top == "head"
            self.not_text -= top in _NOT_TEXT
            if top == "script":
                self._end_script()
            if self.title_at is not None and len(self.stack) < self.title_at:
                self._end_title()
            if top == name:
                break

    # -- events --------------------------------------------------------------------------------

    def _element(self, name: str, attrs: list[tuple[str, str | None]]) -> Element | None:
        if name != "script" and not any(k.startswith("on") and v and names_the_global(v) for k, v in attrs):
            return None  # most elements: nothing built
        pairs = {k: v or "" for k, v in attrs}  # a repeated attribute: the last one, as BeautifulSoup keeps
        element = Element(name, pairs, name == "head" or self.heads > 0, self.getpos()[0])
        self.outline.elements.append(element)
        return element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._text_ends()
        element = self._element(tag, attrs)
        if tag == "title" and self.outline.title is None and self.title is None:
            self.title, self.title_at = [], len(self.stack) + 1
        if tag in _VOID:
            return
        self._push(tag)
        if tag == "script":
            self.script, self.chunks = element, []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._text_ends()
        self._element(tag, attrs)
        if tag == "title" and self.outline.title is None and self.title is None:
            self.outline.title = ""

    def handle_endtag(self, tag: str) -> None:
        self._text_ends()
        self._pop_to(tag)

    def handle_data(self, data: str) -> None:
        if self.script is not None:
            self.chunks.append(data)
        elif self.title is not None and not self.not_text and self.title_size <= TITLE_MAX:
            self.pending.append(data)
            self.title_size += len(data)

    def handle_comment(self, data: str) -> None:
        self._text_ends()
        self.outline.comments.append(data)

    def handle_decl(self, decl: str) -> None:
        self._text_ends()

    def handle_pi(self, data: str) -> None:
        self._text_ends()

    def unknown_decl(self, data: str) -> None:
        self._text_ends()

    def parse_html_declaration(self, i: int) -> int:
        if self.rawdata.startswith("<![", i):  # HTML5: a bogus comment (html.parser raises on some)
            return self.parse_bogus_comment(i)
        return super().parse_html_declaration(i)

    # -- text, scripts and the title -----------------------------------------------------------

    def _text_ends(self) -> None:
        if self.pending:
            text = "".join(self.pending).strip()
            if text and self.title is not None:
                self.title.append(text)
            self.pending = []

    def _end_script(self) -> None:
        element, self.script = self.script, None
        if element is None:
            return
        element.text = "".join(self.chunks)
        self.chunks = []
        outline = self.outline.elements
        if (not element.text and "src" not in element.attrs and outline and outline[-1] is element
                and not any(k.startswith("on") and names_the_global(v) for k, v in element.attrs.items())):
            outline.pop()  # an empty script without a source or a handler says nothing

    def _end_title(self) -> None:
        self._text_ends()
        if self.title is not None:
            self.outline.title = " ".join(self.title)[:TITLE_MAX]
        self.title, self.title_at = None, None

    def finish(self) -> Outline:
        """The end of the page: what html.parser left open is read as HTML5 reads it (see above)."""
        rest, self.rawdata = self.rawdata, ""
        if self.cdata_elem:
            pass  # the rest of an unclosed script: a browser never runs it
        elif rest.startswith("<!--"):
            self.handle_comment(rest[4:])
        elif rest.startswith(("<!", "<?")):
            self.handle_comment(rest[2:])
        elif rest.startswith("<") and len(rest) > 1:
            pass  # a tag cut short by the end of the page: dropped
        elif rest:
            self.handle_data(unescape(rest))
        self._text_ends()
        while self.stack:
            self._pop_to(self.stack[-1])
        if self.title is not None:
            self._end_title()
        return self.outline


def outline(html: str) -> Outline:
    """Read ``html`` once: its scripts, handler-bearing elements, comments and title."""
    reader = _Reader()
    reader.feed(bound_tags(_HUGE_CHARREF_RE.sub("&#xFFFD;", clean_text(html))))  # no tag runs past TAG_BOUND
    return reader.finish()
