"""`diagnose batch`: a whole queue of tickets in one run (pipeline/batch.py runs them, report/batch.py
writes the results)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from diagnose.cli.options import api_options, emit, net_options, output_options


@click.command()
@click.argument("tickets", nargs=-1, metavar="TICKET...")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Where the results go (default reports/batch-<date>): results.jsonl, summary.csv, index.html, "
                   "tickets/ (each ticket's report and evidence), screenshots/.")
@click.option("--resume", is_flag=True, help="Continue the batch in --out: skip the tickets it already has a result "
                                             "for (a ticket recorded as failed, or changed since, runs again).")
@click.option("--jobs", type=click.IntRange(1, 32), default=None,
              help="Browser pages at once (default min(4, 2 x CPUs)); HTTP checks run for twice as many tickets.")
@click.option("--per-host", type=click.IntRange(1, 64), default=4, show_default=True,
              help="At most this many tickets at once whose link is on one host.")
@click.option("--no-browser", is_flag=True, help="Skip the real-browser checks (their findings become cannot-tell).")
@click.option("--browser-path", help="The Chromium to use (else DIAGNOSE_BROWSER, Playwright's, the system's).")
@click.option("--dashboard", metavar="FILE", help="The dashboard export for every ticket that names none.")
@click.option("--internal", metavar="FILE", help="Your own records for every ticket that names none.")
@click.option("--expected-public-key", metavar="pk_...", help="Your program's public key, for every ticket that gives none.")
@click.option("--redact", is_flag=True, help="Redact every report and the summary, as `diagnose ticket --redact` does.")
@click.option("--api", "use_api", is_flag=True, help="Also ask the PartnerStack API (as `diagnose ticket --api`).")
@api_options
@net_options
@output_options
def batch(tickets: tuple[str, ...], out_dir: str | None, resume: bool, jobs: int | None, per_host: int,
          no_browser: bool, browser_path: str | None, dashboard: str | None, internal: str | None,
          expected_public_key: str | None, redact: bool, use_api: bool, api: Any, policy: Any,
          as_json: bool) -> int:
    """Diagnose many tickets in one run, with one shared browser.

    TICKET... are ticket files (YAML or JSON), folders (their *.yaml, *.yml, *.json), globs, or one
    CSV / JSON Lines table with a ticket per row (columns: the ticket keys, and `ticket` to name the
    row; export paths relative to the table). A ticket that cannot be run is recorded as failed and
    the batch goes on; Ctrl-C keeps every finished result (--resume continues).

    Exit codes: 0 every ticket checked and nothing found; 1 a problem found in some ticket; 3 some
    ticket could not be run or checked completely (see its status and error); 2 bad input, before
    any ticket ran; 130 interrupted (the finished results are kept).
    """
    from diagnose.core import ticket as tickets_mod
    from diagnose.pipeline.batch import BatchOptions, default_jobs, run_batch
    from diagnose.pipeline.batch_input import plan
    from diagnose.pipeline.gather import GatherOptions
    from diagnose.report.batch import (
        BatchFiles,
        BatchSummary,
        finish_ticket,
        render_text,
    )

    files = BatchFiles(out_dir or f"reports/batch-{dt.date.today().isoformat()}", resume)
    todo = plan(tickets, files.done() if resume else set())
    files.check(todo.inputs)
    defaults = {k: v for k, v in (("dashboard", dashboard), ("internal", internal),
                                  ("expected_public_key", expected_public_key)) if v}
    tickets_mod.with_overrides(tickets_mod.Ticket(), defaults)  # a bad default is exit 2 now
    client = api() if use_api else None  # a bad config is exit 2 now
    jobs = jobs or default_jobs()
    options = BatchOptions(
        GatherOptions(policy=policy, use_browser=not no_browser, browser_path=browser_path,
                      screenshot_dir=files.screenshots, api=client, api_concurrency=api.concurrency),
        jobs=jobs, per_host=per_host, defaults=defaults)
    bar = BatchBar(todo.to_run)
    interrupted, ran = False, 0
    run = None

    def record(row: Any) -> None:
        nonlocal ran
        files.add(row)
        ran += 1
        bar.advance(row.ticket, row.status == "failed")

    files.open()
    try:
        run = run_batch(todo.items(), options, lambda g: finish_ticket(g, files, redact), record)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.finish()
        if client is not None:
            client.close()
        rows = files.finish(f"diagnose batch – {dt.date.today().isoformat()}")
    summary = BatchSummary.of(files.out, rows, todo.tickets, todo.skipped, ran, interrupted,
                              browser=not no_browser and (run is None or run.browser_error is None))
    if as_json:
        emit(summary, True)
    else:
        click.echo(render_text(summary))
    return summary.exit_code()


class BatchBar:
    """done/total, failures and the time left, on stderr, only on a terminal (gone when done)."""

    def __init__(self, total: int):
        from rich.console import Console

        self.console = Console(stderr=True)
        self.draw = self.console.is_terminal and total > 0
        self.failed = 0
        self._progress = None
        if self.draw:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(BarColumn(bar_width=24), MofNCompleteColumn(),
                                      TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                                      TextColumn("ETA"), TimeRemainingColumn(),
                                      TextColumn("{task.description}", markup=False), console=self.console,
                                      transient=True, refresh_per_second=4, redirect_stdout=False,
                                      redirect_stderr=False)
            self._task = self._progress.add_task("", total=total, failed=0)
            self._progress.start()

    def advance(self, name: str, failed: bool) -> None:
        self.failed += failed
        if self._progress is not None:
            self._progress.update(self._task, advance=1, failed=self.failed, description=name[:40])

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
