"""Check: decode a GSPK / ps_partner_key into the partner key (guide: "plug the GSPK into a
base64 decoder", done tolerantly and offline)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from diagnose.core.evidence import CheckResult, Problem, evidence, fail, sensitive, warn
from diagnose.core.partnerstack import PARTNERSTACK, TEST_PARTNER_KEY

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


@evidence("gspk")
@dataclass(frozen=True)
class GspkEvidence:
    input: str
    source: str | None = None  # "value", or the URL parameter the key was taken from
    encoded: str | None = None
    partner_key: str | None = sensitive("partner", default=None)
    expected_partner_key: str | None = None
    matches_expected: bool | None = None
    is_test_partner: bool = False


def check_gspk(value: str, partner: str | None = None) -> CheckResult[GspkEvidence]:
    """Decode ``value`` (a GSPK, a ps_partner_key, or a whole URL carrying one)."""
    problems: list[Problem] = []
    raw = value if isinstance(value, str) else str(value)
    source: str | None = "value"
    encoded: str | None = raw.strip()
    if looks_like_url(raw):
        params = query_params(raw)
        values = {p: params[p][0] for p in PARTNERSTACK.partner_key_params if p in params}
        if not values:
            names = " or ".join(PARTNERSTACK.partner_key_params)
            problems.append(fail("no-partner-key", f"the URL carries no {names} parameter"))
            source = encoded = None
        else:
            source, encoded = next(iter(values.items()))
            decoded_all = {p: decode_partner_key(v)[0] or v for p, v in values.items()}
            if len(set(decoded_all.values())) > 1:
                shown = ", ".join(f"{p}={v!r}" for p, v in values.items())
                problems.append(fail("params-disagree", f"the partner key parameters disagree: {shown}"))
    partner_key = None
    if encoded is not None:
        partner_key, reason = decode_partner_key(encoded)
        if reason:
            label = source if source != "value" else "the value"
            problems.append(fail("invalid-gspk", reason if reason.startswith("the value")
                                 else f"{label} {encoded[:80]!r}: {reason}"))
    expected = partner.strip() if partner else None
    matches = None
    if expected and partner_key is not None:
        matches = partner_key == expected
        if not matches:
            problems.append(
                fail(
                    "partner-mismatch",
                    f"the link belongs to partner {partner_key!r}, not to {expected!r}",
                )
            )
    if partner_key is not None and not looks_like_partner_key(partner_key):
        label = source if source != "value" else "the value"
        shown = repr(partner_key[:60]) + ("..." if len(partner_key) > 60 else "")
        problems.append(warn("not-a-partner-key",
                             f"{label} decodes to {shown}, which cannot be a partner key (partner keys are "
                             "letters, digits, '-', '_' and '.'): the link's parameter was probably edited "
                             "or built by hand"))
    if partner_key == TEST_PARTNER_KEY and not (expected and expected == TEST_PARTNER_KEY):
        problems.append(warn("test-partner", "this is the program's test partner (gstest): signups through it "
                                             "credit no real partner"))
    return CheckResult(
        "gspk",
        GspkEvidence(
            input=raw,
            source=source,
            encoded=encoded,
            partner_key=partner_key,
            expected_partner_key=expected,
            matches_expected=matches,
            is_test_partner=partner_key == TEST_PARTNER_KEY,
        ),
        tuple(problems),
    )
