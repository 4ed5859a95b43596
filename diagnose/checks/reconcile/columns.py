"""Which column of a file plays which role: the canonical fields, the header spellings they are
inferred from, and ``--map SIDE.FIELD=HEADER`` overrides (an empty HEADER: no column for that field)."""

from __future__ import annotations

import re
from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import shorten
from diagnose.checks.reconcile.model import ColumnRole

SIDES = ("dashboard", "internal")
FIELDS = (
    "customer_key", "email", "name", "partner_key", "created_at", "status", "source",
    "provider_key", "click_date",
)
DATE_FIELDS = ("created_at", "click_date")

# Header spellings, compared after lower-casing and removing everything but letters and digits.
# Earlier spellings win when a file has several (e.g. "Partner Key" over "Partner").
ALIASES: dict[str, tuple[str, ...]] = {
    "customer_key": ("customerkey", "customerexternalkey", "externalkey", "customerid",
                     "customerexternalid", "externalid", "userid", "accountid", "clientid", "key"),
    "email": ("email", "emailaddress", "customeremail", "customeremailaddress", "useremail", "mail"),
    "name": ("name", "customername", "fullname", "username", "customer", "client", "clientname"),
    "partner_key": ("partnerkey", "partnerid", "partner", "referringpartner", "referredby",
                    "referrer", "partnerslug"),
    "created_at": ("createdat", "submittedon", "signupdate", "signedupat", "signedupon", "signedup",
                   "signupat", "signup", "createddate", "created", "createdon", "registeredat",
                   "registrationdate", "registeredon", "joinedat", "joined", "date", "timestamp"),
    "status": ("status", "customerstatus", "state", "stage"),
    "source": ("source", "referralsource", "customersource", "type"),
    "provider_key": ("providerkey", "customerproviderkey", "paymentproviderkey", "stripecustomerid",
                     "stripecustomer", "stripeid", "stripekey", "providerid", "billingid",
                     "billingcustomerid"),
    "click_date": ("clickdate", "clickedat", "clickedon", "clicked", "clickat", "firstclick",
                   "firstclickat", "firstclickdate", "lastclick", "lastclickat", "lastclickdate",
                   "referralclickdate", "referredat", "referraldate"),
}
# "id" alone is the customer's key in an internal export, but PartnerStack's own record id in a
# dashboard export, so it is only a spelling of customer_key on the internal side.
SIDE_ALIASES = {"internal": {"customer_key": ("id",)}, "dashboard": {}}


# The widest file read: a spreadsheet's own limit (Excel's last column, XFD). A wider export is no
# customer list a person made (it is refused in one line, before its cells are read), and every
# step that goes over the columns stays short.
MAX_COLUMNS = 16384


class TooManyColumns(BadInput):
    """A file wider than MAX_COLUMNS (read.read_table names the file in the message)."""

    def __init__(self, count: int, limit: int):
        super().__init__(f"the file has {count} columns; at most {limit} are read")
        self.count, self.limit = count, limit


def check_width(count: int) -> None:
    if count > MAX_COLUMNS:
        raise TooManyColumns(count, MAX_COLUMNS)


def header_list(headers: list[str], most: int = 20) -> str:
    """The headers for a message: the first ``most`` of them, and how many more."""
    shown = ", ".join(shorten(h, 60) for h in headers[:most])
    return shown + (f" and {len(headers) - most} more" if len(headers) > most else "")


def header_token(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def parse_mapping(items: dict[str, str | None] | None) -> dict[str, dict[str, str | None]]:
    """``{"dashboard.email": "E-mail address"}`` -> ``{"dashboard": {"email": "E-mail address"}}``.
    An empty header or ``-`` maps the field to no column: it is then not inferred either."""
    out: dict[str, dict[str, str | None]] = {side: {} for side in SIDES}
    for key, header in (items or {}).items():
        side, dot, fld = key.strip().partition(".")
        side, fld = side.strip().lower(), fld.strip().lower().replace("-", "_")
        if not dot or side not in SIDES or fld not in FIELDS:
            raise BadInput(
                f"--map {key}={header!r}: expected SIDE.FIELD=HEADER with SIDE one of "
                f"{', '.join(SIDES)} and FIELD one of {', '.join(FIELDS)}"
            )
        header = str(header or "").strip()
        out[side][fld] = None if header in ("", "-") else header
    return out


def resolve_columns(headers: list[str], side: str, path: str, mapping: dict[str, str | None]) -> dict[str, int]:
    """Canonical field -> column index, from explicit mapping first, then the known spellings (a
    field mapped to None has no column)."""
    exact: dict[str, list[int]] = {}  # header -> its columns, and the same by token: one pass over the headers
    loose: dict[str, list[int]] = {}
    for i, h in enumerate(headers):
        exact.setdefault(h, []).append(i)
        loose.setdefault(header_token(h), []).append(i)
    found: dict[str, int] = {}
    for fld, header in mapping.items():
        if header is None:
            continue
        hits = exact.get(header) or loose.get(header_token(header))
        if not hits:
            raise BadInput(
                f"--map {side}.{fld}={header!r}: no such column in {side} file {path} "
                f"(headers found: {header_list(headers)})"
            )
        found[fld] = hits[0]
    used = set(found.values())
    for fld in FIELDS:
        if fld in found or fld in mapping:
            continue
        spellings = ALIASES[fld] + SIDE_ALIASES[side].get(fld, ())
        for spelling in spellings:
            idx = next((i for i in loose.get(spelling, ()) if i not in used), None)
            if idx is not None:
                found[fld] = idx
                used.add(idx)
                break
    return found


def column_roles(table: Any, maps: dict[str, dict[str, str | None]]) -> tuple[ColumnRole, ...]:
    """Which column plays which role in ``table`` (a read file), and whether --map said so."""
    mapped = maps[table.side]
    return tuple(ColumnRole(table.side, f, table.columns.get(f), "off" if mapped.get(f, "") is None
                            else "--map" if f in mapped else "inferred")
                 for f in FIELDS if f in table.columns or f in mapped)
