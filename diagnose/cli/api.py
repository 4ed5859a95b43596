"""The PartnerStack API commands: partner (read) and fix (a remediation plan; sent only with --apply)."""

from __future__ import annotations

import sys
from typing import Any

import click

from diagnose.cli.options import api_options, emit, output_options, result_exit
from diagnose.core.errors import BadInput, ExitCode


@click.command()
@click.argument("who")
@click.option("--link-key", metavar="KEY", help="Also check that this partner key (e.g. a decoded gspk) is a partner.")
@api_options
@output_options
def partner(who: str, link_key: str | None, api, as_json: bool) -> ExitCode:
    """Look a partner up in the program: exists, archived, group, e-mail, joined.

    WHO is a partner key, or the partner's e-mail (anything with an @). Reads only.
    """
    from diagnose.checks.partner import check_partner

    who = who.strip()
    if not who:
        raise BadInput("WHO is empty: give a partner key or the partner's e-mail")
    by_email = "@" in who
    with api() as client:
        result = check_partner(client, None if by_email else who, who if by_email else None, link_key)
    emit(result, as_json)
    return result_exit(result)


@click.command()
@click.argument("evidence_file", required=False, type=click.Path(dir_okay=False))
@click.option("--missed", "missed_file", type=click.Path(dir_okay=False),
              help="Plan for the missed customers of `diagnose reconcile --missed-out FILE` instead of a ticket.")
@click.option("--partner", "partner_key", metavar="KEY", help="With --missed: the partner of rows that name none.")
@click.option("--amount", help="Also record the sale: its amount (e.g. 49.90), sent in cents.")
@click.option("--currency", help="The sale's currency (3 letters; default USD).")
@click.option("--include-test-partner", is_flag=True, help="Also send requests for the test partner (gstest).")
@click.option("--apply", "apply_", is_flag=True, help="Send the requests (after a confirmation). Default: a dry run.")
@click.option("--yes", is_flag=True, help="With --apply: do not ask for confirmation (scripts).")
@click.option("--audit-log", default="reports/fix-audit.jsonl", show_default=True, type=click.Path(dir_okay=False),
              help="With --apply: append each request and its outcome here (JSON Lines); a re-run resumes from it.")
@api_options
@output_options
def fix(evidence_file: str | None, missed_file: str | None, partner_key: str | None, amount: str | None,
        currency: str | None, include_test_partner: bool, apply_: bool, yes: bool, audit_log: str, api,
        as_json: bool) -> int:
    """Plan the guide's remediation, and carry it out with --apply: add the missed customer,
    attributed to the partner, and record the sale.

    EVIDENCE_FILE is what `diagnose ticket --save-evidence` wrote: the plan follows its diagnosis
    (nothing is planned unless the missed referral is confirmed and is this partner's). Or give
    --missed with reconcile's missed-customers CSV. Without --apply nothing is sent: the exact
    requests are printed. With --apply each object is read back first, so a re-run creates nothing
    twice.
    """
    from dataclasses import replace

    from diagnose.core.files import writable_file
    from diagnose.pipeline import fix_plan
    from diagnose.report.model import FixReport

    if bool(evidence_file) == bool(missed_file):
        raise BadInput("give EVIDENCE_FILE (from diagnose ticket --save-evidence) or --missed CSV, one of the two")
    if partner_key and not missed_file:
        raise BadInput("--partner goes with --missed (a ticket's plan uses the ticket's partner)")
    sale = fix_plan.parse_amount(amount, currency)
    audit = writable_file(audit_log, "--audit-log") if apply_ else None
    if evidence_file:
        from diagnose.pipeline.evidence_io import load_evidence

        ticket, evidence = load_evidence(evidence_file)
        plan = fix_plan.plan_from_ticket(evidence_file, ticket, evidence, sale, include_test_partner)
    else:
        plan = fix_plan.plan_from_missed(missed_file, sale, partner_key, include_test_partner)
    client = _client(api, required=apply_ and bool(plan.steps))
    if client is not None:
        plan = replace(plan, test_keys=client.credentials.test)
    try:
        if not apply_ or not plan.steps or not _confirm(plan, client.base_url, yes):
            report = FixReport(plan)
        else:
            from diagnose.pipeline.fix_apply import apply_plan

            report = FixReport(plan, tuple(apply_plan(plan, client, audit)), str(audit))
    finally:
        if client is not None:
            client.close()
    emit(report, as_json)
    return report.exit_code()


def _client(api, required: bool) -> Any:
    """The API client; for a dry run only when keys are given (to say whether they are test keys)."""
    try:
        return api()
    except BadInput:
        if required:
            raise
        return None


def _confirm(plan, base_url: str, yes: bool) -> bool:
    """Ask before sending (--yes: don't); a no prints the plan as a dry run, nothing sent."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise BadInput("--apply asks before sending; not at a terminal, add --yes to send without asking")
    test = " (TEST keys)" if plan.test_keys else ""
    if click.confirm(f"Send {len(plan.steps)} request(s) to {base_url}{test}?", err=True):
        return True
    click.echo("Nothing sent.", err=True)
    return False
