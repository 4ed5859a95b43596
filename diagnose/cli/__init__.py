"""The command line: thin click commands that parse, call the core, render and exit.

Heavy libraries (requests, bs4, tabulate, jinja2, playwright) are imported inside the commands,
never here, so that ``diagnose --help`` starts fast.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

import click

from diagnose import __version__
from diagnose.core.errors import BadInput, DiagnoseError
from diagnose.core.errors import ExitCode


class DiagnoseGroup(click.Group):
    """Every error ends as one line on stderr and a named exit code, never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("Error: interrupted", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except KeyboardInterrupt:
            click.echo("Error: interrupted", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(ExitCode.OK)
        except click.ClickException as exc:
            message = " ".join(exc.format_message().split())
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            click.echo(f"Error: {message}{hint}", err=True)
            sys.exit(exc.exit_code)
        except DiagnoseError as exc:
            click.echo(f"Error: {' '.join(str(exc).split())}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:  # e.g. a broken pipe or a full disk while writing output
            click.echo(f"Error: {exc.strerror or exc}", err=True)
            sys.exit(ExitCode.INCOMPLETE)
        except Exception as exc:  # a bug: still one line, unless asked for the traceback
            if os.environ.get("DIAGNOSE_DEBUG"):
                raise
            click.echo(f"Error: internal error ({type(exc).__name__}: {' '.join(str(exc).split())[:300]}); "
                       "set DIAGNOSE_DEBUG=1 for the traceback", err=True)
            sys.exit(ExitCode.INCOMPLETE)
        sys.exit(int(rv) if isinstance(rv, int) else ExitCode.OK)


# -- shared options -------------------------------------------------------------------------


def output_options(fn):
    """--json: one JSON object on stdout instead of tables."""

    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        return fn(*args, **kwargs)

    return wrapper


def net_options(fn):
    """Timeouts, limits and the private-network rule for commands that visit untrusted URLs."""

    @click.option("--timeout", type=click.FloatRange(0.1, 300), default=10.0, show_default=True,
                  help="Seconds to wait to connect and for each read (each hop's deadline is twice this).")
    @click.option("--max-redirects", type=click.IntRange(0, 100), default=20, show_default=True,
                  help="Give up after this many redirects.")
    @click.option("--max-bytes", type=click.IntRange(1024, 100_000_000), default=5_000_000, show_default=True,
                  help="Read at most this many bytes of any page.")
    @click.option("--allow-private-network", is_flag=True,
                  help="Allow loopback and private addresses (test sites); also DIAGNOSE_ALLOW_PRIVATE_NETWORK=1.")
    @functools.wraps(fn)
    def wrapper(*args: Any, timeout: float, max_redirects: int, max_bytes: int,
                allow_private_network: bool, **kwargs: Any):
        from diagnose.web import fetch as net

        kwargs["policy"] = net.NetPolicy(
            timeout=timeout,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
            allow_private=allow_private_network or net.env_allows_private(),
        )
        return fn(*args, **kwargs)

    return wrapper


def emit(model: Any, as_json: bool, **options: Any) -> None:
    from diagnose.report import render

    click.echo(render("json" if as_json else "terminal", model, **options))


def result_exit(*results: Any) -> ExitCode:
    from diagnose.core.errors import for_statuses

    return for_statuses(r.status for r in results)


# -- commands -------------------------------------------------------------------------------


@click.group(cls=DiagnoseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="diagnose")
def cli() -> None:
    """Find out why a partner's PartnerStack referral was not tracked.

    Each command is one step of the company-side troubleshooting guide. Exit codes: 0 no problem,
    1 a problem found, 2 bad input, 3 could not complete.
    """


@cli.command()
@click.argument("url")
@net_options
@output_options
def link(url: str, policy, as_json: bool) -> ExitCode:
    """Follow a referral link hop by hop and check the partner parameters it lands with.

    URL is the partner's link (e.g. https://acme.partnerlinks.io/jane). Every redirect (HTTP,
    Refresh header, meta refresh, JavaScript location) is recorded; gspk / ps_partner_key is
    decoded; a hop that drops the parameters is named.
    """
    from diagnose.web import fetch as net
    from diagnose.checks.link import check_link

    result = check_link(net.normalise_url(url), policy)
    emit(result, as_json)
    return result_exit(result)


@cli.command()
@click.argument("value")
@click.option("--partner", metavar="KEY", help="The partner's own key: report partner-mismatch when it differs.")
@output_options
def gspk(value: str, partner: str | None, as_json: bool) -> ExitCode:
    """Decode a GSPK / ps_partner_key into the partner key.

    VALUE is the base64 value (padded or not, standard or URL-safe, percent-encoded or not) or a
    whole URL carrying gspk or ps_partner_key.
    """
    from diagnose.checks.gspk import check_gspk

    if not value.strip():
        raise BadInput("VALUE is empty: give a GSPK, a ps_partner_key or a URL carrying one")
    result = check_gspk(value, partner)
    emit(result, as_json)
    return result_exit(result)


@cli.command()
@click.argument("url", required=False)
@click.option("--file", "page_file", type=click.Path(dir_okay=False), help="Inspect a saved HTML page instead of a URL.")
@click.option("--expect-key", metavar="pk_…", help="The program's public key: report a snippet using another.")
@net_options
@output_options
def snippet(url: str | None, page_file: str | None, expect_key: str | None, policy, as_json: bool) -> ExitCode:
    """Check the landing page's static HTML for the PartnerStackJS snippet and its public key.

    The page is parsed, never run. A snippet injected at runtime (React, tag managers) is only
    seen by `diagnose cookie`.
    """
    from diagnose.web import fetch as net
    from diagnose.checks.snippet import check_snippet_file, check_snippet_url

    expected = validate_public_key(expect_key)
    if bool(url) == bool(page_file):
        raise BadInput("give either a URL or --file PAGE.html (exactly one)")
    if page_file:
        result = check_snippet_file(page_file, expected)
    else:
        result = check_snippet_url(net.normalise_url(url), policy, expected)
    emit(result, as_json)
    return result_exit(result)


@cli.command()
@click.option("--dashboard", "dashboard_file", required=True, type=click.Path(dir_okay=False),
              help="The PartnerStack dashboard's customer export (CSV or JSON Lines).")
@click.option("--internal", "internal_file", required=True, type=click.Path(dir_okay=False),
              help="Your own customer records (CSV or JSON Lines).")
@click.option("--partner", metavar="KEY", help="The partner's key: customers attributed to another partner are other_partner.")
@click.option("--customer", metavar="EMAIL_OR_KEY", help="Answer for one customer: in our records? in the dashboard? whose?")
@click.option("--map", "maps", multiple=True, metavar="SIDE.FIELD=HEADER",
              help='Column override, repeatable: --map dashboard.email="E-mail address". An empty HEADER '
                   '(or -) maps the field to no column, e.g. --map internal.customer_key= when the column '
                   'taken for the key (say user_id) is not the customer\'s key. SIDE: dashboard, internal; '
                   'FIELD: customer_key, email, name, partner_key, created_at, status, source, provider_key, '
                   'click_date.')
@click.option("--match-on", type=click.Choice(["key+email", "email", "key"]), default="key+email",
              show_default=True,
              help="How rows pair: customer_key first, then e-mail; e-mail only; or customer_key only.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only customers who signed up on or after this date.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Only customers who signed up on or before this date.")
@click.option("--window-days", type=click.IntRange(0, 3650), default=90, show_default=True,
              help="Attribution window: signup more than this many days after the click is outside-window.")
@click.option("--no-case-or-space", is_flag=True, help="Do not match e-mails that differ only in case or spaces.")
@click.option("--no-plus-tag", is_flag=True, help="Do not match user+tag@ with user@.")
@click.option("--no-gmail-dots", is_flag=True, help="Do not ignore dots in gmail.com / googlemail.com addresses.")
@click.option("--strict-email", is_flag=True, help="Exact e-mails only (all three loose rules off).")
@click.option("--missed-out", type=click.Path(dir_okay=False), metavar="FILE.csv",
              help="Write the missing customers as an import-ready CSV.")
@output_options
def reconcile(dashboard_file: str, internal_file: str, partner: str | None, customer: str | None,
              maps: tuple[str, ...], match_on: str, since, until, window_days: int, no_case_or_space: bool,
              no_plus_tag: bool, no_gmail_dots: bool, strict_email: bool, missed_out: str | None,
              as_json: bool) -> ExitCode:
    """Compare the dashboard's customers with your internal records.

    Buckets: matched, other_partner, pending, missing_from_dashboard (missed referrals),
    dashboard_only, rejected (unreadable rows, with file and line), excluded (--since/--until).
    Pairs match by customer_key, else by e-mail with a reason (exact, case-or-space, plus-tag,
    gmail-dots); the same e-mail pairs rows whose customer_keys differ, with a key_conflict note.
    The output names the column taken for each role on each side (column_roles).
    """
    from types import SimpleNamespace

    from diagnose.checks.reconcile import reconcile_files, stages

    mapping: dict[str, str] = {}
    for item in maps:
        key, eq, header = item.partition("=")
        if not eq:
            raise BadInput(f"--map {item!r}: expected SIDE.FIELD=HEADER, e.g. dashboard.email=\"E-mail address\"")
        mapping[key.strip()] = header.strip().strip('"')
    stdout = SimpleNamespace(write=lambda text: click.echo(text, nl=False))
    bar = StageBar(len(stages(missed_out=bool(missed_out), json_out=as_json))) if sys.stderr.isatty() else None
    progress = bar.advance if bar else None
    result = reconcile_files(
        dashboard_file, internal_file, partner=partner, customer=customer, mapping=mapping, match_on=match_on,
        since=since.date() if since else None, until=until.date() if until else None,
        window_days=window_days, loose=not strict_email, case_or_space=not no_case_or_space,
        plus_tag=not no_plus_tag, gmail_dots=not no_gmail_dots,
        rows=False, missed_out=missed_out, progress=progress, json_out=stdout if as_json else None,
    )  # --json: every row, streamed a chunk at a time by reconcile_files itself
    if bar:
        bar.finish()
    if not as_json:
        emit(result, as_json)
    return result_exit(result)


@cli.command()
@click.argument("url")
@click.option("--policy", "browser_policy", type=click.Choice(["chromium", "no-cookies", "safari-itp", "all"]),
              default="chromium", show_default=True,
              help="Browser policy: no-cookies blocks cookie storage; safari-itp simulates Safari ITP's cookie "
                   "caps on Chromium (not Safari); all runs each in its own context.")
@click.option("--expect-key", metavar="pk_…", help="The program's public key: report initialized-with-other-key.")
@click.option("--signup-url", metavar="URL", help="The signup page: would the partner cookie be readable there?")
@click.option("--screenshot-dir", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="Where to save a PNG of the landing page.")
@click.option("--no-screenshot", is_flag=True, help="Do not save a screenshot.")
@click.option("--har", type=click.Path(dir_okay=False), help="Save a HAR of the session (one per policy with --policy all).")
@click.option("--browser-path", type=click.Path(dir_okay=False), help="The Chromium to use (also DIAGNOSE_BROWSER).")
@click.option("--settle-ms", type=click.IntRange(0, 10_000), default=300, show_default=True,
              help="Quiet window after load while the snippet's evidence is incomplete.")
@net_options
@output_options
def cookie(url: str, browser_policy: str, expect_key: str | None, signup_url: str | None, screenshot_dir: str,
           no_screenshot: bool, har: str | None, browser_path: str | None, settle_ms: int, policy,
           as_json: bool) -> ExitCode:
    """Open URL in a real browser as a customer's first visit: partner cookie and PartnerStackJS.

    URL is the referral link or a landing URL carrying gspk / ps_partner_key. Reports the
    navigation chain, every cookie, the partner cookie against the 90-day window, the public key
    _initialize was actually called with, growsumo.data, failed snippet requests, consent managers,
    and with --signup-url whether the cookie is readable at signup. --json with --policy all prints
    {"status": ..., "results": [one object per policy]}. --timeout bounds the whole visit (loading
    and settling; reading the page adds a few seconds): a server that does not answer in time is a
    `timeout`.
    """
    from diagnose.web import fetch as net
    from diagnose.checks.cookie import CookieRun, check_cookie_policies
    from diagnose.core.errors import CannotComplete

    expected = validate_public_key(expect_key)
    target = net.normalise_url(url)
    signup = net.normalise_url(signup_url) if signup_url else None
    if har:
        require_writable_dir(Path(har).parent, "--har")
    if not no_screenshot:
        require_writable_dir(Path(screenshot_dir), "--screenshot-dir")
    results = check_cookie_policies(
        target, [browser_policy], expect_key=expected, signup_url=signup, net_policy=policy,
        screenshot_dir=None if no_screenshot else screenshot_dir, har=har, browser_path=browser_path,
        settle_ms=settle_ms,
    )
    missing = next((r.problem("browser-unavailable") for r in results if r.has("browser-unavailable")), None)
    if missing is not None:
        raise CannotComplete(missing.message)
    if len(results) == 1:
        emit(results[0], as_json)
    elif as_json:
        emit(CookieRun(tuple(results)), True)
    else:
        for r in results:
            emit(r, False)
    return result_exit(*results)


class StageBar:
    """A progress bar over the stages of a long job, redrawn in place on stderr (a terminal):
    ``advance`` once per stage (from any thread), ``finish`` at the end. Hand-made: click's
    progressbar draws nothing when stderr is not a terminal, ends with a new line and can count
    past its length."""

    def __init__(self, stages: int, width: int = 24):
        import threading

        self.stages, self.width, self.done, self._lock = max(1, stages), width, 0, threading.Lock()

    def advance(self, stage: str) -> None:
        with self._lock:
            self.done = min(self.done + 1, self.stages)
            filled = self.width * self.done // self.stages
            text = f"\r[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.stages} {stage[:60]}"
            click.echo(text.ljust(100), err=True, nl=False)

    def finish(self) -> None:
        with self._lock:
            click.echo("\r" + " " * 100 + "\r", err=True, nl=False)


def require_writable_dir(folder: Path, option: str) -> None:
    """Make ``folder`` if needed; BadInput when nothing can be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".diagnose-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise BadInput(f"{option}: cannot write in {folder}: {exc.strerror or exc}") from None


def validate_public_key(key: str | None) -> str | None:
    from diagnose.core.partnerstack import PUBLIC_KEY_RE

    if key is None:
        return None
    key = key.strip()
    if not PUBLIC_KEY_RE.fullmatch(key):
        raise BadInput(f"--expect-key {key!r} is not a public key (pk_ followed by 32 letters or digits)")
    return key


def ticket_options(fn):
    """Every ticket field as an option (--partner-key, --click-date, --typed-url/--no-typed-url, ...)."""
    import dataclasses

    from diagnose.core.ticket import FIELD_HELP, FIELD_TYPES, Ticket

    for f in reversed(dataclasses.fields(Ticket)):
        flag = "--" + f.name.replace("_", "-")
        kind = FIELD_TYPES[f.name]
        if kind is bool:
            fn = click.option(f"{flag}/--no-{flag[2:]}", f.name, default=None, help=FIELD_HELP[f.name])(fn)
        else:
            meta = "YYYY-MM-DD" if f.name.endswith("_date") else "TEXT"
            fn = click.option(flag, f.name, metavar=meta, default=None, help=FIELD_HELP[f.name])(fn)
    return fn


def report_options(fn):
    """--json, --html [PATH], --redact: how a ticket's report is shown."""

    @output_options
    @click.option("--html", "html_path", is_flag=False, flag_value="", default=None, metavar="[PATH]",
                  help="Also write a self-contained HTML report (default reports/<date>-<customer>.html).")
    @click.option("--redact", is_flag=True, help="Mask emails and cookie values in every output.")
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        return fn(*args, **kwargs)

    return wrapper


def show_report(report, as_json: bool, html_path: str | None, redact: bool) -> int:
    from diagnose.report import render
    from diagnose.report.model import default_html_path, exit_code, redacted

    original = report.ticket
    if redact:
        report = redacted(report)
    if html_path is not None:
        path = Path(html_path) if html_path else default_html_path(original, redacted=redact)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render("html", report), encoding="utf-8")
        click.echo(f"HTML report: {path}", err=True)
    emit(report, as_json)
    return exit_code(report)


@cli.command()
@click.argument("ticket_file", required=False, type=click.Path(dir_okay=False))
@ticket_options
@click.option("--save-evidence", type=click.Path(dir_okay=False), help="Write the gathered evidence to this JSON file.")
@click.option("--no-browser", is_flag=True, help="Skip the real-browser checks (their findings become cannot-tell).")
@click.option("--browser-path", help="The Chromium to use (else DIAGNOSE_BROWSER, Playwright's, the system's).")
@click.option("--screenshot-dir", default="reports", show_default=True, type=click.Path(file_okay=False),
              help="Where the landing page's screenshot goes.")
@net_options
@report_options
def ticket(ticket_file: str | None, save_evidence: str | None, no_browser: bool, browser_path: str | None,
           screenshot_dir: str, policy, as_json: bool, html_path: str | None, redact: bool, **facts: Any) -> int:
    """Diagnose a partner's missed-referral ticket: run the checks its facts allow, then the rules.

    TICKET_FILE is YAML or JSON with any of the keys below (all optional; dashboard and internal
    are paths relative to the ticket). Options override the file.
    """
    from diagnose.core import ticket as tickets
    from diagnose.pipeline.evidence_io import save_evidence as save
    from diagnose.pipeline.gather import GatherOptions
    from diagnose.pipeline.run import run_ticket
    from diagnose.report.model import build_report, redacted

    base = tickets.load(ticket_file) if ticket_file else tickets.Ticket()
    t = tickets.with_overrides(base, facts)
    if not no_browser and t.link:
        require_writable_dir(Path(screenshot_dir), "--screenshot-dir")
    options = GatherOptions(policy=policy, use_browser=not no_browser, browser_path=browser_path,
                            screenshot_dir=screenshot_dir)
    report = build_report(t, run_ticket(t, options))
    if save_evidence:  # --redact covers the saved evidence too
        kept = redacted(report) if redact else report
        save(save_evidence, kept.ticket, kept.evidence)
    return show_report(report, as_json, html_path, redact)


@cli.command()
@click.argument("evidence_file", type=click.Path(dir_okay=False))
@report_options
def explain(evidence_file: str, as_json: bool, html_path: str | None, redact: bool) -> int:
    """Re-run the rules on evidence saved by `diagnose ticket --save-evidence`, offline.

    No network and no browser: the report is rebuilt from the file alone.
    """
    from diagnose.pipeline.evidence_io import load_evidence
    from diagnose.report.model import build_report

    t, evidence = load_evidence(evidence_file)
    return show_report(build_report(t, evidence), as_json, html_path, redact)


@cli.command()
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


def main() -> None:
    cli.main(prog_name="diagnose")


if __name__ == "__main__":  # pragma: no cover
    main()
