"""Checks: each module gathers one kind of evidence and returns a CheckResult.

Checks do I/O and report what they saw; they never decide a failure case (that is the rules').
``registry.CHECKS`` lists them behind one interface, in the order the pipeline runs them.
"""

import importlib

from diagnose.checks.registry import CHECKS

# Every check module (one per registered check); importing one registers its evidence type.
CHECK_MODULES = tuple(check.name for check in CHECKS)


def load_all() -> None:
    for name in CHECK_MODULES:
        importlib.import_module(f"diagnose.checks.{name}")
