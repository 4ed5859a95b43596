"""The single-check commands: link, gspk, snippet, cookie (one step of the guide each)."""

from __future__ import annotations

from pathlib import Path

import click

from diagnose.cli.options import emit, net_options, output_options, result_exit
from diagnose.core.errors import BadInput, ExitCode


@click.command()
@click.argument("url")
@net_options
@output_options
def link(url: str, policy, as_json: bool) -> ExitCode:
    """Follow a referral link hop by hop and check the partner parameters it lands with.

    URL is the partner's link (e.g. https://acme.partnerlinks.io/jane). Every redirect (HTTP,
    Refresh header, meta refresh, JavaScript location) is recorded; gspk / ps_partner_key is
    decoded; a hop that drops the parameters is named.
    """
    from diagnose.core import urls as net
    from diagnose.checks.link import check_link

    result = check_link(net.normalise_url(url), policy)
    emit(result, as_json)
    return result_exit(result)


@click.command()
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


@click.command()
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
    from diagnose.core.partnerstack import parse_public_key
    from diagnose.core import urls as net
    from diagnose.checks.snippet import check_snippet_file, check_snippet_url

    expected = parse_public_key(expect_key, "--expect-key")
    if bool(url) == bool(page_file):
        raise BadInput("give either a URL or --file PAGE.html (exactly one)")
    if page_file:
        result = check_snippet_file(page_file, expected)
    else:
        result = check_snippet_url(net.normalise_url(url), policy, expected)
    emit(result, as_json)
    return result_exit(result)


@click.command()
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
    from diagnose.core.files import writable_dir
    from diagnose.core.partnerstack import parse_public_key
    from diagnose.core import urls as net
    from diagnose.checks.cookie import CookieRun, check_cookie_policies
    from diagnose.core.errors import CannotComplete

    expected = parse_public_key(expect_key, "--expect-key")
    target = net.normalise_url(url)
    signup = net.normalise_url(signup_url) if signup_url else None
    if har:
        writable_dir(Path(har).parent, "--har")
    if not no_screenshot:
        writable_dir(screenshot_dir, "--screenshot-dir")
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
