"""Options shared by the commands (like sqlite-utils' decorators), and how a command prints and exits."""

from __future__ import annotations

import functools
from typing import Any

import click

from diagnose.core.errors import ExitCode
from diagnose.core.partnerstack import API_DEFAULT_CONCURRENCY


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
        from diagnose.web.policy import NetPolicy, env_allows_private  # not fetch: HTTP comes later

        kwargs["policy"] = NetPolicy(
            timeout=timeout,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
            allow_private=allow_private_network or env_allows_private(),
        )
        return fn(*args, **kwargs)

    return wrapper


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
    @click.option("--redact", is_flag=True, help="For a report that leaves the company: mask e-mails, cookie values, the customer's name and "
                       "payment id and secret API keys wherever they appear, name no other partner, drop other "
                       "customers' rows and the screenshot.")
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        return fn(*args, **kwargs)

    return wrapper


def emit(model: Any, as_json: bool, **options: Any) -> None:
    from diagnose.report import render

    click.echo(render("json" if as_json else "terminal", model, **options))


def result_exit(*results: Any) -> ExitCode:
    from diagnose.core.errors import for_statuses

    return for_statuses(r.status for r in results)


def api_options(fn):
    """--config, --api-base, --api-concurrency: how to reach the PartnerStack API. The command gets
    ``api``: a function that makes the client when called (so a command reads the keys only when it
    needs them, and a bad config is exit 2 before any work)."""

    @click.option("--config", "api_config", type=click.Path(dir_okay=False), default=None,
                  help="TOML file with the API keys; when given it wins. Else PARTNERSTACK_PUBLIC_KEY / "
                       "PARTNERSTACK_SECRET_KEY, else partnerstack.toml in the user's config directory.")
    @click.option("--api-base", default=None, metavar="URL",
                  help="The API's base URL (default https://api.partnerstack.com/api/v2/).")
    @click.option("--api-concurrency", type=click.IntRange(1, 32), default=API_DEFAULT_CONCURRENCY, show_default=True,
                  help="Requests in flight at once when paging a date window (backs off on 429).")
    @functools.wraps(fn)
    def wrapper(*args: Any, api_config: str | None, api_base: str | None, api_concurrency: int, **kwargs: Any):
        if api_base is not None and not api_base.strip():  # an unset shell variable must not mean production
            from diagnose.core.errors import BadInput

            raise BadInput("--api-base is empty: give the API's URL, or leave the option out for PartnerStack's")

        def make_client():
            from diagnose.web.partnerstack_api import DEFAULT_BASE, PartnerStackClient, load_credentials

            return PartnerStackClient(load_credentials(api_config), base_url=api_base or DEFAULT_BASE)

        make_client.concurrency = api_concurrency  # type: ignore[attr-defined]
        kwargs["api"] = make_client
        return fn(*args, **kwargs)

    return wrapper
