"""Redaction for a report that leaves the company (``--redact``), driven by what the evidence types
and the ticket declare about their fields (``core.evidence.sensitive``), not by lists of field names.

Two passes over the report's JSON form, each walked alongside its types:
1. collect: every field marked sensitive gives its value (rows are dropped and paths cut to the
   file name in place; e-mails, cookie values, names, provider ids and other partners' keys are
   remembered);
2. hide: in every string anywhere (URLs, messages, reasons, tables, the ticket) each remembered value
   is replaced in every spelling it is commonly written in (pipeline/spellings.py: in another case,
   percent-encoded, escaped, base64-encoded as a gspk carries a partner key), and every e-mail
   address is masked, remembered or not, in any legal form (non-ASCII, RFC 5322 atext such as
   apostrophes, quoted local parts) and spelling ('%40', '\\u0040', '&#64;'), inside URLs' query
   strings too. A value is hidden wherever it appears, not only in its field. So is anything written
   like a secret API key, whole or cut short (core.partnerstack.SECRET_KEY_TEXT_RE).

Both passes read untrusted text in linear time: values are looked for with ``str.find`` in a
decoded copy of the text, and the address scanner finds each '@' first and reads the address's
parts by hand or with patterns whose quantifiers cannot overlap.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from pathlib import PurePath
from typing import Any

from diagnose.core.evidence import EVIDENCE_TYPES
from diagnose.core.partnerstack import SECRET_KEY_TEXT_RE
from diagnose.core.ticket import Ticket
from diagnose.pipeline.spellings import canonical, find, needles

# -- e-mail addresses ------------------------------------------------------------------------------

# "@" as text, a URL (percent-encoded once or twice), JSON / JS / Python escapes and HTML write it
_AT_RE = re.compile(r"@|\uff20|\ufe6b|%(?:25)?40|\\u0040|\\x40|&#0*64;|&#x0*40;", re.IGNORECASE)
# what a local part is made of besides letters and digits (any script): RFC 5322 atext and dots,
# and the '\' and ';' that its escaped spellings bring in; any other non-ASCII character (RFC 6531)
_LOCAL_PUNCT = frozenset("!#$%&'*+/=?^_`{|}~.-\\;")
_URL_DELIMS = frozenset("/?&=#;")  # inside a URL these separate its parts (an address's own are encoded)
_DOMAIN_CHAR = (r"(?:[^\W_]|[-\u00ad\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u200b-\u200d\u2060\ufe20-\ufe2f\ufeff]"
                r"|%(?!40|2[Ee])[0-9A-Fa-f]{2}|\\u(?!0040)[0-9A-Fa-f]{4}|\\x(?!40)[0-9A-Fa-f]{2}"
                r"|&#(?!0*64;)[0-9]{1,7};|&#[xX](?!0*40;)[0-9A-Fa-f]{1,6};)")
_DOMAIN_RE = re.compile(rf"\[[^\]\s]{{1,64}}\]|{_DOMAIN_CHAR}+(?:(?:\.|%2[Ee]|[\u3002\uff0e\uff61]){_DOMAIN_CHAR}+)*")
_REF_END = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,9});$")
_DOMAIN_SPAN = 1024  # characters a domain is read in, at most
_URL_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]{0,30}://\S*")
_A_URL = re.compile(r"[a-z][a-z0-9+.\-]{0,30}://")  # a whole value that is a URL (canonical: lower case)


def _is_local(c: str, in_url: bool) -> bool:
    if c.isalnum():
        return True
    if c in _LOCAL_PUNCT:
        return not (in_url and c in _URL_DELIMS)
    return not c.isascii() and not c.isspace()


def _local_start(text: str, end: int, floor: int, in_url: bool) -> int:
    """Where the local part ending at ``end`` starts (``end`` when there is none), not before ``floor``."""
    if end - floor >= 3 and text[end - 1] == '"':  # a quoted local part: "kim secret"@example.com
        start = text.rfind('"', max(floor, end - 130), end - 1)
        if start >= 0 and end - start > 2 and "\n" not in text[start:end]:
            return start
    i = end
    while i > floor and _is_local(text[i - 1], in_url):
        if text[i - 1] == ";":  # an HTML reference: '&#235;' and '&amp;' can be part of an address, '&lt;' not
            ref = _REF_END.search(text, max(floor, i - 12), i)
            if ref is not None:
                if not _is_local(_referenced(ref.group(1)), in_url):
                    break
                i = ref.start() + 1
        i -= 1
    return i


def _referenced(name: str) -> str:
    """The character an HTML reference stands for (a letter for a named one this does not know)."""
    if name[:1] != "#":
        return {"lt": "<", "gt": ">", "quot": '"', "nbsp": " ", "amp": "&", "apos": "'"}.get(name.lower(), "a")
    code = int(name[1:].lstrip("xX"), 16 if name[1:2] in "xX" else 10)
    return chr(code) if code <= 0x10FFFF else "a"


def _domain_ok(domain: str) -> bool:
    return domain.startswith("[") or any(c.isalpha() for c in domain) or domain.count(".") >= 3


def _mask_local(local: str) -> str:
    """'kim.safari' -> 'k***'; leading quotes or brackets stay ("'Kim" -> "'K***")."""
    if len(local) > 2 and local[0] == local[-1] == '"':
        return '"' + _mask_local(local[1:-1]) + '"'
    i = 0
    while i < len(local) and not local[i].isalnum():
        i += 1
    return local[:i] + local[i:i + 1] + "***"


def mask_email(text: str) -> str:
    """Mask the local part of every e-mail address in ``text``: 'kim.safari@example.com' -> 'k***@example.com',
    'email=Kim.O%27Neil%40example.com' -> 'email=K***%40example.com'; the domain stays."""
    if not _AT_RE.search(text):
        return text
    urls = [m.span() for m in _URL_RE.finditer(text)]
    out: list[str] = []
    done = floor = u = 0
    for at in _AT_RE.finditer(text):
        s, e = at.span()
        if s < done:
            continue
        while u < len(urls) and urls[u][1] <= s:
            u += 1
        start = _local_start(text, s, max(floor, done), u < len(urls) and urls[u][0] <= s)
        if start == s:  # nothing before the '@' but a URL's delimiter: read it as text
            start = _local_start(text, s, max(floor, done), False)
        floor = e  # a local part never reaches back over another '@'
        domain = _DOMAIN_RE.match(text, e, min(len(text), e + _DOMAIN_SPAN))
        if start == s or domain is None or not _domain_ok(domain.group()):
            continue
        out += [text[done:start], _mask_local(text[start:s]), at.group(), domain.group()]
        done = domain.end()
    return "".join(out) + text[done:]


def mask_secret_keys(text: str) -> str:
    """Mask every PartnerStack secret key, whole or cut short: 'sk_live_abc123' and 'sk_test_XYZ' ->
    'sk_***' (which stays as it is when redacted again); 'task_list' and public keys ('pk_...') stay."""
    return SECRET_KEY_TEXT_RE.sub("sk_***", text) if "sk" in text.lower() else text


def mask_value(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    return value[:2] + "***" if len(value) > 4 else "***"


def mask_name(name: str) -> str:
    """'Kim Safari' -> 'K*** S***'."""
    return " ".join(w[0] + "***" for w in name.split())


# -- hiding remembered values, then every address ------------------------------------------------

_SPACE_RE = re.compile(r"\s")


class _Hider:
    """Replaces remembered values (in every spelling: pipeline/spellings.py), then masks e-mail
    addresses and secret API keys."""

    def __init__(self, hide: dict[str, str]):
        self.wanted = [n for value in sorted(hide, key=len, reverse=True) for n in needles(value, hide[value])]

    def __call__(self, text: str) -> str:
        hits = find(text, self.wanted)
        if hits:
            token = _SPACE_RE.search(text) is None  # a URL stays one token: no space comes into it
            out, pos = [], 0
            for start, end, shown in hits:
                whole = (start, end) == (0, len(text))
                out += [text[pos:start], "-".join(shown.split()) if token and not whole else shown]
                pos = end
            text = "".join(out) + text[pos:]
        return mask_secret_keys(mask_email(text))


# -- collect: what the types say is sensitive ------------------------------------------------------


def _inner(tp: Any) -> Any:
    """The dataclass inside Optional[...] / tuple[..., ...] / list[...], if any."""
    if dataclasses.is_dataclass(tp):
        return tp
    for arg in typing.get_args(tp):
        found = _inner(arg)
        if found is not None:
            return found
    return None


_PRIORITY = {"secret": 1, "account": 2, "person": 3, "email": 4, "partner": 5}  # one value, two kinds: the higher


_hints = functools.cache(typing.get_type_hints)  # an evidence type's field types (read once, not per node)


class _Collector:
    def __init__(self, own_partner: str | None):
        self.own_partner = own_partner
        self.hide: dict[str, tuple[int, str]] = {}  # value -> (priority, what stands in its place)

    def remember(self, kind: str, value: Any) -> None:
        if not isinstance(value, str) or not value.strip() or kind not in _PRIORITY:
            return
        value = value.strip()
        if value == self.own_partner or _A_URL.match(canonical(value).text):
            return  # the asking partner's own key is theirs to see; a URL is no opaque value (what
            # is private in it - an address, another partner's key - is hidden on its own)
        if kind == "partner":
            shown = "another partner"
        elif kind == "person":
            shown = mask_name(value)  # the whole name: its words alone are ordinary words
        elif kind == "email":
            shown = mask_email(value) if _AT_RE.search(value) else mask_name(value)  # a query may be a name
            if shown == value:
                return  # masked already (a redacted report redacted again)
        else:
            shown = mask_value(value)
        if self.hide.get(value, (0, ""))[0] < _PRIORITY[kind]:
            self.hide[value] = (_PRIORITY[kind], shown)

    def walk(self, tp: type, node: Any) -> None:
        """Act on the sensitive fields of ``node`` (the JSON form of a ``tp``) in place."""
        if isinstance(node, list):
            for item in node:
                self.walk(tp, item)
            return
        if not isinstance(node, dict):
            return
        hints = _hints(tp)
        for f in dataclasses.fields(tp):
            if f.name not in node:
                continue
            kind = f.metadata.get("sensitive")
            value = node[f.name]
            if kind == "rows":
                node[f.name] = []
                continue
            if kind == "path" and isinstance(value, str):
                node[f.name] = PurePath(value).name
            elif kind == "secret" and isinstance(value, str):
                node[f.name] = mask_value(value)
            if kind:
                self.remember(kind, value)
            inner = _inner(hints[f.name])
            if inner is not None:
                self.walk(inner, value)


# -- hide: every string, anywhere ------------------------------------------------------------------

# Fields that hold the tool's own vocabulary (check names, codes, ids, statuses), never a user's value.
VOCABULARY = frozenset({"check", "status", "severity", "code", "id", "verdict", "kind", "field", "bucket",
                        "match_reason", "dashboard_status_class", "policy", "how", "format", "source", "redacted"})


def _hide_everywhere(node: Any, hide: _Hider, key: str | None = None) -> Any:
    if isinstance(node, dict):  # keys are field names or data (a CSV's column names): e-mails go
        return {mask_email(k) if isinstance(k, str) else k: _hide_everywhere(v, hide, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_hide_everywhere(v, hide, key) for v in node]
    if isinstance(node, str) and key not in VOCABULARY:
        return hide(node)
    return node


def redact_data(data: dict[str, Any]) -> dict[str, Any]:
    """Redact a report's JSON form (``ticket``, ``evidence``, and anything else: every string)."""
    from diagnose.checks import load_all

    load_all()
    ticket = data.get("ticket") or {}
    collector = _Collector(ticket.get("partner_key"))
    collector.walk(Ticket, ticket)
    for result in (data.get("evidence") or {}).values():
        tp = EVIDENCE_TYPES.get(result.get("check")) if isinstance(result, dict) else None
        if tp is not None:
            collector.walk(tp, result)
    return _hide_everywhere(data, _Hider({v: shown for v, (_, shown) in collector.hide.items()}))
