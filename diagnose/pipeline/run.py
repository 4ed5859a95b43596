"""Run a ticket: check that it gives something to check, then gather its evidence."""

from __future__ import annotations

from typing import Any

from diagnose.core.errors import BadInput
from diagnose.core.evidence import CheckResult
from diagnose.core.ticket import API_DASHBOARD, Ticket
from diagnose.pipeline.gather import GatherOptions, OwnBrowser, gather


def check_runnable(ticket: Ticket, options: GatherOptions | None = None) -> None:
    """Raise BadInput when the ticket gives nothing to check, or needs the API without a client."""
    if not (ticket.link or (ticket.dashboard and ticket.internal)):
        raise BadInput("the ticket needs a link, or dashboard and internal exports, to check anything")
    api = options.api if options is not None else None
    if ticket.dashboard == API_DASHBOARD and api is None:
        raise BadInput(f"dashboard: {API_DASHBOARD} reads the customers from the PartnerStack API: add --api "
                       "(with the API keys in PARTNERSTACK_PUBLIC_KEY / PARTNERSTACK_SECRET_KEY or --config)")
    if ticket.partner_email and not ticket.partner_key and api is None:
        raise BadInput("partner_email is looked up in the PartnerStack API: add --api, or give partner_key")


def run_ticket(ticket: Ticket, options: GatherOptions | None = None, session: Any = None,
               browser: OwnBrowser | None = None) -> dict[str, CheckResult]:
    """Gather the evidence the ticket allows (the rules then diagnose it: report.model.build_report).
    ``browser``: the ticket's own, already launching (pipeline.gather.launch_browser); closed here."""
    try:
        check_runnable(ticket, options)
    except BaseException:
        if browser is not None:
            browser.close()
        raise
    return gather(ticket, options, session, browser)
