"""What ``diagnose reconcile`` finds: its buckets, reasons and the evidence dataclasses (registered as
the ``reconcile`` check's evidence; the ``sensitive(...)`` fields are what --redact hides)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from diagnose.core.evidence import evidence, sensitive

PAIR_BUCKETS = ("matched", "other_partner", "pending")
MATCH_ON = ("key+email", "email", "key")
PREVIEW_ROWS = 10


@dataclass(frozen=True)
class ReconcileCounts:
    dashboard: int = 0
    internal: int = 0
    matched: int = 0
    missing_from_dashboard: int = 0
    dashboard_only: int = 0
    other_partner: int = 0
    pending: int = 0
    rejected: int = 0
    excluded: int = 0
    rejected_dashboard: int = 0
    rejected_internal: int = 0
    excluded_dashboard: int = 0
    excluded_internal: int = 0
    outside_window: int = 0
    duplicate_keys: int = 0
    key_conflicts: int = 0  # pairs matched by the same e-mail although their customer_keys differ
    date_unreadable: int = 0  # rows kept with a date that could not be read
    declined: int = 0  # pairs whose dashboard status is of the declined class (in their bucket all the same)


@dataclass(frozen=True)
class PairRow:
    """A customer in both files (matched / other_partner / pending)."""

    match_reason: str
    customer_key: str | None
    email: str | None
    dashboard_email: str | None
    name: str | None
    partner_key: str | None
    status: str | None
    provider_key: str | None
    signup_date: str | None
    dashboard_created_at: str | None
    click_date: str | None
    days_click_to_signup: int | None
    outside_window: bool
    internal_line: int
    dashboard_line: int
    key_conflict: bool = False  # same e-mail, different customer_key: matched, with a note
    note: str | None = None


@dataclass(frozen=True)
class InternalRow:
    """An internal record with no dashboard row. ``match_reason``: ``no-match``,
    ``key-conflict`` (same e-mail, different customer_key) or ``duplicate`` (an extra row of a
    duplicated key)."""

    match_reason: str
    customer_key: str | None
    email: str | None
    name: str | None
    provider_key: str | None
    signup_date: str | None
    click_date: str | None
    days_click_to_signup: int | None
    outside_window: bool
    line: int


@dataclass(frozen=True)
class DashboardRow:
    """A dashboard customer with no internal record. ``match_reason``: ``no-match``,
    ``key-conflict``, ``duplicate`` or ``anonymised-no-key``."""

    match_reason: str
    customer_key: str | None
    email: str | None
    name: str | None
    partner_key: str | None
    status: str | None
    provider_key: str | None
    created_at: str | None
    anonymised: bool
    line: int


@dataclass(frozen=True)
class RejectedRow:
    file: str
    side: str
    line: int
    reason: str
    raw: str | None


@dataclass(frozen=True)
class ExcludedRow:
    side: str
    line: int
    customer_key: str | None
    email: str | None
    date: str | None


@dataclass(frozen=True)
class ColumnRole:
    """Which column of a file plays which role: ``how`` is ``inferred`` (from the header), ``--map``
    or ``off`` (mapped to no column with --map SIDE.FIELD=)."""

    side: str
    field: str
    column: str | None
    how: str


@dataclass(frozen=True)
class UnreadableDate:
    """A row kept with its date unknown: the date text could not be read."""

    side: str
    line: int
    column: str
    value: str


@dataclass(frozen=True)
class DuplicateKey:
    side: str
    kind: str  # customer_key / email
    value: str
    rows: int
    lines: tuple[int, ...]


@dataclass(frozen=True)
class CustomerAnswer:
    """The ticket's question for one customer: in our records? in the dashboard? whose? since?

    ``query`` is matched as a customer_key or an e-mail (with the enabled loose rules), and, when
    neither finds anything and it is not an e-mail, as the customer's name."""

    query: str = sensitive("email")  # the ticket's customer: an e-mail, else a name or key
    found_internal: bool
    found_dashboard: bool
    bucket: str | None
    match_reason: str | None
    dashboard_partner_key: str | None = sensitive("partner")
    dashboard_status: str | None
    provider_key: str | None = sensitive("account")
    customer_key: str | None
    email: str | None = sensitive("email")
    name: str | None = sensitive("person")
    signup_date: str | None
    dashboard_created_at: str | None
    click_date: str | None
    days_click_to_signup: int | None
    outside_window: bool
    anonymised: bool
    internal_line: int | None
    dashboard_line: int | None
    other_matches: int
    key_conflict: bool = False
    note: str | None = None
    dashboard_status_class: str | None = None  # of dashboard_status: declined, pending, tracked, unknown


@evidence("reconcile")
@dataclass(frozen=True)
class ReconcileEvidence:
    dashboard_file: str = sensitive("path")
    internal_file: str = sensitive("path")
    partner: str | None = sensitive("partner")
    since: str | None
    until: str | None
    window_days: int
    loose_rules: tuple[str, ...]
    dashboard_columns: dict[str, str]
    internal_columns: dict[str, str]
    dashboard_encoding: str
    internal_encoding: str
    complete: bool  # False: some list holds only its first rows (counts are always whole)
    counts: ReconcileCounts
    customer: CustomerAnswer | None = None
    matched: tuple[PairRow, ...] = sensitive("rows", default=())
    other_partner: tuple[PairRow, ...] = sensitive("rows", default=())
    pending: tuple[PairRow, ...] = sensitive("rows", default=())
    missing_from_dashboard: tuple[InternalRow, ...] = sensitive("rows", default=())
    dashboard_only: tuple[DashboardRow, ...] = sensitive("rows", default=())
    rejected: tuple[RejectedRow, ...] = sensitive("rows", default=())
    excluded: tuple[ExcludedRow, ...] = sensitive("rows", default=())
    duplicates: tuple[DuplicateKey, ...] = sensitive("rows", default=())
    match_on: str = "key+email"  # key+email | email | key
    column_roles: tuple[ColumnRole, ...] = ()
    date_rules: dict[str, str] = dataclasses.field(default_factory=dict)  # "side.field" -> rule used
    date_unreadable: tuple[UnreadableDate, ...] = sensitive("rows", default=())
