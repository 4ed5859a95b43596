"""Rules read from the program's partners (the PartnerStack API's partnerships)."""

from __future__ import annotations

from diagnose.rules.engine import Facts, Outcome, Reply, Verdict, rule

C, L, P, R, T = Verdict.CONFIRMED, Verdict.LIKELY, Verdict.POSSIBLE, Verdict.RULED_OUT, Verdict.CANNOT_TELL


@rule(
    "partner-not-in-program",
    title="The partner on the ticket is not a partner of this program",
    explanation="PartnerStack has no partner with this key (or e-mail) in the program whose API keys were "
    "used, so nothing can be credited to it here: the key may be mistyped, belong to another program, or "
    "the partner may have joined under another e-mail.",
    next_steps=(
        "Ask the partner for the partner key shown in their own dashboard (or the e-mail they joined with).",
        "Check that the API keys are those of the program the partner joined.",
    ),
    requires=("partner",),
    priority=5,
    reply=Reply(
        found="We could not find a partner account in our program matching the details in your message, so "
        "nothing can be credited to it here. Usually this means you joined our program with a different email "
        "address, or the account belongs to another program.",
        partner_can="Could you send us the email address you joined our program with? We will check again "
        "as soon as we have it.",
        credit=False,
        alone=True,
    ),
)
def partner_not_in_program(f: Facts) -> Outcome:
    found = f.get("partner", "found")
    query = f.get("partner", "query")
    if found is None:
        return Outcome(T, "the ticket names no partner (partner_key or partner_email)")
    if not found:
        return Outcome(C, f"no partner of the program has {f.get('partner', 'looked_up_by')} {query!r}")
    return Outcome(R, f"{query!r} is a partner of the program")


@rule(
    "partner-archived",
    title="The partner is archived in this program",
    explanation="The partnership exists but is archived: an archived partner no longer earns from the "
    "program, so new customers are not credited to them.",
    next_steps=(
        "If the partner should be active again, restore the partnership in PartnerStack (All Partners).",
        "Then add any customer they referred meanwhile by hand, attributed to them.",
    ),
    requires=("partner",),
    priority=6,
    reply=Reply(
        found="Your partnership in our program is currently archived. While it is archived, new customers are "
        "not credited to it, which is why this one does not show.",
        we_do="We are checking whether that is intended. If it is not, we will reactivate your partnership and "
        "add the customers you referred in the meantime.",
    ),
)
def partner_archived(f: Facts) -> Outcome:
    if not f.get("partner", "found"):
        return Outcome(T, "the partner was not found in the program")
    archived = f.get("partner", "archived")
    if archived:
        return Outcome(C, f"the partnership of {f.get('partner', 'partner_key')!r} is archived")
    if archived is None:
        return Outcome(T, "the API did not say whether the partnership is archived")
    return Outcome(R, "the partnership is active")
