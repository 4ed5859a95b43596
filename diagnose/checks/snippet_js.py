"""Reading (never running) the JavaScript of a page for the snippet check: comments, ``_initialize``
calls, which URL literals a loader actually loads, and site code that replaces ``growsumo``.

Pages are hostile: every regular expression here is linear or runs on a bounded slice of the text.
"""

from __future__ import annotations

import re

_OBJ = r"""(?:(?:window|self|globalThis)\s*(?:\.\s*|\[\s*['"]))?(?P<obj>growsumo|partnerstack)(?:['"]\s*\])?"""
# `growsumo._initialize(` - the call's head; its first argument is cut by hand (init_calls).
_INIT_HEAD_RE = re.compile(_OBJ + r"\s*(?:\.\s*_initialize|\[\s*['\"]_initialize['\"]\s*\])\s*\(")
_MAX_ARG = 400  # a first argument longer than this is not a key
_SRC_LITERAL_RE = re.compile(r"""['"`](?P<src>(?:https?:)?//[^'"`\s]+|/pr/js[^'"`\s]*)['"`]""")
_DATA_ASSIGN_RE = re.compile(
    _OBJ + r"""\s*(?:\.\s*data|\[\s*['"]data['"]\s*\])\s*=(?![=>])\s*(?P<rhs>[^;\n]{0,200})"""
)
_ASSIGN_DATA_RE = re.compile(  # Object.assign(growsumo, {data: ...})
    r"Object\s*\.\s*assign\s*\(\s*" + _OBJ + r"\s*,\s*\{[^}]{0,200}?\bdata\s*:"
)
_GLOBAL_ASSIGN_RE = re.compile(
    r"(?:(?:window|self|globalThis)\s*\.\s*|\b(?:var|let|const)\s+|(?<![\w.$]))"
    r"(?P<obj>growsumo|partnerstack)\s*=(?![=>])\s*(?P<rhs>[^;\n]{0,200})"
)
_DATA_DELETE_RE = re.compile(r"\bdelete\s+(?:window\s*\.\s*)?(?P<obj>growsumo|partnerstack)(?:\s*\.\s*data)?")
# A reference to the global itself (reading it, not replacing it), then the end of the expression
# or a fallback: `window.growsumo`, `growsumo || {}`, `window['growsumo'] ?? {}`.
_GLOBAL_REF_RE = re.compile(
    r"""(?:(?:window|self|globalThis)\s*(?:\.\s*|\[\s*['"]))?(?P<ref>growsumo|partnerstack)(?:['"]\s*\])?"""
    r"""\s*(?:\|\||\?\?|[,;)}\]]|$)"""
)
_ALIAS_RE = re.compile(  # const gs = window.growsumo  (a local name for the global)
    r"(?<![\w$.])(?:var|let|const)\s+(?P<name>[A-Za-z_$][\w$]{0,60})\s*=\s*"
    r"""(?:(?:window|self|globalThis)\s*(?:\.\s*|\[\s*['"]))?(?:growsumo|partnerstack)(?:['"]\s*\])?"""
    r"""\s*(?:\|\||\?\?|[,;)\n]|$)"""
)
_MAX_ALIASES = 8

# Where a URL literal is a script's source: the end of the text before it (after the last
# expression break) must be one of these sinks. Each runs on a short slice ending at the literal.
_BREAKS = "[]{}();,=:\n"
_BLANKED = _BREAKS + "'\"`"  # blanked inside string literals (mask_strings)
_SRC_PROP_END = re.compile(r"""(?:\.\s*src|\[\s*['"`]src['"`]\s*\])\s*=\Z""")
_SET_ATTR_END = re.compile(r"""setAttribute\s*\(\s*['"`]src['"`]\s*,\Z""")
_SRC_KEY_END = re.compile(r"""(?<![\w$])['"]?src['"]?\s*:\Z""")
_MARKUP_SRC_END = re.compile(r"""\ssrc\s*=\s*\\?\Z""", re.IGNORECASE)  # <script ... src=  inside a string
_CALLEE_END = re.compile(r"(?<![\w$])(?P<name>[A-Za-z_$][\w$]{0,60})\s*\(\Z")
_VAR_END = re.compile(r"(?<![\w$.])(?P<name>[A-Za-z_$][\w$]{0,60}(?:\.[A-Za-z_$][\w$]{0,60}){0,3})\s*=\Z")
_NAME = r"(?P<name>[A-Za-z_$][\w$]{0,60}(?:\.[A-Za-z_$][\w$]{0,60}){0,3})(?![\w$.(\[])"
_SINK_USES = (  # a variable handed to a script element or a loader
    re.compile(r"""(?:\.\s*src|\[\s*['"`]src['"`]\s*\])\s*=(?!=)\s*""" + _NAME),
    re.compile(r"""setAttribute\s*\(\s*['"`]src['"`]\s*,\s*""" + _NAME),
    re.compile(r"""(?<![\w$])['"]?src['"]?\s*:\s*""" + _NAME),
    re.compile(r"(?<![\w$])(?P<callee>[A-Za-z_$][\w$]{0,60})\s*\(\s*" + _NAME + r"\s*[,)]"),
)


def strip_js_comments(code: str) -> str:
    """Remove // and /* */ comments, leaving string literals (and URLs in them) alone."""
    out: list[str] = []
    i, n = 0, len(code)
    quote: str | None = None
    while i < n:
        c = code[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(code[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
            i += 1
            continue
        if c in "'\"`":
            quote = c
            out.append(c)
            i += 1
        elif code.startswith("//", i):
            end = code.find("\n", i)
            i = n if end < 0 else end
        elif code.startswith("/*", i):
            end = code.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def init_calls(code: str) -> list[str]:
    """The first argument (source text, trimmed) of every ``_initialize(...)`` call in ``code``: the
    text up to the first ``,`` or ``)``, when a ``)`` closes the call and the argument is at most
    400 characters. Linear: the next ``,`` and ``)`` are found once and reused by the calls after."""
    args: list[str] = []
    comma = close = -1
    resume = 0
    for head in _INIT_HEAD_RE.finditer(code):
        start = head.end()
        if head.start() < resume:
            continue  # inside the previous call's parentheses
        if close < start:
            close = code.find(")", start)
            if close < 0:
                break  # no call after this one is closed either
        if comma < start:
            comma = code.find(",", start)
            if comma < 0:
                comma = len(code)
        end = min(comma, close)
        if end - start > _MAX_ARG * 10:
            continue
        arg = code[start:end].strip()
        if len(arg) <= _MAX_ARG:
            args.append(arg)
            resume = close + 1
    return args


def is_loader_name(name: str) -> bool:
    """A function that loads a script: loadScript, $.getScript, injectScript, loadjs, import, require."""
    low = name.lower()
    return "script" in low or low.startswith(("load", "inject")) or low in ("import", "require")


def _sink_names(code: str) -> set[str]:
    names = set()
    for pattern in _SINK_USES:
        for m in pattern.finditer(code):
            if "callee" in m.groupdict() and not is_loader_name(m.group("callee")):
                continue
            names.add(m.group("name"))
    return names


def mask_strings(code: str) -> str:
    """``code`` with the expression breaks and quotes inside string literals blanked out (same
    length), so that a URL's context can be read without tripping over other strings."""
    out = list(code)
    i, n = 0, len(code)
    quote: str | None = None
    while i < n:
        c = code[i]
        if quote:
            if c == "\\" and i + 1 < n:
                out[i] = " "
                if code[i + 1] in _BLANKED:
                    out[i + 1] = " "
                i += 2
                continue
            if c == quote or (c == "\n" and quote != "`"):  # '' and "" strings end at a line's end
                quote = None
            elif c in _BLANKED:
                out[i] = " "
        elif c in "'\"`":
            quote = c
        i += 1
    return "".join(out)


def _in_script_markup(code: str, start: int) -> bool:
    """A URL inside a string of markup: ``'<script src="URL">'`` (document.write, jQuery append)."""
    window = code[max(0, start - 240):start]
    tag = window.lower().rfind("<script")
    return tag >= 0 and ">" not in window[tag:] and _MARKUP_SRC_END.search(window) is not None


def _sink_before(masked: str, start: int, sink_names) -> bool:
    """Is the literal starting at ``start`` handed to a script (src, setAttribute, a loader call, or
    a variable that is)? Only the 240 characters before it are read, strings blanked out."""
    window = masked[max(0, start - 240):start]
    cut = max(window.rfind(c) for c in _BREAKS)
    if cut < 0:
        return False
    head = window[:cut + 1]
    last = head[-1]
    tail = head[-120:]
    if last == "=":
        if len(head) > 1 and head[-2] in "=!<>+-*/%&|^":
            return False  # a comparison or a compound assignment, not a plain one
        if _SRC_PROP_END.search(tail):
            return True
        var = _VAR_END.search(tail)
        return bool(var) and var.group("name") in sink_names()
    if last == ",":
        return bool(_SET_ATTR_END.search(tail))
    if last == ":":
        return bool(_SRC_KEY_END.search(tail))
    if last == "(":
        callee = _CALLEE_END.search(tail)
        return bool(callee) and is_loader_name(callee.group("name"))
    return False


def src_literals(code: str, keep=None) -> list[tuple[str, bool]]:
    """Every URL-like string literal in ``code`` (comments already stripped; only those ``keep``
    accepts), with whether the code hands it to a script: ``x.src = URL``, ``setAttribute('src',
    URL)``, ``{src: URL}``, ``loadScript(URL)``, a variable later used so, or ``<script src=URL>``
    markup in a string. A URL in a list, a comparison or a log line loads nothing."""
    found = [m for m in _SRC_LITERAL_RE.finditer(code) if keep is None or keep(m.group("src"))]
    if not found:
        return []
    masked = mask_strings(code)
    cache: list[set[str]] = []

    def sink_names() -> set[str]:
        if not cache:
            cache.append(_sink_names(masked))
        return cache[0]

    out = []
    for m in found:
        if masked[m.start()] == " ":  # the quote is inside another string: markup, or just text
            loaded = _in_script_markup(code, m.start())
        else:
            loaded = _sink_before(masked, m.start(), sink_names)
        out.append((m.group("src"), loaded))
    return out


def _keeps_data(rhs: str, names: tuple[str, ...]) -> bool:
    """Does the new value of ``growsumo.data`` merge the old one, or set the partner key itself?"""
    merged = "|".join(re.escape(n) for n in names)
    return re.search(rf"(?:{merged})\s*\.\s*data|\bpartner_key\s*:", rhs) is not None


def overwrites(code: str) -> list[str]:
    """Site code (comments stripped) that replaces ``growsumo`` / ``growsumo.data`` (or deletes it).
    Reading or aliasing the global (``var growsumo = window.growsumo``, ``window.growsumo = growsumo``,
    ``const gs = window.growsumo``) is not replacing it; replacing ``data`` through an alias is."""
    found = []
    for match in _DATA_ASSIGN_RE.finditer(code):
        if _keeps_data(match.group("rhs"), ("growsumo", "partnerstack")):
            continue  # merges the existing data, or sets the partner key itself
        found.append(match.group(0).strip()[:160])
    for match in _ASSIGN_DATA_RE.finditer(code):
        found.append(match.group(0).strip()[:160])
    for match in _GLOBAL_ASSIGN_RE.finditer(code):
        if _GLOBAL_REF_RE.match(match.group("rhs").strip()):
            continue  # `growsumo = window.growsumo || {}`, `window.growsumo = growsumo`: the same object
        found.append(match.group(0).strip()[:160])
    for match in _DATA_DELETE_RE.finditer(code):
        found.append(match.group(0).strip()[:160])
    aliases = []
    for match in _ALIAS_RE.finditer(code):
        name = match.group("name")
        if name not in ("growsumo", "partnerstack") and name not in aliases:
            aliases.append(name)
        if len(aliases) >= _MAX_ALIASES:
            break
    for name in aliases:
        pattern = re.compile(
            rf"""(?<![\w$.]){re.escape(name)}\s*(?:\.\s*data|\[\s*['"]data['"]\s*\])\s*=(?![=>])\s*(?P<rhs>[^;\n]{{0,200}})"""
        )
        for match in pattern.finditer(code):
            if not _keeps_data(match.group("rhs"), (name, "growsumo", "partnerstack")):
                found.append(match.group(0).strip()[:160])
    return found
