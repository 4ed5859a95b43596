"""``diagnose reply``: the answer to the partner, from saved evidence (offline)."""

from __future__ import annotations

import click


@click.command()
@click.argument("evidence_file", type=click.Path(dir_okay=False))
@click.option("--out", "out_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the reply to FILE instead of printing it (Markdown when FILE ends in .md).")
@click.option("--markdown", is_flag=True, help="Markdown instead of plain text.")
@click.option("--fix-log", type=click.Path(dir_okay=False), metavar="AUDIT.jsonl",
              help="The audit log of `diagnose fix --apply`: the reply says the customer was added (and the "
                   "sale recorded) when it logs that for this ticket's customer and partner.")
def reply(evidence_file: str, out_file: str | None, markdown: bool, fix_log: str | None) -> int:
    """Write the reply to the partner for evidence saved by `diagnose ticket --save-evidence`.

    A short message in the partner's terms: what we found (one paragraph per confirmed or likely
    cause), what we did or will do, what the partner can do next time; when nothing is confirmed,
    the questions to ask instead. Built from the redacted report only: no keys, no other partner,
    no other customer, no file names or cookie values. No network, no browser.
    """
    from diagnose.core.files import distinct_outputs, writable_file
    from diagnose.pipeline.evidence_io import load_evidence
    from diagnose.report.model import build_report
    from diagnose.report.reply import build_reply, is_markdown_path, render, write_reply

    target = writable_file(out_file, "--out") if out_file else None
    distinct_outputs({"--out": target}, [evidence_file, fix_log])
    ticket, evidence = load_evidence(evidence_file)
    report = build_report(ticket, evidence, embed_screenshots=False)
    if target is None:
        click.echo(render(build_reply(report, fix_log), markdown), nl=False)
    else:
        write_reply(report, target, fix_log, markdown or is_markdown_path(target))
        click.echo(f"Reply: {target}", err=True)
    return 0
