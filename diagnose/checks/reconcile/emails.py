"""E-mails: the loose forms two addresses are compared in (``case-or-space``, ``plus-tag``,
``gmail-dots``; :func:`add_email_levels`, vectorised) and placeholder addresses that match by key only."""

from __future__ import annotations

from typing import Any

# A placeholder, not an e-mail: masked characters (j***@, j•••@, xxx@), or a placeholder word that is
# a WHOLE part: the whole local part (anonymous@, [redacted]@), a whole label of the domain
# (…@anonymized.partnerstack.com, …@masked.example), or the whole value (N/A, REDACTED). A word that
# is only part of one is an ordinary address: anonymous42@, redacted.user@, hiddenvalley@ match as usual.
PLACEHOLDER_WORDS = (r"anonymi[sz]ed|anonymous|anon|redacted|hidden|masked|placeholder|withheld|undisclosed|"
                     r"unknown|none|null|n/a|no[-_.]?e?[-_.]?mail|not[-_.]?provided")
_WORD = rf"[\[(<]?(?:{PLACEHOLDER_WORDS})[\])>]?"
ANONYMISED_RE = rf"(?i)[*•●…]|^x{{3,}}@|^{_WORD}@|@(?:[^@]*\.)?{_WORD}(?:\.[^@]*)?$|^{_WORD}$"


def is_placeholder(email: Any) -> Any:
    """A polars expression: True where the e-mail is a placeholder (it then matches by key only)."""
    return email.str.contains(ANONYMISED_RE).fill_null(False)



_STEPS = {
    # reason -> [expression builders]; each builder reads one materialised column exactly once or
    # twice, so no rule recomputes the ones before it.
    "case-or-space": [lambda c: c.str.to_lowercase().str.replace_all(r"\s+", "")],
    "plus-tag": [lambda c: c.str.replace(r"^([^@+]*)\+[^@]*@", "${1}@")],
    "gmail-dots": [
        lambda c: c.str.replace(r"@(?i:googlemail\.com)$", "@gmail.com"),
        lambda c: _when_gmail(c),
    ],
}


# What each rule can change: an e-mail matching none of the enabled patterns is its own loosest form.
_TOUCHED = {"case-or-space": r"\s", "plus-tag": r"\+", "gmail-dots": r"@(?i:g(?:oogle)?mail\.com)$"}  # + upper case


def _when_gmail(c: Any) -> Any:
    import polars as pl

    return pl.when(c.str.contains(r"@(?i:gmail\.com)$")).then(
        c.str.head(-10).str.replace_all(".", "", literal=True) + "@gmail.com").otherwise(c)


def add_email_levels(frame: Any, src: str, prefix: str, case: bool, plus: bool, gmail: bool,
                     keep: bool = True) -> tuple[Any, list[tuple[str, str]]]:
    """``frame`` with one column per enabled loose rule (``prefix`` + n), strictest to loosest,
    and ``[(reason, column)]`` starting with ``("exact", src)``. ``keep=False`` keeps only the
    loosest (named ``prefix``)."""
    import polars as pl

    levels = [("exact", src)]
    rules = [r for r, on in (("case-or-space", case), ("plus-tag", plus), ("gmail-dots", gmail)) if on]
    if not keep:  # only the loosest form, computed only for the e-mails a rule can change
        canon = frame.get_column(src).alias(prefix)
        changed = None
        if rules:
            changed = canon.str.contains("|".join(_TOUCHED[r] for r in rules))
            changed = (changed | (canon.str.to_lowercase() != canon) if case else changed).fill_null(False)
        if changed is not None and changed.any():
            idx = changed.arg_true()
            expr = pl.col(src)
            for step in (step for r in rules for step in _STEPS[r]):
                expr = step(expr)
            canon = canon.scatter(idx, canon.gather(idx).to_frame(src).select(expr).to_series())
        return frame.with_columns(canon), [(rules[-1] if rules else "exact", prefix)]
    cur = src
    n = 0
    for reason, on in (("case-or-space", case), ("plus-tag", plus), ("gmail-dots", gmail)):
        if not on:
            continue
        for step in _STEPS[reason]:
            n += 1
            name = f"{prefix}{n}"
            frame = frame.with_columns(step(pl.col(cur)).alias(name))
            cur = name
        levels.append((reason, cur))
    return frame, levels


def normalise_email(value: str, case: bool = True, plus: bool = True, gmail: bool = True) -> str:
    """The loosest enabled form of one e-mail (the same rules as the vectorised matcher)."""
    import polars as pl

    frame, _ = add_email_levels(pl.DataFrame({"e": [value]}), "e", "_n", case, plus, gmail, keep=False)
    return frame["_n"][0]
