"""The declared dependency bounds are the ones CI proves: .ci/run installs the lowest versions from
.ci/lowest-constraints.txt in a fresh environment, so that file must pin exactly each lower bound."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
    return {Requirement(r).name.lower(): Requirement(r) for r in reqs}


def _pinned() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / ".ci" / "lowest-constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = Version(version)
    return pins


def test_every_dependency_has_a_lower_bound_pinned_for_ci():
    declared, pinned = _declared(), _pinned()
    assert set(pinned) == set(declared), "constraints and pyproject name different packages"
    for name, req in declared.items():
        lows = [Version(s.version) for s in req.specifier if s.operator == ">="]
        assert lows, f"{name} has no lower bound"
        assert pinned[name] == lows[0], f"{name}: pyproject says >={lows[0]}, CI pins {pinned[name]}"
        assert pinned[name] in req.specifier


def test_ci_runs_the_readme_test_command_at_both_ends():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = "python3 -m pip install -e '.[test]' && python3 -m pytest"
    assert command in readme and command in ci
    assert "lowest-constraints.txt" in ci and "venv" in ci
