"""The HTML report, opened in headless Chromium: it renders, shows the verdict, runs no planted
script and fetches nothing."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from diagnose.cli import cli

GOLDEN = Path(__file__).parent / "data" / "golden"
HOSTILE = {
    "title": "<script>window.__pwned = 'title'</script>Acme",
    "name": "<img src=x onerror=\"window.__pwned = 'name'\">Kim",
    "cookie": "\"><script>window.__pwned = 'cookie'</script>",
}


def hostile_evidence(tmp_path: Path) -> Path:
    data = json.loads((GOLDEN / "evidence.json").read_text(encoding="utf-8"))
    data["ticket"]["customer_name"] = HOSTILE["name"]
    data["evidence"]["snippet"]["page_title"] = HOSTILE["title"]
    cookie = {"name": "growSumoPartnerKey", "value": HOSTILE["cookie"], "domain": "127.0.0.1", "path": "/",
              "expires_days": 90.0, "same_site": "Lax", "secure": False, "http_only": False}
    data["evidence"]["cookie"]["cookies"] = [cookie]
    data["evidence"]["cookie"]["partner_cookie"] = dict(cookie)
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_hostile_values_are_text_not_code(tmp_path, browser_session):  # noqa: F811
    report = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["explain", str(hostile_evidence(tmp_path)), "--html", str(report)])
    assert result.exit_code == 1, result.output
    html = report.read_text(encoding="utf-8")
    assert "<script>" not in html.replace("&lt;script&gt;", "")  # autoescaped everywhere

    async def visit():
        context = await browser_session.new_context()
        try:
            page = await context.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            await page.goto(report.as_uri(), wait_until="load")
            await page.wait_for_timeout(200)
            pwned = await page.evaluate("() => window.__pwned === undefined ? null : window.__pwned")
            verdict = await page.inner_text("#verdict")
            body = await page.inner_text("body")
            images = await page.evaluate("() => document.images.length")
            return pwned, verdict, body, requests, images
        finally:
            await context.close()

    pwned, verdict, body, requests, images = browser_session.run(visit(), timeout=30)
    assert pwned is None
    assert "CONFIRMED" in verdict.upper() and "Safari customer" in verdict
    for text in HOSTILE.values():
        assert text in body  # shown as text, literally
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []  # nothing fetched
    assert images == 0  # the planted <img> is text, not an element
