"""Consent managers (CMPs): which one is on the page, told by the hosts its scripts come from or the
globals it defines."""

from __future__ import annotations

from diagnose.checks.cookie.model import ConsentManager

# Consent managers: (name, script host suffixes, globals).
CONSENT_MANAGERS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("OneTrust", ("cookielaw.org", "onetrust.com", "cookiepro.com", "optanon.blob.core.windows.net"),
     ("OneTrust", "Optanon", "OptanonActiveGroups")),
    ("Cookiebot", ("cookiebot.com", "cookiebot.eu"), ("Cookiebot",)),
    ("Didomi", ("privacy-center.org", "didomi.io"), ("Didomi", "didomiOnReady")),
    ("Usercentrics", ("usercentrics.eu", "usercentrics.com"), ("UC_UI", "usercentrics")),
    ("Osano", ("osano.com",), ("Osano",)),
    ("Termly", ("termly.io",), ("Termly",)),
    ("CookieYes", ("cookieyes.com", "cdn-cookieyes.com"), ("cookieyes", "getCkyConsent")),
    ("Quantcast Choice", ("quantcast.mgr.consensu.org", "cmp.quantcast.com"), ("__qc", "qcCmpApi")),
    ("TrustArc", ("trustarc.com", "truste.com"), ("truste", "PrivacyManagerAPI")),
    ("iubenda", ("iubenda.com",), ("_iub",)),
    ("Complianz", ("complianz.io",), ("complianz", "cmplz_set_cookie")),
    ("Axeptio", ("axept.io",), ("axeptioSDK", "_axcb")),
    ("CookieFirst", ("cookiefirst.com",), ("CookieFirst",)),
    ("Civic Cookie Control", ("civiccomputing.com",), ("CookieControl",)),
    ("Klaro", ("kiprotect.com",), ("klaro",)),
    ("Borlabs Cookie", (), ("BorlabsCookie",)),
    ("Sourcepoint", ("sourcepoint.com", "sp-prod.net"), ("_sp_",)),
    ("IAB TCF CMP", (), ("__tcfapi",)),
)
CMP_GLOBALS = tuple(dict.fromkeys(g for _, _, gs in CONSENT_MANAGERS for g in gs))


def consent_managers(script_hosts: list[str], globals_: list[str]) -> list[ConsentManager]:
    found: dict[str, ConsentManager] = {}
    for name, hosts, globs in CONSENT_MANAGERS:
        for host in script_hosts:
            h = host.lower()
            if any(h == s or h.endswith("." + s) for s in hosts):
                found.setdefault(name, ConsentManager(name, f"script {host}"))
        for g in globs:
            if g in globals_:
                found.setdefault(name, ConsentManager(name, f"global {g}"))
    if len(found) > 1:
        found.pop("IAB TCF CMP", None)  # a named CMP already explains __tcfapi
    return list(found.values())
