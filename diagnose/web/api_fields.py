"""What the API refuses in a POST, checked before sending (so a plan shows it, and a half-applied
remediation never starts): ``customer_problems`` / ``transaction_problems`` give (field, problem)
pairs; the client's create_* refuse with :class:`ApiInvalid` (no status: nothing was sent)."""

from __future__ import annotations

import re
from typing import Any

from diagnose.core.partnerstack import (
    API_METADATA_MAX,
    API_NAME_MAX,
    API_TRANSACTION_CUSTOMER_FIELDS,
    API_TRANSACTION_KEY_LENGTH,
)
from diagnose.web.api_errors import ApiInvalid

CUSTOMER_REQUIRED = ("customer_key", "email", "partner_key")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def customer_problems(fields: dict[str, Any]) -> list[tuple[str, str]]:
    problems = [(name, "is missing") for name in CUSTOMER_REQUIRED if _blank(fields.get(name))]
    name = fields.get("name")
    if isinstance(name, str) and len(name) > API_NAME_MAX:
        problems.append(("name", f"is longer than {API_NAME_MAX} characters"))
    email = fields.get("email")
    if isinstance(email, str) and email.strip() and "@" not in email:
        problems.append(("email", "is not an e-mail address"))
    if "meta" in fields and fields["meta"] is not None and not isinstance(fields["meta"], dict):
        problems.append(("meta", "must be an object"))
    return problems


def transaction_problems(fields: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    given = [f for f in API_TRANSACTION_CUSTOMER_FIELDS if not _blank(fields.get(f))]
    if len(given) != 1:
        which = " or ".join(API_TRANSACTION_CUSTOMER_FIELDS)
        problems.append((given[1] if len(given) > 1 else "customer_external_key",
                         f"give exactly one of {which} (got {len(given)})"))
    amount = fields.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        problems.append(("amount", "must be a whole number of cents (0 is allowed, not empty)"))
    currency = fields.get("currency")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
        problems.append(("currency", "must be a 3-letter currency code"))
    key = fields.get("key")
    low, high = API_TRANSACTION_KEY_LENGTH
    if key is not None and (not isinstance(key, str) or not low <= len(key) <= high):
        problems.append(("key", f"must be {low} to {high} characters"))
    metadata = fields.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > API_METADATA_MAX):
        problems.append(("metadata", f"must be an object of at most {API_METADATA_MAX} attributes"))
    return problems


def _refuse(what: str, problems: list[tuple[str, str]]) -> None:
    if problems:
        name, problem = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ApiInvalid(f"not sent: {what}: field {name!r} {problem}{more}", None, name)


def refuse_bad_customer(fields: dict[str, Any]) -> None:
    _refuse("POST /customers", customer_problems(fields))


def refuse_bad_transaction(fields: dict[str, Any]) -> None:
    _refuse("POST /transactions", transaction_problems(fields))
