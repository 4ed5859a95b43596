"""The ticket: what the partner and customer told us, in the guide's terms.

A ticket is a YAML or JSON file; every field is optional and every field is also a CLI option.
Unknown keys, malformed dates and wrong types are refused with a one-line error naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import sensitive, shorten
from diagnose.core.reading import TICKET_LIMIT, clean_text, parse_json, parse_yaml, read_text

INTEGRATIONS = ("js-snippet", "api", "webhook")
API_DASHBOARD = "partnerstack"  # dashboard: read the customers from the PartnerStack API, not an export


@dataclass(frozen=True)
class Ticket:
    partner_key: str | None = None
    partner_email: str | None = None  # the partner's e-mail, when the key is not known (needs the API)
    link: str | None = None
    customer_email: str | None = sensitive("email", default=None)
    customer_name: str | None = sensitive("person", default=None)
    customer_key: str | None = None  # the company's key for the customer (PartnerStack's customer_key)
    click_date: dt.date | None = None
    signup_date: dt.date | None = None
    purchase_date: dt.date | None = None
    click_browser: str | None = None
    click_device: str | None = None
    signup_browser: str | None = None
    signup_device: str | None = None
    typed_url: bool | None = None
    cleared_cookies: bool | None = None
    blocks_cookies: bool | None = None
    expected_public_key: str | None = None
    signup_url: str | None = None
    integration: str | None = None
    dashboard: str | None = sensitive("path", default=None)  # the dashboard's customer export, or API_DASHBOARD
    internal: str | None = sensitive("path", default=None)  # path of the company's own records

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
        return out

    @property
    def days_click_to_signup(self) -> int | None:
        """Days from the click to the signup (or purchase) the ticket states; None unless both are given."""
        signup = self.signup_date or self.purchase_date
        return (signup - self.click_date).days if self.click_date and signup else None

    @property
    def slug(self) -> str:
        import re

        base = self.customer_email or self.customer_name or self.link or "ticket"
        base = base.split("://", 1)[-1]
        return re.sub(r"[^A-Za-z0-9]+", "-", base).strip("-").lower()[:60] or "ticket"


FIELD_TYPES: dict[str, type] = {
    f.name: {"dt.date | None": dt.date, "bool | None": bool}.get(str(f.type), str)
    for f in dataclasses.fields(Ticket)
}
FIELD_HELP = {
    "partner_key": "The partner who asks (their partner key).",
    "partner_email": "The partner's e-mail, when the key is not known (looked up with --api).",
    "link": "The referral link the customer clicked.",
    "customer_email": "The customer's email address.",
    "customer_name": "The customer's name.",
    "customer_key": "Your key for the customer (the customer_key sent to PartnerStack).",
    "click_date": "When the customer clicked the link.",
    "signup_date": "When the customer signed up.",
    "purchase_date": "When the customer bought.",
    "click_browser": "Browser the link was clicked in (e.g. Safari).",
    "click_device": "Device the link was clicked on (e.g. iPhone).",
    "signup_browser": "Browser the customer signed up in.",
    "signup_device": "Device the customer signed up on.",
    "typed_url": "The customer typed the address instead of clicking.",
    "cleared_cookies": "The customer cleared cookies between click and signup.",
    "blocks_cookies": "The customer's browser blocks cookies.",
    "expected_public_key": "Your program's public key (pk_...).",
    "signup_url": "The page where customers sign up.",
    "integration": "How signups reach PartnerStack: js-snippet, api or webhook.",
    "dashboard": "The PartnerStack dashboard's customer export (CSV, JSON Lines or Excel), or "
                 f"'{API_DASHBOARD}' to read the customers from the API.",
    "internal": "Your own signup or billing records (CSV, JSON Lines or Excel).",
}
PATH_FIELDS = ("dashboard", "internal")


def _parse_date(key: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text[:10]) if len(text) >= 10 and (len(text) == 10 or text[10] in "T ") else dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise BadInput(f"ticket key {key!r}: {shorten(value)} is not a date (use YYYY-MM-DD)")


def _parse_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "true", "1", "y"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("no", "false", "0", "n"):
        return False
    raise BadInput(f"ticket key {key!r}: {shorten(value)} is not true or false")


def coerce(key: str, value: Any) -> Any:
    """Check and convert one ticket value; raise BadInput naming ``key``."""
    if key not in FIELD_TYPES:
        known = ", ".join(FIELD_TYPES)
        raise BadInput(f"unknown ticket key {shorten(key)} (known keys: {known})")
    if value is None:
        return None
    kind = FIELD_TYPES[key]
    if kind is dt.date:
        return _parse_date(key, value)
    if kind is bool:
        return _parse_bool(key, value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadInput(f"ticket key {key!r}: expected text, got {type(value).__name__}")
    try:
        text = str(value).strip()
    except ValueError:  # an integer too long to convert (YAML's 0x... escapes the parser's limit)
        raise BadInput(f"ticket key {key!r}: {shorten(value)} is too long a number") from None
    if key == "integration":
        text = text.lower().replace("_", "-").replace(" ", "-")
        if text in ("js", "snippet", "javascript", "partnerstackjs"):
            text = "js-snippet"
        if text not in INTEGRATIONS:
            raise BadInput(f"ticket key 'integration': {shorten(value)} is not one of {', '.join(INTEGRATIONS)}")
    if key == "expected_public_key":
        from diagnose.core.partnerstack import parse_public_key

        text = parse_public_key(text, "ticket key 'expected_public_key':")
    if key not in PATH_FIELDS:  # a lone surrogate ("\\ud800" in JSON/YAML) cannot reach polars (paths: refused below)
        text = clean_text(text)
    if key in ("customer_email", "partner_email") and text:
        text = _email_of(key, text)
    if key == "dashboard" and text.lower() == API_DASHBOARD:
        text = API_DASHBOARD
    if key in ("link", "signup_url"):
        from diagnose.core.urls import normalise_url

        try:
            text = normalise_url(text)
        except BadInput as exc:
            raise BadInput(f"ticket key {key!r}: {exc}") from None
    return text or None


def _resolve(key: str, path: Path) -> str:
    """``path`` made absolute; BadInput naming ``key`` when it cannot name a file (a NUL, a lone surrogate)."""
    try:
        return str(path.resolve())
    except (OSError, ValueError) as exc:  # ValueError: a NUL; UnicodeEncodeError: a lone surrogate
        raise BadInput(f"ticket key {key!r}: {shorten(str(path))} cannot be a file name "
                       f"({getattr(exc, 'strerror', None) or type(exc).__name__})") from None


def _email_of(key: str, text: str) -> str:
    """The address in an e-mail as people paste it: 'mailto:a@x.com', 'Ann Lee <a@x.com>',
    'a%40x.com' (from a URL) all give 'a@x.com'; a value with no '@' is refused (BadInput)."""
    import re
    from urllib.parse import unquote

    value = text[7:] if text[:7].lower() == "mailto:" else text
    angled = re.search(r"<([^<>]*)>\s*$", value)
    if angled:
        value = angled.group(1)
    if "@" not in value and "%" in value:
        value = unquote(value)
    value = value.strip()
    if value.count("@") < 1 or value.startswith("@") or value.endswith("@"):
        raise BadInput(f"ticket key {key!r}: {shorten(text)} is not an e-mail address")
    return value


def from_mapping(data: Any, base_dir: Path | None = None, *, masked: bool = False) -> Ticket:
    """The ticket of a mapping, each value checked. ``masked``: the ticket of a report or evidence
    that ``--redact`` wrote, whose masked values ('ze***' for an e-mail) are no valid values by
    design: a text value its key refuses is kept as written there (never in a ticket a user gave)."""
    if not isinstance(data, dict):
        raise BadInput("the ticket must be a mapping of keys to values")
    values = {}
    for k, v in data.items():
        key = k if isinstance(k, str) else shorten(k)  # str() of a huge YAML number would raise
        try:
            values[key] = coerce(key, v)
        except BadInput:
            if not (masked and key in FIELD_TYPES and FIELD_TYPES[key] is str and isinstance(v, str)):
                raise
            values[key] = clean_text(v.strip()) or None
    if base_dir is not None:
        for key in PATH_FIELDS:
            if values.get(key) and values[key] != API_DASHBOARD and not Path(values[key]).is_absolute():
                values[key] = _resolve(key, base_dir / values[key])
    ticket = Ticket(**values)
    if ticket.click_date and ticket.signup_date and ticket.signup_date < ticket.click_date:
        raise BadInput("ticket keys 'click_date' and 'signup_date': the signup is dated before the click")
    return ticket


def load(path: str | Path) -> Ticket:
    """Read a YAML or JSON ticket file (a regular file of at most TICKET_LIMIT bytes)."""
    p = Path(path)
    text = read_text(p, "ticket", TICKET_LIMIT)
    data = parse_json(text, f"ticket {p}") if p.suffix.lower() == ".json" else parse_yaml(text, f"ticket {p}")
    if data is None:
        data = {}
    return from_mapping(data, p.parent)


def with_overrides(ticket: Ticket, overrides: dict[str, Any]) -> Ticket:
    """Apply CLI options (paths relative to the current directory) over a ticket."""
    values = {k: coerce(k, v) for k, v in overrides.items() if v is not None}
    for key in PATH_FIELDS:
        if values.get(key) and values[key] != API_DASHBOARD:
            values[key] = _resolve(key, Path(values[key]))
    merged = dataclasses.replace(ticket, **values)
    return from_mapping({k: v for k, v in merged.to_dict().items()})
