"""The PartnerStack domain: every fact about the platform, in one place for the checks and the rules.

- links: the parameters (gspk / ps_partner_key, gsxid / ps_xid, pscd), the partner key's codec and
  shape, the test partner, the partner key along a redirect chain;
- the snippet: public / secret key shapes and what ``_initialize`` was given (``key_status``);
- cookies: their names, the 90-day lifetime, Safari's ITP caps and the browsers they apply to;
- the dashboard: its customer statuses (declined, pending, tracked).

Affiliate platforms are described as data (``Platform``); only PartnerStack is checked today, and
others (Rewardful ``via``, FirstPromoter ``_fprom_ref``, Tapfiliate ``tap_vid``, Dub ``dub_id``) are
meant to be added here as data, not as new code paths.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit


@dataclass(frozen=True)
class Platform:
    name: str
    partner_key_params: tuple[str, ...]  # same value in each, base64-encoded partner key
    click_id_params: tuple[str, ...]  # same value in each
    other_params: tuple[str, ...]
    partner_cookie_names: tuple[str, ...]
    partner_cookie_patterns: tuple[str, ...]  # regexes for per-program cookie names
    cookie_days: int

    @property
    def params(self) -> tuple[str, ...]:
        return self.partner_key_params + self.click_id_params + self.other_params

    def is_partner_cookie(self, name: str) -> bool:
        return name in self.partner_cookie_names or any(
            re.fullmatch(p, name) for p in self.partner_cookie_patterns
        )


PARTNERSTACK = Platform(
    name="PartnerStack",
    partner_key_params=("gspk", "ps_partner_key"),
    click_id_params=("gsxid", "ps_xid"),
    other_params=("pscd",),
    partner_cookie_names=("growSumoPartnerKey", "ps_partner_key"),
    partner_cookie_patterns=(r"_ps_partner_key_[A-Za-z0-9]{8}", r"_grsmpk[A-Za-z0-9]{8}"),
    cookie_days=90,
)

PUBLIC_KEY_RE = re.compile(r"pk_[A-Za-z0-9]{32}")
# Secret keys start with "sk_", live and test ones with "sk_live_" / "sk_test_" (public keys, "pk_",
# are not secret). SECRET_KEY_RE is a whole key (a page holding one leaks it); SECRET_KEY_TEXT_RE is
# "sk_" and any key characters after it (letters, digits, "_", "-"), whole or cut short
# ("sk_live_abc123", "sk_test_XYZ"): what --redact masks.
# SECRET_KEY_RE starts at a word boundary, so words that merely hold "sk_" ("task_list") are no key.
# SECRET_KEY_TEXT_RE finds a key however it is written in text a user pastes: any case, its "_"
# percent-encoded or escaped for JSON, JS or HTML (and those escapes percent-encoded), "sk_live_" /
# "sk_test_" even glued to a word ("tokensk_live_..."), a plain "sk_..." after no letter or digit
# or after a percent escape ("a%3Dsk_..."): "desk_x" and "task_list" stay words.
SECRET_KEY_RE = re.compile(r"\bsk_(?:(?:live|test)_)?[A-Za-z0-9]{16,}")
_UNDERSCORE = (r"(?:_|%5f|%255f|\\u005f|\\x5f|&#95;|&#x5f;|&amp;#95;|&amp;#x5f;|%5cu005f|%5cx5f|%26%2395%3b"
               r"|%26%23x5f%3b)")
SECRET_KEY_TEXT_RE = re.compile(
    rf"(?:sk{_UNDERSCORE}(?:live|test){_UNDERSCORE}|(?:(?<![a-z0-9])|(?<=%[0-9a-f]{{2}}))sk{_UNDERSCORE})"
    rf"(?:[a-z0-9-]|{_UNDERSCORE})*(?:\*\*\*)?", re.IGNORECASE)  # "sk_***": masked already, stays
TEST_PARTNER_KEY = "gstest"  # every program has this test partner


def parse_public_key(key: str | None, option: str) -> str | None:
    """A public key given by the user (``--expect-key``, the ticket): BadInput unless it has the shape."""
    from diagnose.core.errors import BadInput
    from diagnose.core.evidence import shorten

    if key is None:
        return None
    key = key.strip()
    if not PUBLIC_KEY_RE.fullmatch(key):
        raise BadInput(f"{option} {shorten(key)} is not a public key (pk_ followed by 32 letters or digits)")
    return key


def is_test_partner(key: str | None) -> bool:
    return key == TEST_PARTNER_KEY


# -- cookies and what browsers do to them --------------------------------------------------------

# WebKit's ITP caps cookies written by script at 7 days, and at 24 hours when the visit came through
# a cross-site redirector with a decorated (query string) landing URL.
SAFARI_SCRIPT_COOKIE_DAYS = 7.0
SAFARI_DECORATED_DAYS = 1.0
# Every browser on iPhone and iPad is WebKit, so Safari's ITP cookie caps apply to all of them.
WEBKIT_WORDS = ("safari", "iphone", "ipad", "ios")


def is_webkit(*said: str | None) -> bool | None:
    """Does any of the browser / device words name a WebKit browser? None when nothing is said."""
    words = [s.lower() for s in said if s]
    if not words:
        return None
    return any(w in s for s in words for w in WEBKIT_WORDS)


# -- the snippet's public key --------------------------------------------------------------------

# Where PartnerStackJS is loaded from: its hosts (current, legacy), or a company's link domain at /pr/js.
KNOWN_SCRIPT_HOSTS = ("js.partnerstack.com", "snippet.growsumo.com")


def resolve_src(src: str, base: str | None = None):
    """A script's src resolved against the page's address (urlsplit parts), or None when it is no URL.
    A page address that is no URL itself (an unclosed IPv6 bracket) is left out: an absolute src still
    resolves."""
    for page in (base or _NO_PAGE, _NO_PAGE):
        try:
            return urlsplit(urljoin(page, src.strip()))
        except ValueError:
            continue
    return None


_NO_PAGE = "https://example.invalid/"


def is_snippet_src(src: str, base: str | None = None) -> bool:
    parts = resolve_src(src, base)
    if parts is None:
        return False
    host = (parts.hostname or "").lower()
    return host in KNOWN_SCRIPT_HOSTS or parts.path.rstrip("/") == "/pr/js" or parts.path.startswith("/pr/js/")


# These read page text: linear (an escape and a plain character cannot both take a backslash) and
# bounded (a placeholder name is at most 60 characters, so no start position is scanned further).
_STRING_RE = re.compile(r"""^(?P<q>['"`])(?P<val>(?:\\.|(?!(?P=q))[^\\])*)(?P=q)$""", re.DOTALL)
_PLACEHOLDER_RE = re.compile(
    r"\$\{|\{\{|\{%|<\?|<%|#\{|\[\[|%[A-Za-z_]{1,60}%|__[A-Za-z_]{1,60}__|YOUR[_\s-]|INSERT|REPLACE|"
    r"PUBLIC[_\s-]?KEY|<[A-Za-z_ ]{1,60}>|^x{3,}$|XXXX|\.\.\.|…",
    re.IGNORECASE,
)

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




# -- the partner key in links --------------------------------------------------------------------

_B64_BODY = re.compile(r"[A-Za-z0-9+/_-]+")

# The shape of a partner key, stated once: auto-generated keys are 12 hex characters and vanity keys
# look like user names (ASCII letters, digits, '-', '_', '.'); the test partner gstest fits too.
PARTNER_KEY_RE = re.compile(r"[A-Za-z0-9._-]+")


def looks_like_partner_key(value: str) -> bool:
    return PARTNER_KEY_RE.fullmatch(value) is not None


def decode_partner_key(raw: str) -> tuple[str | None, str | None]:
    """Decode one base64 partner key. Returns ``(partner_key, None)`` or ``(None, reason)``.

    Tolerates surrounding white space, percent-encoding, missing padding, the URL-safe alphabet,
    and ``+`` turned into a space by query-string decoding. Never raises.
    """
    value = (raw or "").strip()
    for _ in range(3):  # percent-encoded, possibly twice
        if "%" not in value:
            break
        decoded = unquote(value)
        if decoded == value:
            break
        value = decoded.strip()
    value = value.replace(" ", "+")
    if not value:
        return None, "the value is empty"
    body = value.rstrip("=")
    if len(value) - len(body) > 2:
        return None, "not base64: too much '=' padding"
    if not _B64_BODY.fullmatch(body):
        bad = sorted({c for c in body if not (c.isascii() and (c.isalnum() or c in "+/_-"))})
        shown = "".join(bad)[:10]
        return None, f"not base64: it contains {shown!r}, outside the base64 alphabet"
    if len(body) % 4 == 1:
        return None, f"not base64: {len(body)} characters cannot encode whole bytes"
    standard = body.replace("-", "+").replace("_", "/")
    try:
        data = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        return None, f"not base64: {exc}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "decodes to bytes that are not UTF-8 text, so it is not a partner key"
    if not text.strip() or not text.isprintable():
        return None, "decodes to non-printable characters, so it is not a partner key"
    return text, None


def encode_partner_key(partner_key: str) -> str:
    """The unpadded base64 form that live links carry."""
    return base64.b64encode(partner_key.encode("utf-8")).decode("ascii").rstrip("=")


def looks_like_url(value: str) -> bool:
    v = value.strip()
    return "://" in v or v.startswith("?") or any(f"{p}=" in v for p in PARTNERSTACK.params)


def query_params(url: str) -> dict[str, list[str]]:
    """All query (and fragment-query) values of ``url`` by name, never raising."""
    out: dict[str, list[str]] = {}
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return out
    query = parts.query or (url.strip()[1:] if url.strip().startswith("?") else "")
    if not query and "=" in url and "?" not in url and "://" not in url:
        query = url.strip()
    for source in (query, parts.fragment if "=" in parts.fragment else ""):
        for name, value in parse_qsl(source, keep_blank_values=True):
            out.setdefault(name, []).append(value)
    return out


def partner_params(url: str) -> dict[str, str]:
    """The PartnerStack parameters in ``url`` (first value of each)."""
    found = query_params(url)
    return {name: found[name][0] for name in PARTNERSTACK.params if name in found}




def key_along_chain(urls: Iterable[str]) -> str | None:
    """The last URL of a redirect chain that still carries the partner key (the landing URL when no
    redirect dropped it), or None."""
    for url in reversed(list(urls)):
        params = partner_params(url)
        if any(name in params for name in PARTNERSTACK.partner_key_params):
            return url
    return None


def disagreement(values: dict[str, str | list[str]]) -> str | None:
    """When parameters of one family (gspk / ps_partner_key, or gsxid / ps_xid) carry different
    values, the values shown; a parameter given twice (``gspk=a&gspk=b``, a list) counts each value.
    Partner keys are compared decoded. None when they agree."""
    pairs = [(p, v) for p, vs in values.items() for v in (vs if isinstance(vs, list) else [vs])]
    if len(pairs) < 2:
        return None
    keys = set(PARTNERSTACK.partner_key_params)
    if len({(decode_partner_key(v)[0] or v) if p in keys else v for p, v in pairs}) < 2:
        return None
    return ", ".join(f"{p}={v!r}" for p, v in pairs)

# Dashboard customer statuses: one vocabulary, read by the reconcile check and by the rules.
# Partners see "Signed Up" and "Paid"; companies' exports also carry approval and fulfilment states.
# Classes are tried in order; the first whose pattern matches (case-insensitively) wins, so
# "Not approved" is declined and "Pending approval" is pending before "approved" is looked at.
STATUS_DECLINED, STATUS_PENDING, STATUS_TRACKED, STATUS_UNKNOWN = "declined", "pending", "tracked", "unknown"
DASHBOARD_STATUSES: tuple[tuple[str, str], ...] = (
    (STATUS_DECLINED, r"declin|reject|denied|refused|cancel|void|not approved|disapproved|unapproved"),
    (STATUS_PENDING, r"pending|awaiting|waiting|unfulfil|not fulfil|under review|in review|on hold|"
                     r"needs approval|to approve"),
    (STATUS_TRACKED, r"signed[ _-]?up|sign[ _-]?up|paid|approved|active|fulfilled|converted|"
                     r"customer|subscribed|trial|won|complete"),
)


def dashboard_status_class(status: str | None) -> str | None:
    """The class of a dashboard status text: declined, pending, tracked, unknown (None when blank)."""
    text = (status or "").strip()
    if not text:
        return None
    for cls, pattern in DASHBOARD_STATUSES:
        if re.search(pattern, text, re.IGNORECASE):
            return cls
    return STATUS_UNKNOWN


# The API has no customer status; the dashboard's comes from the customer's rewards (statuses hold,
# pending, approved, declined, paid). A customer with any approved or paid reward shows to the
# partner; else any reward on hold or pending waits on the company; else all declined is a decline;
# no reward yet is a plain signup. The texts are the dashboard's own, so they fall in the classes above.
REWARD_STATUS_TEXT = (("paid", "Paid"), ("approved", "Approved"), ("pending", "Pending approval"),
                      ("hold", "On hold"), ("declined", "Declined"))


def status_from_rewards(statuses: Iterable[str]) -> str:
    """The dashboard status a customer with rewards of ``statuses`` shows ('Signed Up' with none)."""
    seen = {str(s).strip().lower() for s in statuses if s}
    for status, text in REWARD_STATUS_TEXT:
        if status in seen:
            return text
    return "Signed Up" if not seen else "Unknown (" + ", ".join(sorted(seen))[:60] + ")"


# -- the REST API (v2, vendor side) --------------------------------------------------------------
# HTTP Basic auth: the public key is the user, the secret key the password (the separate Partner API
# takes a Bearer token instead; mixing them up gives a 401 that reads like a bad password).
# Answers come in an envelope {"data", "message", "status"}; lists are data = {"items", "has_more",
# "total"?}, cursor-paged with limit (1-250) and starting_after=<key of the last item>. Times are
# epoch milliseconds. Test keys create customers flagged test: true, under the test partner gstest.
API_BASE = "https://api.partnerstack.com/api/v2/"
API_PUBLIC_KEY_ENV = "PARTNERSTACK_PUBLIC_KEY"
API_SECRET_KEY_ENV = "PARTNERSTACK_SECRET_KEY"
API_PAGE_LIMIT = 250  # the largest page the API serves (the default is 10)
# Requests in flight at once when a date window is read in slices (our default, kept small: every
# slice waits when the API answers 429). 6, not 4: 4 met its benchmark target with no margin.
API_DEFAULT_CONCURRENCY = 6
API_ENVELOPE = ("data", "message", "status")
API_LIST_KEYS = ("items", "has_more")
API_NAME_MAX = 100  # POST /customers: name at most 100 characters
API_TRANSACTION_KEY_LENGTH = (4, 255)  # POST /transactions: key, when given (it makes the call idempotent)
API_METADATA_MAX = 25  # POST /transactions: metadata attributes
# POST /transactions names its customer with exactly one of these: customer_key is PartnerStack's OWN
# customer key (the customer's "key"), customer_external_key the company's key (the customer's
# "customer_key"), customer_email its e-mail.
API_TRANSACTION_CUSTOMER_FIELDS = ("customer_key", "customer_external_key", "customer_email")
# The reference does not say how test keys look. Our guess, built for the worst case: a key is a test
# key when "test" appears in its prefix (pk_test_..., sk_test_..., test_pk_...).
API_TEST_KEY_RE = re.compile(r"^(?:[a-z]{2}_)?test_", re.IGNORECASE)


def epoch_ms(value) -> int:
    """An API time (epoch milliseconds) from a datetime (naive = UTC), a date (midnight UTC) or a
    number already in epoch milliseconds."""
    from datetime import UTC, date, datetime, timedelta

    if isinstance(value, bool):
        raise TypeError("a time, not a bool")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (aware - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    if isinstance(value, date):
        return epoch_ms(datetime(value.year, value.month, value.day, tzinfo=UTC))
    raise TypeError(f"not a time: {value!r}")


def from_epoch_ms(ms: float):
    """The aware UTC datetime of an API time in epoch milliseconds."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC)
