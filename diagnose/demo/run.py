"""`diagnose demo`: a local site that reproduces every failure case, and a ticket per case.

The site (standard library, 127.0.0.1) has a referral-link redirector (``/go/<slug>``, like a
``partnerlinks.io`` link), landing pages with and without a working snippet, and the stand-in
PartnerStackJS at ``/pr/js``. Each bundled ticket is diagnosed exactly as ``diagnose ticket``
would (same gather, same rules, same renderers), with one browser shared by all of them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from diagnose.core.partnerstack import encode_partner_key
from diagnose.report.model import DemoRow, DemoSummary
from diagnose.demo.api_seed import BOB, JANE
from diagnose.demo.site import LocalSite, Page, Request, partnerstack_snippet, redirect, static_text

HERE = Path(__file__).parent
DATA = HERE / "data"
PUBLIC_KEY = "pk_DemoAcmeProgram00000000000000001"
API_KEYS = ("pk_demo_acme_api", "sk_demo_acme_api_secret")  # the stand-in API's (not real keys)


def _snippet(key_arg: str) -> str:
    return partnerstack_snippet(key_arg)


def _page(title: str, head: str = "", body: str = "") -> Page:
    return Page(f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script>window.dataLayer = window.dataLayer || [];</script>
{head}
<style>body{{font-family:sans-serif;margin:40px;background:#f4f6fb}} .hero{{background:#223;color:#fff;padding:40px;border-radius:12px}}</style>
</head><body><div class="hero"><h1>{title}</h1><p>Ship invoices in seconds. Start your free trial.</p>
<a href="/signup" style="color:#9cf">Sign up</a></div>{body}</body></html>""")


OVERWRITE = """<script>
  // "Identify" the visitor for analytics: replaces growsumo.data and loses the partner key.
  function growsumoInit() { growsumo.data = { name: '', email: '', customer_key: '' }; }
</script>"""


def site_routes() -> dict[str, Any]:
    routes: dict[str, Any] = {
        "/pr/js": Page(static_text("partnerstack.js"), content_type="application/javascript"),
        "/": _page("Acme Invoicing", _snippet(f"'{PUBLIC_KEY}'")),
        "/no-snippet": _page("Acme Invoicing – spring offer"),
        "/empty-key": _page("Acme Invoicing", _snippet("''")),
        "/templated-key": _page("Acme Invoicing", _snippet("'${PARTNER_STACK_PUBLIC_KEY}'")),
        "/overwrite": _page("Acme Invoicing", _snippet(f"'{PUBLIC_KEY}'") + OVERWRITE),
        "/canonical": redirect("/", 301),  # a canonical-URL redirect that drops the query string
        "/loop-a": redirect("/loop-b"),
        "/loop-b": redirect("/loop-a"),
        "/signup": _page("Sign up to Acme", _snippet(f"'{PUBLIC_KEY}'")),
    }
    links = {
        "jane": (JANE, "/"),
        "jane-nosnippet": (JANE, "/no-snippet"),
        "jane-emptykey": (JANE, "/empty-key"),
        "jane-template": (JANE, "/templated-key"),
        "jane-overwrite": (JANE, "/overwrite"),
        "jane-canonical": (JANE, "/canonical"),
        "jane-loop": (JANE, "/loop-a"),
        "bob": (BOB, "/"),
    }
    for slug, (partner, destination) in links.items():
        routes[f"/go/{slug}"] = _redirector(partner, destination)
    return routes


def _redirector(partner: str, destination: str) -> Callable[[Request], Page]:
    encoded = encode_partner_key(partner)

    def route(request: Request) -> Page:
        xid = "dEm0" + hashlib.sha1(f"{partner}{destination}".encode()).hexdigest()[:10]
        query = (f"pscd={request.host}&ps_partner_key={encoded}&ps_xid={xid}"
                 f"&gsxid={xid}&gspk={encoded}")
        return redirect(f"{destination}?{query}", 302)

    return route


@dataclass(frozen=True)
class Scenario:
    name: str
    expect: str
    ticket: dict[str, Any]
    api: bool = False  # answered with the stand-in PartnerStack API (the partner, the dashboard)
    fix: dict[str, Any] | None = None  # then `diagnose fix`: a dry run, --apply, and --apply again


def load_scenarios() -> list[Scenario]:
    import yaml

    data = yaml.safe_load((HERE / "scenarios.yaml").read_text(encoding="utf-8"))
    defaults = data.get("defaults", {})
    return [Scenario(s["name"], s["expect"], {**defaults, **s["ticket"]}, bool(s.get("api")), s.get("fix"))
            for s in data["scenarios"]]


def run_demo(out_dir: str | Path = "reports/demo", *, browser_path: str | None = None,
             only: list[str] | None = None, on_row: Callable[[DemoRow], None] | None = None) -> DemoSummary:
    import time

    from diagnose.web.browser import BrowserSession, BrowserUnavailable
    from diagnose.pipeline.run import run_ticket
    from diagnose.report.model import build_report
    from diagnose.pipeline.gather import GatherOptions
    from diagnose.web.fetch import NetPolicy
    from diagnose.report import html, render
    from diagnose.report.reply import write_reply
    from diagnose.core.ticket import from_mapping

    out = Path(out_dir)
    (out / "tickets").mkdir(parents=True, exist_ok=True)
    scenarios = [s for s in load_scenarios() if not only or s.name in only]
    rows: list[DemoRow] = []
    session = BrowserSession(browser_path)
    try:
        session.start()
        browser = session.executable
    except BrowserUnavailable:
        browser = None
    try:
        with LocalSite(site_routes()) as site, demo_api() as client:
            options = GatherOptions(policy=NetPolicy(timeout=5, allow_private=True),
                                    use_browser=browser is not None, browser_path=browser_path,
                                    screenshot_dir=out / "screenshots")
            signup_site = f"http://localhost:{site.port}"  # another host than 127.0.0.1
            for sc in scenarios:
                started = time.monotonic()
                facts = _substitute(sc.ticket, site.origin, signup_site)
                ticket = from_mapping(facts, DATA)
                evidence = run_ticket(ticket, replace(options, api=client if sc.api else None),
                                      session if browser else None)
                report = build_report(ticket, evidence)
                path = out / f"{sc.name}.html"
                path.write_text(render("html", report), encoding="utf-8")
                _write_ticket(out / "tickets" / f"{sc.name}.yaml", facts)
                fixed = run_fix(sc, ticket, evidence, client, out) if sc.fix is not None else None
                write_reply(report, out / f"{sc.name}-reply.txt", out / "fix-audit.jsonl" if fixed else None)
                top = report.top
                row = DemoRow(sc.name, sc.expect, top.id, top.title, str(top.verdict),
                              top.id == sc.expect and str(top.verdict) in ("confirmed", "likely")
                              and (fixed is None or fixed.ok),
                              str(path), round(time.monotonic() - started, 2), top.kind,
                              fixed.summary if fixed is not None else None)
                rows.append(row)
                if on_row:
                    on_row(row)
    finally:
        session.close()  # always, even on Ctrl-C
    index = out / "index.html"
    index.write_text(html.render_index(
        [{"ticket": r.ticket, "id": r.id, "title": r.title, "verdict": r.verdict, "expected": r.expected,
          "ok": r.ok, "href": Path(r.report).name, "kind": r.kind,
          "reply": Path(r.report).stem + "-reply.txt"} for r in rows],
        f"diagnose demo – {dt.date.today().isoformat()}"), encoding="utf-8")
    return DemoSummary(tuple(rows), str(index), browser)


@contextlib.contextmanager
def demo_api() -> Any:
    """The stand-in PartnerStack API with the demo's program in it, and a client of it."""
    from diagnose.demo.api_seed import seed
    from diagnose.demo.api_standin import ApiStandIn
    from diagnose.web.partnerstack_api import Credentials, PartnerStackClient

    with ApiStandIn(API_KEYS[0], API_KEYS[1]) as api:
        seed(api)
        with PartnerStackClient(Credentials(*API_KEYS), base_url=api.url) as client:
            yield client


@dataclass(frozen=True)
class FixRun:
    summary: str
    ok: bool  # the plan was sent once, and sending it again created nothing


def run_fix(sc: Scenario, ticket: Any, evidence: dict[str, Any], client: Any, out: Path) -> FixRun:
    """`diagnose fix` on the scenario's evidence: the dry run, --apply, and --apply again."""
    from diagnose.pipeline.fix_apply import CREATED, apply_plan
    from diagnose.pipeline.fix_plan import parse_amount, plan_from_ticket
    from diagnose.report import render
    from diagnose.report.model import FixReport

    plan = plan_from_ticket(sc.name, ticket, evidence, parse_amount(sc.fix.get("amount"), sc.fix.get("currency")))
    audit = out / "fix-audit.jsonl"
    audit.unlink(missing_ok=True)
    first = tuple(apply_plan(plan, client, audit))
    again = tuple(apply_plan(plan, client, audit))
    (out / f"{sc.name}-fix.txt").write_text(
        "\n\n".join(render("terminal", r) for r in (FixReport(plan), FixReport(plan, first, str(audit)),
                                                     FixReport(plan, again, str(audit)))) + "\n", encoding="utf-8")
    created = sum(r.outcome == CREATED for r in first)
    ok = bool(plan.steps) and created == len(plan.steps) and not any(r.outcome == CREATED for r in again)
    return FixRun(f"fix: {len(plan.steps)} request(s) planned, {created} created; "
                  f"again: {sum(r.outcome == CREATED for r in again)} created", ok)


def _substitute(ticket: dict[str, Any], site: str, signup_site: str) -> dict[str, Any]:
    out = {}
    for key, value in ticket.items():
        if isinstance(value, str):
            value = value.replace("{site}", site).replace("{signup_site}", signup_site)
        if key in ("dashboard", "internal") and value != "partnerstack":
            value = str(DATA / value)
        out[key] = value
    return out


def _write_ticket(path: Path, facts: dict[str, Any]) -> None:
    import yaml

    path.write_text(yaml.safe_dump({k: (v.isoformat() if isinstance(v, dt.date) else v)
                                    for k, v in facts.items()}, sort_keys=False), encoding="utf-8")
