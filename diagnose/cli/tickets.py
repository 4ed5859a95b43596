"""The ticket commands: ticket (the whole job), explain (offline, from saved evidence), demo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from diagnose.cli.options import api_options, emit, net_options, output_options, report_options, ticket_options
from diagnose.core.errors import BadInput, ExitCode


def show_report(report, as_json: bool, html_file: Path | None) -> int:
    """Print the report, write its HTML file when asked, and exit."""
    from diagnose.core.files import write_atomic
    from diagnose.report import render
    from diagnose.report.model import exit_code

    if html_file is not None:
        write_atomic(html_file, render("html", report))
        click.echo(f"HTML report: {html_file}", err=True)
    emit(report, as_json)
    return exit_code(report)


@click.command()
@click.argument("ticket_file", required=False, type=click.Path(dir_okay=False))
@ticket_options
@click.option("--save-evidence", type=click.Path(dir_okay=False), help="Write the gathered evidence to this JSON file.")
@click.option("--no-browser", is_flag=True, help="Skip the real-browser checks (their findings become cannot-tell).")
@click.option("--browser-path", help="The Chromium to use (else DIAGNOSE_BROWSER, Playwright's, the system's).")
@click.option("--screenshot-dir", default="reports", show_default=True, type=click.Path(file_okay=False),
              help="Where the landing page's screenshot goes.")
@click.option("--api", "use_api", is_flag=True,
              help="Also ask the PartnerStack API: is the partner (and the link's key) a partner of the program; "
                   "with dashboard: partnerstack the customer is read from it too.")
@click.option("--reply", "reply_path", is_flag=False, flag_value="", default=None, metavar="[FILE]",
              help="Also write the reply to the partner (default reports/<date>-<customer>-reply.txt; Markdown "
                   "when FILE ends in .md); always from the redacted report.")
@api_options
@net_options
@report_options
def ticket(ticket_file: str | None, save_evidence: str | None, no_browser: bool, browser_path: str | None,
           screenshot_dir: str, use_api: bool, reply_path: str | None, api, policy, as_json: bool,
           html_path: str | None, redact: bool, **facts: Any) -> int:
    """Diagnose a partner's missed-referral ticket: run the checks its facts allow, then the rules.

    TICKET_FILE is YAML or JSON with any of the keys below (all optional; dashboard and internal
    are paths relative to the ticket). Options override the file.
    """
    from diagnose.core import ticket as tickets
    from diagnose.core.files import distinct_outputs, writable_dir, writable_file
    from diagnose.pipeline.gather import GatherOptions, launch_browser
    from diagnose.pipeline.run import check_runnable
    from diagnose.report.output import html_target

    base = tickets.load(ticket_file) if ticket_file else tickets.Ticket()
    t = tickets.with_overrides(base, facts)
    # Every output is checked before the checks run: a bad path is exit 2 now, not after the work.
    if not no_browser and t.link:
        writable_dir(screenshot_dir, "--screenshot-dir")
    evidence_file = writable_file(save_evidence, "--save-evidence") if save_evidence else None
    html_file = html_target(html_path, t, redact) if html_path is not None else None
    reply_file = None
    if reply_path is not None:
        from diagnose.report.reply import reply_target

        reply_file = reply_target(reply_path, t, redact)
    distinct_outputs({"--save-evidence": evidence_file, "--html": html_file, "--reply": reply_file},
                     [ticket_file, t.dashboard, t.internal])
    client = api() if use_api or t.dashboard == tickets.API_DASHBOARD else None
    browser = None
    try:
        options = GatherOptions(policy=policy, use_browser=not no_browser, browser_path=browser_path,
                                screenshot_dir=screenshot_dir, api=client, api_concurrency=api.concurrency,
                                while_waiting=_preparations(html_file is not None, as_json))
        check_runnable(t, options)
        # The browser starts now, before the rest is imported: its launch is most of a ticket's time.
        browser = launch_browser(t, options)
        from diagnose.pipeline.run import run_ticket
        from diagnose.report.model import build_report, redacted

        report = build_report(t, run_ticket(t, options, browser=browser), embed_screenshots=html_file is not None)
    finally:
        if browser is not None:  # the run closes it; this covers a stop before the run began (Ctrl-C)
            browser.close()
        if client is not None:
            client.close()
    if redact:  # once, for every output: the saved evidence too
        report = redacted(report)
    if evidence_file is not None:
        from diagnose.pipeline.evidence_io import save_evidence as save

        save(evidence_file, report.ticket, report.evidence, redacted=report.redacted)
    if reply_file is not None:
        from diagnose.report.reply import write_reply

        click.echo(f"Reply to the partner: {write_reply(report, reply_file)}", err=True)
    return show_report(report, as_json, html_file)


def _preparations(html: bool, as_json: bool) -> tuple:
    """What a ticket can prepare while its browser starts, in the order it is needed: the browser
    check's code, then the renderers (each step runs only while the browser is still starting)."""

    def cookie_check() -> None:
        import diagnose.checks.cookie  # noqa: F401

    def html_template() -> None:
        from diagnose.report.html import environment

        environment().get_template("report.html.j2")

    def shown() -> None:
        import importlib

        from diagnose.report import FORMATS

        importlib.import_module(FORMATS["json" if as_json else "terminal"])

    return (cookie_check, *((html_template,) if html else ()), shown)


@click.command()
@click.argument("evidence_file", type=click.Path(dir_okay=False))
@report_options
def explain(evidence_file: str, as_json: bool, html_path: str | None, redact: bool) -> int:
    """Re-run the rules on evidence saved by `diagnose ticket --save-evidence`, offline.

    No network and no browser: the report is rebuilt from the file alone.
    """
    from diagnose.core.files import distinct_outputs
    from diagnose.report.output import html_target
    from diagnose.pipeline.evidence_io import load_evidence
    from diagnose.report.model import build_report, redacted

    t, evidence = load_evidence(evidence_file)
    html_file = html_target(html_path, t, redact) if html_path is not None else None
    distinct_outputs({"--html": html_file}, [evidence_file])
    report = build_report(t, evidence, embed_screenshots=html_file is not None)
    return show_report(redacted(report) if redact else report, as_json, html_file)


@click.command()
@click.option("--out", "out_dir", default="reports/demo", show_default=True, type=click.Path(file_okay=False),
              help="Where the HTML reports and their index go.")
@click.option("--only", multiple=True, metavar="NAME", help="Run only this demo ticket (repeatable).")
@click.option("--browser-path", help="The Chromium to use (else DIAGNOSE_BROWSER, Playwright's, the system's).")
@output_options
def demo(out_dir: str, only: tuple[str, ...], browser_path: str | None, as_json: bool) -> int:
    """Run the embedded demo: a local site reproducing every failure case, one ticket per case.

    Starts a site on 127.0.0.1 with a referral-link redirector, landing pages and a stand-in
    PartnerStackJS, diagnoses each bundled ticket, prints ticket -> top diagnosis -> verdict and
    writes the HTML reports with an index page.
    """
    from diagnose.demo.run import load_scenarios, run_demo

    names = {s.name for s in load_scenarios()}
    unknown = [n for n in only if n not in names]
    if unknown:
        raise BadInput(f"unknown demo ticket {unknown[0]!r} (known: {', '.join(sorted(names))})")

    def progress(row) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"  {row.ticket}: {row.id} ({row.verdict})", err=True)

    summary = run_demo(out_dir, browser_path=browser_path, only=list(only), on_row=progress)
    emit(summary, as_json)
    return ExitCode.OK if summary.all_ok else ExitCode.PROBLEM
