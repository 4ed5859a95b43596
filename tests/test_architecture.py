"""The house keeps its shape: rooms import only from rooms below them, nothing imports in a
cycle, and no module grows past ~420 lines. Walks the package's imports with ast (nothing is run)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "diagnose"

# Each room may import from rooms of a lower rank (and from itself); the flow runs one way:
# core <- web <- checks, rules <- pipeline <- report <- demo <- cli
RANK = {"core": 0, "web": 1, "checks": 2, "rules": 2, "pipeline": 3, "report": 4, "demo": 5, "cli": 6}
MAX_LINES = 420


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {name for name in found if name == "diagnose" or name.startswith("diagnose.")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        targets = set()
        for imported in imports_of(path):
            # "from diagnose.x import y": y may be a module or a name in x
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def test_the_package_root_holds_only_the_rooms():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert not loose, f"modules outside a room: {loose}"
    rooms = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert rooms == sorted(RANK), rooms


def test_no_upward_imports():
    upward = []
    for module, targets in graph().items():
        mine = room(module)
        for target in targets:
            theirs = room(target)
            if mine is None or theirs is None:
                continue
            if RANK[theirs] > RANK[mine] or (RANK[theirs] == RANK[mine] and theirs != mine):
                upward.append(f"{module} -> {target}")
    assert not upward, "imports against the flow:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_module_is_too_long():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


def test_the_walker_sees_an_upward_import(tmp_path, monkeypatch):
    """The test above can fail: a core module importing the cli is caught."""
    fake = tmp_path / "diagnose"
    (fake / "core").mkdir(parents=True)
    (fake / "cli").mkdir()
    for init in (fake / "__init__.py", fake / "core" / "__init__.py", fake / "cli" / "__init__.py"):
        init.write_text("", encoding="utf-8")
    (fake / "core" / "x.py").write_text("from diagnose.cli import main\n", encoding="utf-8")
    (fake / "cli" / "main.py").write_text("from ..core import x\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    edges = graph()
    assert "diagnose.cli" in edges["diagnose.core.x"]
    assert "diagnose.core.x" in edges["diagnose.cli.main"]


def test_every_check_in_the_registry_is_loaded_and_shown():
    from diagnose.checks import CHECK_MODULES, load_all
    from diagnose.checks.registry import CHECKS, EVIDENCE_ORDER
    from diagnose.core.evidence import EVIDENCE_TYPES

    load_all()
    assert {c.name for c in CHECKS} == set(CHECK_MODULES) == set(EVIDENCE_TYPES)
    assert sorted(n for c in CHECKS for n in c.produces) == sorted(EVIDENCE_ORDER)
