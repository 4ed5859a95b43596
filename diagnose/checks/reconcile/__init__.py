"""Check: reconcile the PartnerStack dashboard's customers against the company's internal records
(guide: "Check and compare customer creation in your dashboard and internal records").

Matching (vectorised with polars; ``match_on``: ``key+email`` (default), ``email`` or ``key``):

1. by ``customer_key`` when both rows have one (reason ``customer-key``);
2. else by e-mail, recording why the pair matched: ``exact``, ``case-or-space`` (case and white
   space ignored), ``plus-tag`` (``user+tag@`` = ``user@``), ``gmail-dots`` (dots ignored in
   gmail.com / googlemail.com addresses). The three loose rules are on by default and each can be
   turned off. Two rows whose customer_keys differ still pair by the same address (exact, or case
   and spaces aside), with ``key_conflict`` and a note on the row, never by a looser rule
   (``key-conflict``); with ``match_on="email"`` the keys play no part (no conflict). Placeholder
   dashboard e-mails (``j***@``, ``…@anonymized…``) match by key only.

Duplicate keys are paired one to one in file order (the first internal row with the first dashboard
row of the same key, ...), so that no row is collapsed; the duplicates are reported.

Buckets (every row of each file lands in exactly one; a pair counts once on each side):

* ``matched`` - a pair; ``other_partner`` - a pair the dashboard attributes to a partner other
  than ``partner`` (only with ``partner``); ``pending`` - a pair whose dashboard status is of the
  pending class of ``core.partnerstack.DASHBOARD_STATUSES`` (the vocabulary the rules read too); a
  pair whose status is of its declined class stays in its bucket, counted in ``counts.declined``;
* ``missing_from_dashboard`` - an internal row with no dashboard row (a missed-referral candidate);
* ``dashboard_only`` - a dashboard row with no internal row;
* ``rejected`` - a row that could not be read (file, line, reason);
* ``excluded`` - outside ``since`` / ``until`` (signup date; a dashboard-only row by its
  created date). Rows without a date, or with a date that could not be read, are kept.

Problems: ``missing-from-dashboard`` (fail), ``other-partner`` (fail), ``pending`` (warn), ``declined`` (warn),
``outside-window`` (warn: signup more than ``window_days`` after the click), ``key-conflict``,
``duplicate-keys``, ``date-unreadable``, ``rejected-rows`` (warn). With ``customer`` every problem
is about that one customer (plus ``dashboard-only``, warn, and ``customer-not-found``, fail): the
file-wide ones only where they touch its rows (a date on its row, its key or e-mail repeated, an
unreadable row that names it); the customer is looked up by customer_key or e-mail, then by name.

Speed and memory: each side's work runs on its own thread; the loose e-mail forms are computed only
for the rows key matching left and only where a rule can change them; rows are found through a
line -> row lookup; full rows are built only for the rows shown (``rows=False``: the first 10 of a
bucket), for ``missed_out``, or a chunk at a time for ``json_out``. 1M x 1M rows: about 2 s and
0.8 GB peak RSS, --json too (benchmarks/reconcile.py).

The stages, one module each: options.py (what is asked), read.py (files, encodings; csvread.py,
excel.py; columns.py: header inference and --map; dates.py), match.py (keys, then e-mails with
reasons; emails.py: the loose forms and placeholders), buckets.py (buckets, dates, counts), rows.py
(full rows for the rows shown), answer.py (--customer), problems.py, missed_out.py (import-ready CSV),
stream.py (--json); check.py runs them in order; model.py holds the evidence.
"""

from __future__ import annotations

from diagnose.checks.reconcile.check import reconcile_files
from diagnose.checks.reconcile.emails import add_email_levels, normalise_email
from diagnose.checks.reconcile.missed_out import MISSED_OUT_COLUMNS, write_missed_out
from diagnose.checks.reconcile.model import (
    MATCH_ON, PREVIEW_ROWS, ColumnRole, CustomerAnswer, DashboardRow, DuplicateKey, ExcludedRow,
    InternalRow, PairRow, ReconcileCounts, ReconcileEvidence, RejectedRow, UnreadableDate,
)
from diagnose.checks.reconcile.options import ReconcileOptions, stages

__all__ = [
    "MATCH_ON", "MISSED_OUT_COLUMNS", "PREVIEW_ROWS", "ColumnRole", "CustomerAnswer",
    "DashboardRow", "DuplicateKey", "ExcludedRow", "InternalRow", "PairRow", "ReconcileCounts",
    "ReconcileEvidence", "ReconcileOptions", "RejectedRow", "UnreadableDate", "add_email_levels",
    "normalise_email", "reconcile_files", "stages", "write_missed_out",
]
