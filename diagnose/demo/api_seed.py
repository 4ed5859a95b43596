"""The demo's program in the API stand-in: its partners, and the customers of its dashboard export
(data/dashboard.csv) with rewards that give each its export's status back (see
``status_from_rewards`` in the domain module), so a ticket answered from the API and one answered
from the export get the same diagnosis."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from diagnose.core.partnerstack import epoch_ms

DATA = Path(__file__).parent / "data"
JANE, BOB, OTTO = "a1b2c3d4e5f6", "0b0b0b0b0b0b", "ffe1d2c3b4a5"  # the demo's partners (Otto: case 1's)
PARTNERS = {  # partner key -> (e-mail, first name, last name)
    JANE: ("jane@partners.example", "Jane", "Partner"),
    OTTO: ("otto@partners.example", "Otto", "Other"),
    BOB: ("bob@partners.example", "Bob", "Builder"),
}
REWARDS_FOR_STATUS = {"signed up": (), "pending approval": ("pending",), "paid": ("paid",), "approved": ("approved",),
                      "declined": ("declined",), "on hold": ("hold",)}


def seed(api: Any, export: str | Path = DATA / "dashboard.csv") -> int:
    """Add the demo's partners and the export's customers (with their rewards) to ``api``; the count."""
    for key, (email, first, last) in PARTNERS.items():
        api.add_partnership(key, email=email, first_name=first, last_name=last)
    count = 0
    with open(export, newline="", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            created = epoch_ms(dt.date.fromisoformat(row["Created At"])) + 12 * 3600 * 1000  # midday UTC
            api.add_customer(row["Customer Key"], row["Email"], row["Partner Key"] or None, name=row["Name"] or None,
                             provider_key=row["Provider Key"] or None, created_at=created, test=False)
            for status in REWARDS_FOR_STATUS.get(row["Status"].strip().lower(), ("pending",)):
                api.add_reward(row["Customer Key"], status, created_at=created)
            count += 1
    return count
