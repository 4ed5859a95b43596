"""Affiliate platforms described as data: which URL parameters and cookies carry the referral.

Only PartnerStack is checked today; other platforms (Rewardful ``via``, FirstPromoter
``_fprom_ref``, Tapfiliate ``tap_vid``, Impact ``irclickid``) are meant to be added here as data,
not as new code paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Platform:
    name: str
    partner_key_params: tuple[str, ...]  # same value in each, base64-encoded partner key
    click_id_params: tuple[str, ...]  # same value in each
    other_params: tuple[str, ...]
    partner_cookie_names: tuple[str, ...]
    partner_cookie_patterns: tuple[str, ...]  # regexes for per-program cookie names
    cookie_days: int

    @property
    def params(self) -> tuple[str, ...]:
        return self.partner_key_params + self.click_id_params + self.other_params

    def is_partner_cookie(self, name: str) -> bool:
        return name in self.partner_cookie_names or any(
            re.fullmatch(p, name) for p in self.partner_cookie_patterns
        )


PARTNERSTACK = Platform(
    name="PartnerStack",
    partner_key_params=("gspk", "ps_partner_key"),
    click_id_params=("gsxid", "ps_xid"),
    other_params=("pscd",),
    partner_cookie_names=("growSumoPartnerKey", "ps_partner_key"),
    partner_cookie_patterns=(r"_ps_partner_key_[A-Za-z0-9]{8}", r"_grsmpk[A-Za-z0-9]{8}"),
    cookie_days=90,
)

PUBLIC_KEY_RE = re.compile(r"pk_[A-Za-z0-9]{32}")
SECRET_KEY_RE = re.compile(r"\bsk_[A-Za-z0-9]{16,}")
TEST_PARTNER_KEY = "gstest"
# Every browser on iPhone and iPad is WebKit, so Safari's ITP cookie caps apply to all of them.
WEBKIT_WORDS = ("safari", "iphone", "ipad", "ios")

# Dashboard customer statuses: one vocabulary, read by the reconcile check and by the rules.
# Partners see "Signed Up" and "Paid"; companies' exports also carry approval and fulfilment states.
# Classes are tried in order; the first whose pattern matches (case-insensitively) wins, so
# "Not approved" is declined and "Pending approval" is pending before "approved" is looked at.
STATUS_DECLINED, STATUS_PENDING, STATUS_TRACKED, STATUS_UNKNOWN = "declined", "pending", "tracked", "unknown"
DASHBOARD_STATUSES: tuple[tuple[str, str], ...] = (
    (STATUS_DECLINED, r"declin|reject|denied|refused|cancel|void|not approved|disapproved|unapproved"),
    (STATUS_PENDING, r"pending|awaiting|waiting|unfulfil|not fulfil|under review|in review|on hold|"
                     r"needs approval|to approve"),
    (STATUS_TRACKED, r"signed[ _-]?up|sign[ _-]?up|paid|approved|active|fulfilled|converted|"
                     r"customer|subscribed|trial|won|complete"),
)


def dashboard_status_class(status: str | None) -> str | None:
    """The class of a dashboard status text: declined, pending, tracked, unknown (None when blank)."""
    text = (status or "").strip()
    if not text:
        return None
    for cls, pattern in DASHBOARD_STATUSES:
        if re.search(pattern, text, re.IGNORECASE):
            return cls
    return STATUS_UNKNOWN
