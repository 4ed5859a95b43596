"""Run a ticket: check that it gives something to check, then gather its evidence."""

from __future__ import annotations

from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import CheckResult
from diagnose.core.ticket import Ticket
from diagnose.pipeline.gather import GatherOptions, gather


def run_ticket(ticket: Ticket, options: GatherOptions | None = None, session: Any = None) -> dict[str, CheckResult]:
    """Gather the evidence the ticket allows (the rules then diagnose it: report.model.build_report)."""
    if not (ticket.link or (ticket.dashboard and ticket.internal)):
        raise BadInput("the ticket needs a link, or dashboard and internal exports, to check anything")
    return gather(ticket, options, session)
