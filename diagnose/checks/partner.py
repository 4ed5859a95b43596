"""Check: the partner in the program, read from the PartnerStack API (guide: "search the partner key
under All Partners").

Answers whether the ticket's partner (by key, or by e-mail when the key is not known) is a partner of
this program, archived or not, in which group, since when; and whether the partner key the link
carries belongs to any partner of the program. It reads only (GET); the API's answer is evidence, an
API that cannot be reached or refuses the keys is ``error`` (the rules then cannot tell), never "no
such partner".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from diagnose.core.errors import DiagnoseError
from diagnose.core.evidence import CheckResult, Problem, error, evidence, fail, sensitive, shorten, warn
from diagnose.core.partnerstack import is_test_partner


@evidence("partner")
@dataclass(frozen=True)
class PartnerEvidence:
    query: str | None  # what was looked up: the ticket's partner key, else its partner e-mail
    looked_up_by: str | None  # "partner_key" or "partner_email"
    found: bool | None  # None: not looked up (nothing to look up, or the API could not answer)
    partner_key: str | None = None
    email: str | None = None
    name: str | None = sensitive("person", default=None)
    group: str | None = None
    archived: bool | None = None
    joined_at: str | None = None
    link_partner_key: str | None = sensitive("partner", default=None)  # the key the link carries
    link_partner_found: bool | None = None  # is that key a partner of this program?
    test_keys: bool = False  # the API keys are test keys: only test data is seen


def _when(value: Any) -> str | None:
    """An API time (epoch milliseconds) as an ISO date-time in UTC; text kept as it is."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc).isoformat(timespec="seconds")
        except (OverflowError, OSError, ValueError):
            return None
    return shorten(value, 40) if not isinstance(value, str) else value[:40]


def _archived(item: dict[str, Any]) -> bool | None:
    if isinstance(item.get("archived"), bool):
        return item["archived"]
    if item.get("archived_at"):
        return True
    status = item.get("status")
    return str(status).lower() == "archived" if status else None


def _group(item: dict[str, Any]) -> str | None:
    group = item.get("group")
    if isinstance(group, dict):
        group = group.get("name") or group.get("slug") or group.get("key")
    return str(group)[:80] if group else None


def _name(item: dict[str, Any]) -> str | None:
    name = " ".join(str(item[k]) for k in ("first_name", "last_name") if item.get(k)) or item.get("name")
    return str(name)[:100] if name else None


def check_partner(api: Any, partner_key: str | None = None, partner_email: str | None = None,
                  link_partner_key: str | None = None) -> CheckResult[PartnerEvidence]:
    """Look the partner up with ``api`` (a PartnerStackClient): by key, else by e-mail; and the link's key."""
    query, by = (partner_key, "partner_key") if partner_key else (partner_email, "partner_email")
    if not query:
        by = None
    test_keys = bool(getattr(getattr(api, "credentials", None), "test", False))
    problems: list[Problem] = []
    item: dict[str, Any] | None = None
    link_found: bool | None = None
    try:
        if by == "partner_key":
            item = api.partnership(query)
        elif by == "partner_email":
            item = api.find_partnership_by_email(query)
        if link_partner_key and not is_test_partner(link_partner_key):
            same = item is not None and link_partner_key == (item.get("partner_key") or query)
            link_found = True if same else api.partnership(link_partner_key) is not None
    except DiagnoseError as exc:
        return CheckResult("partner", PartnerEvidence(query, by, None, link_partner_key=link_partner_key,
                                                      test_keys=test_keys),
                           (error("api-error", f"the PartnerStack API could not answer: {exc}"),))
    found = item is not None if by else None
    if found is False:
        label = "partner key" if by == "partner_key" else "e-mail"
        problems.append(fail("partner-not-found", f"no partner of this program has the {label} {query!r}"))
    evidence_ = PartnerEvidence(
        query=query, looked_up_by=by, found=found,
        partner_key=str(item.get("partner_key") or (query if by == "partner_key" else "")) or None if item else None,
        email=str(item["email"])[:254] if item and item.get("email") else None,
        name=_name(item) if item else None,
        group=_group(item) if item else None,
        archived=_archived(item) if item else None,
        joined_at=_when(item.get("joined_at") or item.get("created_at")) if item else None,
        link_partner_key=link_partner_key, link_partner_found=link_found, test_keys=test_keys,
    )
    if evidence_.archived:
        problems.append(warn("partner-archived", f"the partner {evidence_.partner_key!r} is archived in this "
                                                 "program: their links no longer credit them"))
    if link_found is False:
        problems.append(fail("link-partner-unknown", f"the link carries the partner key {link_partner_key!r}, "
                                                     "which is no partner of this program"))
    if test_keys:
        problems.append(warn("test-keys", "the API keys are test keys: only the program's test data is seen"))
    return CheckResult("partner", evidence_, tuple(problems))
