"""The command line: thin click commands that parse, call the core, render and exit.

Heavy libraries (requests, bs4, tabulate, jinja2, playwright) are imported inside the commands,
never here, so that ``diagnose --help`` starts fast.
"""

from __future__ import annotations

import os
import sys

import click

from diagnose import __version__
from diagnose.core.errors import BadInput, DiagnoseError
from diagnose.core.errors import ExitCode
from diagnose.cli.options import api_options, emit, output_options, result_exit


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
            message = _one_line(exc.format_message())
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            click.echo(f"Error: {message}{hint}", err=True)
            sys.exit(exc.exit_code)
        except DiagnoseError as exc:
            click.echo(f"Error: {_one_line(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:  # e.g. a broken pipe or a full disk while writing output
            click.echo(f"Error: {exc.strerror or exc}", err=True)
            sys.exit(ExitCode.INCOMPLETE)
        except Exception as exc:  # a bug: still one line, unless asked for the traceback
            if os.environ.get("DIAGNOSE_DEBUG"):
                raise
            click.echo(f"Error: internal error ({type(exc).__name__}: {_one_line(str(exc), 300)}); "
                       "set DIAGNOSE_DEBUG=1 for the traceback", err=True)
            sys.exit(ExitCode.INCOMPLETE)
        sys.exit(int(rv) if isinstance(rv, int) else ExitCode.OK)


def _one_line(message: str, limit: int = 2000) -> str:
    """An error message on one line, bounded, and printable whatever it quotes (lone surrogates)."""
    from diagnose.core.reading import clean_text

    text = clean_text(" ".join(message.split()))
    return text if len(text) <= limit else text[:limit] + "..."


@click.group(cls=DiagnoseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="diagnose")
def cli() -> None:
    """Find out why a partner's PartnerStack referral was not tracked.

    Each command is one step of the company-side troubleshooting guide. Exit codes: 0 no problem,
    1 a problem found, 2 bad input, 3 could not complete.
    """


@cli.command()
@click.option("--dashboard", "dashboard_file", required=True, type=click.Path(dir_okay=False),
              help="The PartnerStack dashboard's customer export (CSV, JSON Lines or Excel), or 'partnerstack' "
                   "to read the customers created from --since to --until (default: the last 90 days) from the API.")
@click.option("--internal", "internal_file", required=True, type=click.Path(dir_okay=False),
              help="Your own customer records (CSV, JSON Lines or Excel).")
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
@api_options
@output_options
def reconcile(dashboard_file: str, internal_file: str, partner: str | None, customer: str | None,
              maps: tuple[str, ...], match_on: str, since, until, window_days: int, no_case_or_space: bool,
              no_plus_tag: bool, no_gmail_dots: bool, strict_email: bool, missed_out: str | None, api,
              as_json: bool) -> ExitCode:
    """Compare the dashboard's customers with your internal records.

    Buckets: matched, other_partner, pending, missing_from_dashboard (missed referrals),
    dashboard_only, rejected (unreadable rows, with file and line), excluded (--since/--until).
    Pairs match by customer_key, else by e-mail with a reason (exact, case-or-space, plus-tag,
    gmail-dots); the same e-mail pairs rows whose customer_keys differ, with a key_conflict note.
    The output names the column taken for each role on each side (column_roles).
    """
    import contextlib
    import datetime as dt
    from dataclasses import replace
    from types import SimpleNamespace

    import json

    from diagnose.checks.reconcile import ReconcileOptions, reconcile_files, stages
    from diagnose.core.errors import CannotComplete
    from diagnose.core.reading import clean_text
    from diagnose.core.ticket import API_DASHBOARD

    mapping: dict[str, str] = {}
    for item in maps:
        key, eq, header = item.partition("=")
        if not eq:
            raise BadInput(f"--map {item!r}: expected SIDE.FIELD=HEADER, e.g. dashboard.email=\"E-mail address\"")
        mapping[key.strip()] = header.strip().strip('"')
    stdout = SimpleNamespace(write=lambda text: click.echo(text, nl=False))
    options = ReconcileOptions(
        partner=partner, customer=customer, mapping=mapping, match_on=match_on,
        since=since.date() if since else None, until=until.date() if until else None,
        window_days=window_days, loose=not strict_email, case_or_space=not no_case_or_space,
        plus_tag=not no_plus_tag, gmail_dots=not no_gmail_dots, rows=False, missed_out=missed_out,
    )
    with contextlib.ExitStack() as stack:
        if dashboard_file.strip().lower() == API_DASHBOARD:  # the window's customers, from the API into an export
            from diagnose.checks.reconcile.api_source import API_WINDOW_DAYS, label, window_export

            last = options.until or dt.date.today()
            first = options.since or last - dt.timedelta(days=API_WINDOW_DAYS)
            options = replace(options, since=first, until=last)
            client = stack.enter_context(api())
            options = replace(options, dashboard_label=label(client))
            try:
                dashboard_file = str(stack.enter_context(window_export(client, first, last, api.concurrency)))
            except CannotComplete as exc:  # --json still prints: one result with status error
                if as_json:
                    click.echo(json.dumps({"check": "reconcile", "status": "error", "dashboard_file": label(client),
                                           "problems": [{"code": "api-error", "severity": "error",
                                                         "message": clean_text(str(exc))}]}, indent=2))
                raise
        # the bar never shares the screen with the JSON: with --json, drawn only when it goes into a file
        with StageBar(len(stages(missed_out=bool(missed_out), json_out=as_json)),
                      draw=not as_json or StageBar.stdout_is_a_file()) as bar:
            result = reconcile_files(dashboard_file, internal_file, options, progress=bar.advance,
                                     json_out=stdout if as_json else None)  # --json: every row, streamed
    if not as_json:
        emit(result, as_json)
    return result_exit(result)


class StageBar:
    """A progress bar over the stages of a long job on stderr (rich's Progress): drawn in place and
    only on a terminal (and when ``draw``), gone when done (transient). ``advance`` once per stage,
    from any thread (it never counts past the last stage); ``finish``, or the end of a ``with``
    block, takes it away. Standard output is left alone (no redirection through the bar)."""

    def __init__(self, stages: int, console=None, draw: bool = True):
        import threading

        from rich.console import Console

        self.stages, self.done, self._lock = max(1, stages), 0, threading.Lock()
        self.console = console or Console(stderr=True)
        self.draw = draw and self.console.is_terminal
        self._progress = None  # started at the first stage

    def advance(self, stage: str) -> None:
        with self._lock:
            self.done = min(self.done + 1, self.stages)
            if not self.draw:
                return
            if self._progress is None:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

                self._progress = Progress(BarColumn(bar_width=24), MofNCompleteColumn(), TimeElapsedColumn(),
                                          TextColumn("{task.description}", markup=False), console=self.console,
                                          transient=True, refresh_per_second=4, redirect_stdout=False,
                                          redirect_stderr=False)
                self._task = self._progress.add_task(stage[:60], total=self.stages, completed=self.done)
                self._progress.start()
            else:
                self._progress.update(self._task, completed=self.done, description=stage[:60], refresh=True)

    def finish(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None

    @staticmethod
    def stdout_is_a_file() -> bool:
        """Standard output goes into a regular file (not a terminal, nor a pipe whose reader may show it)."""
        import stat

        try:
            return stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode)
        except (OSError, ValueError, AttributeError):
            return False

    def __enter__(self) -> "StageBar":
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


def _register() -> None:
    from diagnose.cli import api, checks, reply, sweep, tickets
    from diagnose.cli.batch import batch

    for command in (checks.link, checks.gspk, checks.snippet, checks.cookie, tickets.ticket, tickets.explain,
                    tickets.demo, batch, sweep.sweep, reply.reply, api.partner, api.fix):
        cli.add_command(command)


_register()


def main() -> None:
    """The console script (and ``python -m diagnose``): the command, then a quick exit."""
    if sys.argv[1:2] == ["ticket"]:
        _collect_less()
        _switch_sooner()
    try:
        cli.main(prog_name="diagnose")
    except SystemExit as exc:
        _exit(exc.code)
    _exit(0)


def _collect_less() -> None:
    """One ticket in its own process: Python's cyclic garbage collector looks at the young objects
    every 10,000 new ones instead of every 700, and at the older ones rarely. A ticket makes a few
    hundred thousand objects (the imports of its checks, Playwright's messages) that live to its end or
    die young: the collector then costs ~35 ms of CPU instead of ~75 (on 2 cores shared with Chromium,
    CPU is what a ticket waits for); the process ends with the ticket, and memory stays bounded (every
    young object is still looked at). Not for batch or sweep, which run long in one process."""
    import gc

    gc.set_threshold(10_000, 20, 20)


def _switch_sooner() -> None:
    """One ticket in its own process: a thread waiting for the interpreter gets it within 0.5 ms
    instead of 5. The ticket's browser starts on a thread of its own, one message from Playwright's
    driver after the other, while the checks that need no browser run on the main thread; each message
    waited up to the full interval for the main thread to let go, and the browser was ready ~60 ms
    later in a run of ~1.1 s (benchmarks/ticket.py). The process's CPU time does not grow: the
    threads mostly wait on pipes and sockets."""
    sys.setswitchinterval(0.0005)


def _exit(code: object) -> None:
    """End the process as ``sys.exit(code)`` would, without tearing the interpreter down object by
    object (0.1-0.3 s with polars and Playwright loaded, a tenth to a fifth of a one-ticket run).

    What Python's own exit does first is done here, in its order: the threads' exit hooks (thread pools
    told to stop), every non-daemon thread joined (a browser still closing), the atexit handlers run,
    stdout and stderr flushed. Output that cannot be flushed (a full disk, a closed pipe) makes a
    0 or 1 exit 3 (could not complete) with one line on stderr, where plain Python would exit 120.
    Files the commands write are closed by them (core/files.write_atomic), never left to the GC."""
    import atexit
    import threading

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message")
        _say(str(code))
        status = 1
    try:
        for hook in reversed(getattr(threading, "_threading_atexits", [])):  # e.g. idle thread pools stop
            hook()
        others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
        for thread in others:
            thread.join()
    except KeyboardInterrupt:  # Ctrl-C while a browser closes: a few more seconds for it, no more
        status = ExitCode.INTERRUPTED
        try:
            for thread in threading.enumerate():
                if thread is not threading.current_thread() and not thread.daemon:
                    thread.join(5)
        except KeyboardInterrupt:
            pass
    atexit._run_exitfuncs()
    lost = _flush(sys.stdout)
    if lost is not None and status in (ExitCode.OK, ExitCode.PROBLEM):
        _say(f"Error: the output could not be written ({lost})")
        status = ExitCode.INCOMPLETE
    _flush(sys.stderr)
    os._exit(status)


def _flush(stream) -> str | None:
    """Flush ``stream``; why it failed, or None."""
    try:
        if stream is not None:
            stream.flush()
    except (OSError, ValueError) as exc:  # a full disk, a closed pipe, a closed file
        return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return None


def _say(line: str) -> None:
    """One line on stderr, if stderr can still be written."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    main()
