"""Rules: pure functions of evidence and ticket facts that diagnose the failure cases.

``engine`` holds the machinery (Rule, Facts, the registry, ranking); each rule module registers its
rules when imported, and this package imports them all, so that importing any part of ``rules``
gives the full registry. The engine itself imports no rule module (no cycle).
"""

from diagnose.rules import customer, integration, partner, records  # noqa: F401  (registers the rules)
