"""``diagnose sweep LINKS``: every partner link of a list checked, grouped by cause, diffed with the
last sweep. A thin command: the work is pipeline/sweep*.py, the outputs report/sweep*.py."""

from __future__ import annotations

import contextlib
import os
import sys

import click

from diagnose.cli.options import net_options, output_options
from diagnose.core.errors import BadInput, ExitCode
from diagnose.pipeline.sweep_defaults import (
    AUTO_PROCESSES_FROM,
    DEFAULT_BROWSER_JOBS,
    DEFAULT_JOBS,
    DEFAULT_PER_HOST,
    MAX_AUTO_PROCESSES,
)


class SweepBar:
    """done/total, broken so far, ETA: rich's progress bar on stderr, only on a terminal, transient."""

    def __init__(self, total: int, draw: bool):
        from rich.console import Console

        console = Console(stderr=True)
        self.progress = None
        if draw and console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(BarColumn(bar_width=24), MofNCompleteColumn(),
                                     TextColumn("{task.fields[broken]} broken"), TextColumn("ETA"),
                                     TimeRemainingColumn(), console=console, transient=True, refresh_per_second=4,
                                     redirect_stdout=False, redirect_stderr=False)
            self.task = self.progress.add_task("sweep", total=max(total, 1), broken=0)
            self.progress.start()

    def update(self, done: int, broken: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=done, broken=broken)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class _CtrlCBetweenRecords:
    """Ctrl-C while a record is being written takes effect once it is written everywhere (the
    summary, the CSV, the JSON), so that every output holds the same links. The SIGINT handler is put
    in place for the sweep (main thread only) and the previous one restored at the end."""

    def __init__(self) -> None:
        self.inside = self.pending = False

    def _handler(self, signum, frame) -> None:
        if self.inside:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self):
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

    @contextlib.contextmanager
    def record(self):
        self.inside = True
        try:
            yield
        finally:
            self.inside = False
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


def _stdout_is_a_file() -> bool:
    import stat

    try:
        return stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


@click.command()
@click.argument("links", metavar="LINKS")
@click.option("--expect-key", metavar="pk_…", help="The program's public key: a snippet with another is "
                                                    "public-key-mismatch (a row's expected_public_key column wins).")
@click.option("--browser", "use_browser", is_flag=True,
              help="Also open each link that lands with a partner key in Chromium: is the partner cookie set?")
@click.option("--browser-path", type=click.Path(dir_okay=False), help="The Chromium to use (also DIAGNOSE_BROWSER).")
@click.option("--jobs", type=click.IntRange(1, 256), default=DEFAULT_JOBS, show_default=True,
              help="Links checked at once.")
@click.option("--per-host", type=click.IntRange(1, 64), default=DEFAULT_PER_HOST, show_default=True,
              help="Requests at once to any one host name (politeness), whichever links lead there.")
@click.option("--processes", type=click.IntRange(0, 64), default=0, show_default="0: automatic",
              help="Worker processes (the checks' parsing on every core): 0 picks one per core up to 4, or 1 for "
                   "a short list or with --browser.")
@click.option("--browser-jobs", type=click.IntRange(1, 16), default=DEFAULT_BROWSER_JOBS, show_default=True,
              help="Browser pages open at once (with --browser).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write one row per link (written as links finish).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write a self-contained HTML report: summary, causes, every link with a problem.")
@click.option("--save", "save_path", type=click.Path(dir_okay=False), metavar="FILE.json",
              help="Write the JSON (the --baseline format) to FILE as well; may be the --baseline file itself.")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False), metavar="PREVIOUS.json",
              help="A previous sweep's JSON: report only what changed (new, changed and fixed breakages); exit 1 "
                   "only when something is newly broken, or broken on a link that a stopped baseline never reached.")
@net_options
@output_options
def sweep(links: str, expect_key: str | None, use_browser: bool, browser_path: str | None, jobs: int, per_host: int,
          processes: int, browser_jobs: int, csv_path: str | None, html_path: str | None, save_path: str | None,
          baseline_path: str | None, policy, as_json: bool) -> ExitCode:
    """Check every partner link (or landing page) of LINKS: where it lands, the snippet and public
    key there, the row's partner key, and with --browser the partner cookie.

    LINKS is a CSV with a column named link or url (optional partner_key and expected_public_key
    columns; other columns are kept as labels), a text file with one URL per line (# comments), or
    - for standard input. Broken links are grouped by cause (one landing page without a snippet is
    named once, with its number of links). Exit codes: 0 nothing broken (with --baseline: nothing
    new broken), 1 a link broken or a bad row (with --baseline: a new breakage), 2 bad input, 3 could
    not complete (no browser with --browser; no link's host answered), 130 interrupted (the results
    so far are written to the files asked for, except a --save that would replace the --baseline).
    """
    from diagnose.core.errors import DiagnoseError
    from diagnose.core.files import distinct_outputs, writable_file
    from diagnose.core.partnerstack import parse_public_key
    from diagnose.pipeline.sweep import SweepOptions, browser_for, run_sweep
    from diagnose.pipeline.sweep_baseline import Baseline
    from diagnose.pipeline.sweep_input import LinkSource
    from diagnose.report.sweep import SweepSummary, plural
    from diagnose.report.sweep_out import CsvOut, HtmlOut, JsonOut, SweepOutputs
    from diagnose.report.sweep_text import render_terminal

    expected = parse_public_key(expect_key, "--expect-key")
    outputs = {"--csv": csv_path, "--html": html_path}
    for option, path in (*outputs.items(), ("--save", save_path)):
        if path:
            writable_file(path, option)
    distinct_outputs(outputs, [links if links != "-" else None, baseline_path, save_path])
    distinct_outputs({"--save": save_path}, [links if links != "-" else None])  # it may replace the baseline
    baseline = None
    if baseline_path and not os.path.lexists(baseline_path):  # the first night of a cron job
        click.echo(f"Note: no --baseline {baseline_path} yet: this sweep is the first; every breakage is reported",
                   err=True)
    elif baseline_path:
        baseline = Baseline.load(baseline_path)
    source = LinkSource(links)
    with contextlib.ExitStack() as stack:
        stack.callback(source.close)
        total = source.count()
        if total == 0:
            raise BadInput(f"LINKS {'(standard input)' if links == '-' else links} holds no links")
        session = stack.enter_context(browser_for(use_browser, browser_path))
        options = {"expect_key": expected, "browser": use_browser, "jobs": jobs, "per_host": per_host,
                   "timeout": policy.timeout, "max_redirects": policy.max_redirects, "max_bytes": policy.max_bytes,
                   "allow_private_network": policy.allow_private, "columns": source.columns, "mode": source.mode}
        summary = SweepSummary(links, total, baseline, options)
        writers = []
        try:
            if csv_path:
                writers.append(CsvOut(csv_path, source.label_columns))
            if as_json:
                writers.append(JsonOut(summary, stream=sys.stdout))
            saver = JsonOut(summary, path=save_path) if save_path else None
            if saver is not None:
                writers.append(saver)
            if html_path:
                writers.append(HtmlOut(html_path, summary))
        except BaseException:
            for w in writers:
                w.discard()
            raise
        out = SweepOutputs(summary, writers)
        bar = SweepBar(total, draw=not as_json or _stdout_is_a_file())

        ctrl_c = stack.enter_context(_CtrlCBetweenRecords().installed())

        def on_record(record) -> None:
            with ctrl_c.record():  # a record is in the summary and in every file, or in none
                out.add(record)
                bar.update(summary.counts["rows"], summary.broken_links)

        if not processes:
            processes = 1 if use_browser or total < AUTO_PROCESSES_FROM else min(os.cpu_count() or 1, MAX_AUTO_PROCESSES)
        complete, failure = False, None
        try:
            run_sweep(source.rows(expected), SweepOptions(policy, jobs, per_host, browser_jobs, session, processes),
                      on_record)
            complete = True
        except KeyboardInterrupt:
            pass
        except DiagnoseError as exc:  # a worker process died: what finished is kept, then the error
            failure = exc
        finally:
            bar.finish()
            kept = _keeps_the_baseline(baseline, baseline_path, save_path, complete and failure is None, summary)
            if kept:
                out.writers.remove(saver)
                saver.discard()
            listed = None
            if baseline is not None and not complete:  # tonight's whole list: removed links are not "unreached"
                with contextlib.suppress(OSError, BadInput, UnicodeError):
                    listed = source.ids(expected)
            files = [f"the CSV ({csv_path})" if csv_path else "", "the JSON on standard output" if as_json else "",
                     f"the JSON ({save_path})" if save_path and not kept else ""]
            notes = [f"--save {baseline_path} was not replaced (the baseline is kept)."] if kept else []
            out.close(complete, listed, [f for f in files if f], notes)
    if kept:
        save_path = None
        click.echo(f"Note: --save {baseline_path} was not replaced: this sweep "
                   f"{'reached no host' if complete else 'did not finish'}, and the next one compares with the "
                   "last whole sweep", err=True)
    files = {"CSV": csv_path, "HTML": html_path, "JSON": save_path}
    if not as_json:
        click.echo(render_terminal(summary, {k: v for k, v in files.items() if v}))
    if failure is not None:
        raise failure
    if not complete:
        written = [p for p in (csv_path, html_path, save_path) if p] + (["standard output"] if as_json else [])
        where = (f"the results so far are written to {', '.join(written)} (\"complete\": false)" if written else
                 "the results so far are only in the summary above" + (f" (--save {baseline_path} was kept as the "
                                                                  "baseline)" if kept else ""))
        click.echo(f"Error: interrupted after {summary.counts['rows']} of {plural(total, 'row')}; {where}", err=True)
        return ExitCode.INTERRUPTED
    if summary.nothing_reached:
        return ExitCode.INCOMPLETE
    if baseline is not None:
        return ExitCode.PROBLEM if summary.alerts else ExitCode.OK  # new, or not compared
    return ExitCode.PROBLEM if summary.broken_links else ExitCode.OK


def _keeps_the_baseline(baseline, baseline_path: str | None, save_path: str | None, finished: bool, summary) -> bool:
    """Whether ``--save`` leaves the baseline it would replace as it is: a sweep that was stopped, whose
    worker died or that reached no host at all (the machine's network was down) is no baseline; saved
    over the last one, the next sweep would call every breakage it did not check again "new"."""
    if baseline is None or not save_path or not baseline_path:
        return False
    try:
        same = os.path.samefile(save_path, baseline_path)
    except OSError:
        same = os.path.abspath(save_path) == os.path.abspath(baseline_path)
    return same and (not finished or summary.nothing_reached)
