"""Check: is the PartnerStackJS snippet in the landing page's static HTML, and with which key?

The page is parsed with BeautifulSoup and never executed. A snippet is an inline script calling
``growsumo._initialize(...)`` (or ``partnerstack._initialize``) and/or a script loaded from a
known PartnerStack host. Snippets injected at runtime are invisible here: ``diagnose cookie``
looks at the page in a real browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from diagnose import net
from diagnose.errors import BadInput
from diagnose.evidence import CheckResult, Problem, evidence, fail, warn
from diagnose.platforms import PUBLIC_KEY_RE, SECRET_KEY_RE

KNOWN_SCRIPT_HOSTS = ("js.partnerstack.com", "snippet.growsumo.com")
KEY_STATUSES = ("ok", "missing", "placeholder", "malformed", "mismatch", "unresolved")
_JS_TYPES = {"", "text/javascript", "application/javascript", "module", "text/ecmascript",
             "application/ecmascript", "text/jsx", "text/babel"}

_OBJ = r"""(?:(?:window|self|globalThis)\s*(?:\.\s*|\[\s*['"]))?(?P<obj>growsumo|partnerstack)(?:['"]\s*\])?"""
_INIT_RE = re.compile(
    _OBJ + r"\s*(?:\.\s*_initialize|\[\s*['\"]_initialize['\"]\s*\])\s*\(\s*(?P<arg>[^)]{0,400}?)\s*(?:,[^)]*)?\)"
)
_STRING_RE = re.compile(r"""^(?P<q>['"`])(?P<val>(?:\\.|(?!(?P=q)).)*)(?P=q)$""", re.DOTALL)
_SRC_LITERAL_RE = re.compile(r"""['"`](?P<src>(?:https?:)?//[^'"`\s]+|/pr/js[^'"`\s]*)['"`]""")
_PLACEHOLDER_RE = re.compile(
    r"\$\{|\{\{|\{%|<\?|<%|#\{|\[\[|%[A-Za-z_]+%|__[A-Za-z_]+__|YOUR[_\s-]|INSERT|REPLACE|"
    r"PUBLIC[_\s-]?KEY|<[A-Za-z_ ]+>|^x{3,}$|XXXX|\.\.\.|…",
    re.IGNORECASE,
)
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


def is_snippet_src(src: str, base: str | None = None) -> bool:
    try:
        parts = urlsplit(urljoin(base or "https://example.invalid/", src.strip()))
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return host in KNOWN_SCRIPT_HOSTS or parts.path.rstrip("/") == "/pr/js" or parts.path.startswith("/pr/js/")


def key_status(arg: str, expected: str | None) -> tuple[str, str | None]:
    """Classify the argument source text of ``_initialize``: (status, key or expression)."""
    arg = arg.strip()
    if not arg or arg in ("undefined", "null", "void 0"):
        return "missing", None
    match = _STRING_RE.match(arg)
    if not match:
        if _PLACEHOLDER_RE.search(arg):
            return "placeholder", arg
        return "unresolved", arg
    value = match.group("val")
    if match.group("q") == "`" and "${" in value:
        return "placeholder", value
    if not value.strip():
        return "missing", value
    if PUBLIC_KEY_RE.fullmatch(value.strip()):
        if expected and value.strip() != expected:
            return "mismatch", value.strip()
        return "ok", value.strip()
    if _PLACEHOLDER_RE.search(value):
        return "placeholder", value
    return "malformed", value


@dataclass(frozen=True)
class SnippetInstance:
    how: str  # "inline" (an _initialize call) or "script-src" (a script tag on a known host)
    in_head: bool
    line: int | None
    script_src: str | None = None
    public_key: str | None = None
    public_key_status: str | None = None
    script_type: str | None = None


@evidence("snippet")
@dataclass(frozen=True)
class SnippetEvidence:
    url: str | None = None
    file: str | None = None
    http_status: int | None = None
    page_title: str | None = None
    snippet_found: bool = False
    in_head: bool | None = None
    script_src: str | None = None
    script_host: str | None = None
    public_key: str | None = None
    public_key_status: str | None = None
    expected_public_key: str | None = None
    commented_out: bool = False
    instances: tuple[SnippetInstance, ...] = ()
    keys: tuple[str, ...] = ()
    data_overwrites: tuple[str, ...] = ()  # site code that replaces growsumo / growsumo.data
    secret_key_exposed: bool = False


def _overwrites(code: str) -> list[str]:
    found = []
    for match in _DATA_ASSIGN_RE.finditer(code):
        rhs = match.group("rhs")
        if re.search(rf"{match.group('obj')}\s*\.\s*data|\bpartner_key\s*:", rhs):
            continue  # merges the existing data, or sets the partner key itself
        found.append(match.group(0).strip()[:160])
    for match in _ASSIGN_DATA_RE.finditer(code):
        found.append(match.group(0).strip()[:160])
    for match in _GLOBAL_ASSIGN_RE.finditer(code):
        rhs = match.group("rhs").strip()
        obj = match.group("obj")
        if re.match(rf"(?:window\s*\.\s*)?{obj}\s*(?:\|\||\?\?)", rhs):
            continue  # `growsumo = window.growsumo || {}` keeps the real object
        found.append(match.group(0).strip()[:160])
    for match in _DATA_DELETE_RE.finditer(code):
        found.append(match.group(0).strip()[:160])
    return found


def analyse_html(
    html: str, *, base_url: str | None = None, expected_key: str | None = None
) -> tuple[SnippetEvidence, list[Problem]]:
    """Inspect static HTML: pure, no I/O. Returns the evidence fields and the problems."""
    from bs4 import BeautifulSoup, Comment

    soup = BeautifulSoup(html, "html.parser")
    instances: list[SnippetInstance] = []
    overwrites: list[str] = []
    problems: list[Problem] = []
    for script in soup.find_all("script"):
        in_head = script.find_parent("head") is not None
        stype = str(script.get("type", "")).strip().lower()
        src = script.get("src")
        if src and is_snippet_src(str(src), base_url):
            instances.append(
                SnippetInstance("script-src", in_head, script.sourceline, str(src).strip(), script_type=stype or None)
            )
        code = strip_js_comments(script.string or script.get_text() or "")
        if not code.strip():
            continue
        srcs = [m.group("src") for m in _SRC_LITERAL_RE.finditer(code) if is_snippet_src(m.group("src"))]
        for call in _INIT_RE.finditer(code):
            status, key = key_status(call.group("arg"), expected_key)
            instances.append(
                SnippetInstance("inline", in_head, script.sourceline, srcs[0] if srcs else None, key, status,
                                stype or None)
            )
        if not _INIT_RE.search(code) and srcs:
            instances.append(SnippetInstance("script-src", in_head, script.sourceline, srcs[0], script_type=stype or None))
        overwrites.extend(_overwrites(code))

    commented = False
    if not instances:
        for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
            if "_initialize" in comment or any(h in comment for h in KNOWN_SCRIPT_HOSTS) or "/pr/js" in comment:
                commented = True
        for script in soup.find_all("script"):
            raw = script.get_text() or ""
            if "_initialize" in raw and not _INIT_RE.search(strip_js_comments(raw)):
                commented = True

    calls = [i for i in instances if i.how == "inline"]
    srcs = [i.script_src for i in instances if i.script_src]
    primary = calls[0] if calls else (instances[0] if instances else None)
    keys = tuple(dict.fromkeys(i.public_key for i in calls if i.public_key is not None))
    if primary is None:
        status = None
    elif not calls:
        status = "missing"
    else:
        status = primary.public_key_status
    script_src = srcs[0] if srcs else None
    script_host = urlsplit(urljoin(base_url or "https://example.invalid/", script_src)).hostname if script_src else None
    title = soup.title.get_text(" ", strip=True)[:300] if soup.title else None
    secret = bool(SECRET_KEY_RE.search(html))

    if not instances:
        if commented:
            problems.append(fail("snippet-commented-out",
                                 "the PartnerStack snippet is on the page only inside a comment, so it never runs"))
        else:
            problems.append(fail("no-snippet",
                                 "no PartnerStack snippet in the page's HTML (no growsumo._initialize call and "
                                 "no script from js.partnerstack.com, snippet.growsumo.com or /pr/js); it may "
                                 "still be injected at runtime, which `diagnose cookie` shows"))
    else:
        if not any(i.in_head for i in instances):
            problems.append(warn("snippet-not-in-head", "the snippet is not inside <head>; the guide asks for it there"))
        messages = {
            "missing": "the snippet calls _initialize without a public key"
            if calls else "the PartnerStack script is loaded but _initialize is never called in the HTML "
            "(if an external script calls it, `diagnose cookie` shows the key actually used)",
            "placeholder": f"the public key is an unrendered template or placeholder: {primary.public_key!r}",
            "malformed": f"the public key {primary.public_key!r} is not pk_ followed by 32 letters or digits",
            "mismatch": f"the snippet uses public key {primary.public_key!r}, expected {expected_key!r}",
        }
        if status in messages:
            problems.append(fail(f"public-key-{status}", messages[status]))
        elif status == "unresolved":
            problems.append(warn("public-key-unresolved",
                                 f"the public key comes from the expression {primary.public_key!r}; "
                                 "`diagnose cookie` shows the value used at runtime"))
        if len(keys) > 1:
            problems.append(fail("multiple-keys", f"the page initialises PartnerStack with different keys: {', '.join(map(repr, keys))}"))
        elif len(calls) > 1:
            problems.append(warn("multiple-keys", f"the page initialises PartnerStack {len(calls)} times"))
        inert = [i for i in instances if i.script_type and i.script_type not in _JS_TYPES]
        if inert:
            problems.append(warn("snippet-inert-type",
                                 f"the snippet's script has type={inert[0].script_type!r}, which the browser "
                                 "does not run until something (usually a consent manager) changes it"))
    if overwrites:
        problems.append(fail("growsumo-data-overwritten",
                             "site code replaces growsumo or growsumo.data, which loses the partner key: "
                             + "; ".join(overwrites[:3])))
    if secret:
        problems.append(fail("secret-key-exposed",
                             "the page contains a PartnerStack secret key (sk_...): rotate it now"))
    ev = SnippetEvidence(
        url=base_url,
        page_title=title,
        snippet_found=bool(instances),
        in_head=any(i.in_head for i in instances) if instances else None,
        script_src=script_src,
        script_host=script_host,
        public_key=primary.public_key if primary else None,
        public_key_status=status,
        expected_public_key=expected_key,
        commented_out=commented,
        instances=tuple(instances),
        keys=keys,
        data_overwrites=tuple(overwrites),
        secret_key_exposed=secret,
    )
    return ev, problems


def check_snippet_html(html: str, *, url: str | None = None, file: str | None = None,
                       http_status: int | None = None, expected_key: str | None = None,
                       extra: tuple[Problem, ...] = ()) -> CheckResult[SnippetEvidence]:
    ev, problems = analyse_html(html, base_url=url, expected_key=expected_key)
    if http_status is not None or file is not None:
        ev = _replace(ev, http_status=http_status, file=file)
    if http_status is not None and http_status >= 400:
        problems.insert(0, fail("http-error", f"the page answered HTTP {http_status}"))
    return CheckResult("snippet", ev, tuple(extra) + tuple(problems))


def _replace(ev: SnippetEvidence, **changes) -> SnippetEvidence:
    import dataclasses

    return dataclasses.replace(ev, **changes)


def check_snippet_file(path: str | Path, expected_key: str | None = None,
                       max_bytes: int = net.DEFAULT_MAX_BYTES) -> CheckResult[SnippetEvidence]:
    p = Path(path)
    try:
        if not p.is_file():
            raise BadInput(f"{p} is not a regular file" if p.exists() else f"cannot read {p}: no such file")
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {p}: {exc.strerror or exc}") from None
    extra: tuple[Problem, ...] = ()
    if len(data) > max_bytes:
        data = data[:max_bytes]
        extra = (warn("body-truncated", f"the file is larger than {max_bytes} bytes; only the first part was read"),)
    text = net.decode_html(data, None)
    return check_snippet_html(text, file=str(p), expected_key=expected_key, extra=extra)


def check_snippet_url(url: str, policy: net.NetPolicy | None = None,
                      expected_key: str | None = None) -> CheckResult[SnippetEvidence]:
    """Fetch ``url`` (following redirects as `diagnose link` does) and inspect the landing page."""
    from diagnose.checks.link import follow

    outcome = follow(url, policy)
    link = outcome.result
    page = outcome.final_page
    if page is None:
        carried = tuple(p for p in link.problems if p.code in
                        ("timeout", "connection-error", "private-network", "redirect-loop",
                         "too-many-redirects", "invalid-url"))
        return CheckResult("snippet", SnippetEvidence(url=link.evidence.final_url), carried)
    truncated = tuple(p for p in link.problems if p.code == "body-truncated")
    return check_snippet_html(page.text(), url=page.url, http_status=page.status_code, expected_key=expected_key,
                              extra=truncated)
