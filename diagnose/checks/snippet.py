"""Check: is the PartnerStackJS snippet in the landing page's static HTML, and with which key?

The page is read in one streaming pass (snippet_page.py: no tree, linear in the page) and never
executed. A snippet is an inline script calling
``growsumo._initialize(...)`` (or ``partnerstack._initialize``) and/or a script loaded from a
known PartnerStack host. Snippets injected at runtime are invisible here: ``diagnose cookie``
looks at the page in a real browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from diagnose.checks.snippet_js import init_calls, src_literals, strip_js_comments
from diagnose.checks.snippet_js import overwrites as _overwrites
from diagnose.checks.snippet_page import Element, Outline, names_the_global, outline
from diagnose.core.errors import BadInput
from diagnose.core.evidence import CheckResult, Problem, evidence, fail, sensitive, warn
from diagnose.core.partnerstack import (
    KNOWN_SCRIPT_HOSTS,
    SECRET_KEY_RE,
    is_snippet_src,
    key_status,
    resolve_src,
)
from diagnose.web import fetch as net

_JS_TYPES = {"", "text/javascript", "application/javascript", "module", "text/ecmascript",
             "application/ecmascript", "text/jsx", "text/babel"}

_DATA_TYPES = {"importmap", "speculationrules"}  # plus every */json and *+json type: data, never run
_SRC_ATTR_RE = re.compile(r"""\ssrc\s*=\s*["']?(?P<src>[^"'\s>]{1,2000})""", re.IGNORECASE)

__all__ = ["SnippetEvidence", "analyse_html", "check_snippet_file", "check_snippet_html",
           "check_snippet_url", "strip_js_comments"]


@dataclass(frozen=True)
class SnippetInstance:
    # "inline" (an _initialize call in a script), "attribute" (one in an event-handler attribute such
    # as the script tag's onload) or "script-src" (a script loaded from a known host)
    how: str
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
    file: str | None = sensitive("path", default=None)
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


def _is_data(script) -> bool:
    """A script element whose type makes it data (JSON, an import map), never run."""
    stype = str(script.get("type", "")).strip().lower().split(";")[0].strip()
    return stype in _DATA_TYPES or stype.endswith(("/json", "+json"))


def _event_code(tag: Element) -> list[str]:
    """The code of the tag's inline event handlers (onload, onclick, ...) that name the global."""
    return [strip_js_comments(value) for name, value in tag.attrs.items()
            if name.startswith("on") and names_the_global(value)]


def _scan(page: Outline, base_url: str | None, expected_key: str | None) -> tuple[list[SnippetInstance], list[str]]:
    """The snippets in the document (in document order) and the code that replaces growsumo.

    A snippet is a ``<script src>`` on a known host, a URL that loader code hands to a script
    element, or an ``_initialize`` call in a script or an event-handler attribute. A snippet host's
    URL that is only a string in data (a tracker list, a blocklist, JSON) loads nothing.
    """
    instances: list[SnippetInstance] = []
    overwrites: list[str] = []
    for tag in page.elements:
        is_script = tag.name == "script"
        if is_script and _is_data(tag):
            continue
        handlers = _event_code(tag)
        if not is_script and not handlers:
            continue
        in_head = tag.in_head
        stype = (str(tag.get("type", "")).strip().lower() or None) if is_script else None
        src = tag.get("src") if is_script else None
        own_src = str(src).strip() if src and is_snippet_src(str(src), base_url) else None
        if own_src:
            instances.append(SnippetInstance("script-src", in_head, tag.line, own_src, script_type=stype))
        for code in handlers:
            for arg in init_calls(code):
                status, key = key_status(arg, expected_key)
                instances.append(SnippetInstance("attribute", in_head, tag.line, own_src, key, status, stype))
            overwrites.extend(_overwrites(code))
        code = strip_js_comments(tag.text) if is_script else ""
        if not code.strip():
            continue
        srcs = [s for s, loaded in src_literals(code, is_snippet_src) if loaded]
        calls = init_calls(code)
        for arg in calls:
            status, key = key_status(arg, expected_key)
            instances.append(
                SnippetInstance("inline", in_head, tag.line, srcs[0] if srcs else None, key, status, stype)
            )
        if not calls and srcs:
            instances.append(SnippetInstance("script-src", in_head, tag.line, srcs[0], script_type=stype))
        overwrites.extend(_overwrites(code))
    return instances, overwrites


def _holds_snippet(text: str, base_url: str | None) -> bool:
    """Does a comment's text hold a (disabled) snippet: a script tag or loader code, not a bare URL?"""
    if "/pr/js" not in text and not any(h in text for h in KNOWN_SCRIPT_HOSTS):
        return False
    low, start = text.lower(), 0
    for _ in range(50):  # script tags in the comment, read with string search (no re-parse)
        start = low.find("<script", start)
        if start < 0:
            break
        end = low.find(">", start, start + 2000)
        attr = _SRC_ATTR_RE.search(text, start, end if end >= 0 else start + 2000)
        if attr and is_snippet_src(attr.group("src"), base_url):
            return True
        start += 7
    return any(loaded for _, loaded in src_literals(strip_js_comments(text), is_snippet_src))


def analyse_html(
    html: str, *, base_url: str | None = None, expected_key: str | None = None, soup=None
) -> tuple[SnippetEvidence, list[Problem]]:
    """Inspect static HTML: pure, no I/O. Returns the evidence fields and the problems. The page is
    read in one streaming pass (snippet_page.py), never as a tree; ``soup`` (a tree a caller already
    has) is not needed and not read."""
    page = outline(html)
    instances, overwrites = _scan(page, base_url, expected_key)
    problems: list[Problem] = []
    commented = False
    if not instances:
        for comment in page.comments:
            if "_initialize" in comment or _holds_snippet(comment, base_url):
                commented = True
        for script in page.elements:
            if script.name != "script":
                continue
            raw = script.text
            # a call that is there only with its comments: not a half-written call, which is no snippet
            if (not _is_data(script) and "_initialize" in raw and init_calls(raw)
                    and not init_calls(strip_js_comments(raw))):
                commented = True

    calls = [i for i in instances if i.how != "script-src"]
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
    resolved = resolve_src(script_src, base_url) if script_src else None
    script_host = resolved.hostname if resolved is not None else None
    title = page.title
    secret = bool(SECRET_KEY_RE.search(html))

    if not instances:
        if commented:
            problems.append(fail("snippet-commented-out",
                                 "the PartnerStack snippet is on the page only inside a comment, so it never runs"))
        else:
            named = [h for h in KNOWN_SCRIPT_HOSTS if h in html]
            data = (f"; {' and '.join(named)} appear{'s' if len(named) == 1 else ''} on the page only as data "
                    "(a string in a list or a config, JSON, a comment or an attribute), which loads nothing"
                    if named else "")
            problems.append(fail("no-snippet",
                                 "no PartnerStack snippet in the page's HTML (no growsumo._initialize call and "
                                 "no script from js.partnerstack.com, snippet.growsumo.com or /pr/js); it may "
                                 f"still be injected at runtime, which `diagnose cookie` shows{data}"))
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
                       extra: tuple[Problem, ...] = (), soup=None) -> CheckResult[SnippetEvidence]:
    ev, problems = analyse_html(html, base_url=url, expected_key=expected_key, soup=soup)
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
