"""Check: decode a GSPK / ps_partner_key into the partner key (guide: "plug the GSPK into a
base64 decoder", done tolerantly and offline)."""

from __future__ import annotations

from dataclasses import dataclass

from diagnose.core.evidence import CheckResult, Problem, evidence, fail, sensitive, warn
from diagnose.core.partnerstack import (
    PARTNERSTACK, decode_partner_key, disagreement, is_test_partner, looks_like_partner_key,
    looks_like_url, query_params,
)

@evidence("gspk")
@dataclass(frozen=True)
class GspkEvidence:
    input: str
    source: str | None = None  # "value", or the URL parameter the key was taken from
    encoded: str | None = None
    partner_key: str | None = sensitive("partner", default=None)
    expected_partner_key: str | None = sensitive("partner", default=None)
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
        values = {p: params[p] for p in PARTNERSTACK.partner_key_params if p in params}  # every value given
        if not values:
            names = " or ".join(PARTNERSTACK.partner_key_params)
            problems.append(fail("no-partner-key", f"the URL carries no {names} parameter"))
            source = encoded = None
        else:
            source, encoded = next((p, vs[0]) for p, vs in values.items())
            shown = disagreement(values)  # also gspk=a&gspk=b: one parameter given twice, two partners
            if shown:
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
    if is_test_partner(partner_key) and not is_test_partner(expected):
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
            is_test_partner=is_test_partner(partner_key),
        ),
        tuple(problems),
    )
