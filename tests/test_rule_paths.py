"""Every evidence path a rule reads exists in the evidence types, so that a misspelt path fails here
instead of reading None ("cannot tell") forever.

The rule modules' source is walked with ast (nothing is run): every ``f.get(NAME, PATH)``,
``f.problem(NAME, CODE)``, ``f.message(NAME, CODE)``, ``f.available(NAME)``, ``f.status(NAME)`` and
``f.fact(KEY)`` on a parameter annotated ``Facts``. Arguments are string literals, or names and
f-strings bound by a ``for`` / comprehension over a literal (or over a module-level literal tuple or
dict); anything else is reported, so that a path the walker cannot see is never silently skipped
(a ticket key may come from a parameter: a wrong one raises in Facts.fact at once anyway).
Facts.get checks the same paths at run time (rules.engine.check_path), for the YAML rule cases.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import textwrap
from pathlib import Path

import pytest

from diagnose.checks import load_all
from diagnose.core.evidence import (
    EVIDENCE_TYPES,
    UnknownField,
    evidence_check,
    field_type,
)
from diagnose.core.ticket import Ticket, from_mapping
from diagnose.pipeline.gather import EVIDENCE_ORDER
from diagnose.rules.engine import RULES, Facts

PACKAGE = Path(__file__).resolve().parent.parent / "diagnose"
# The rule modules (the engine only passes Facts on: its names come from Rule.requires, checked below).
RULE_SOURCES = sorted(p for p in (PACKAGE / "rules").glob("*.py") if p.name != "engine.py")
# Where problem codes are made: the checks, and the web layer they use.
CODE_SOURCES = sorted([*(PACKAGE / "checks").rglob("*.py"), *(PACKAGE / "web").rglob("*.py")])
METHODS = {"get": 2, "problem": 2, "message": 2, "available": 1, "status": 1, "fact": 1}

load_all()


@dataclasses.dataclass(frozen=True)
class Read:
    where: str  # file:line
    method: str
    args: tuple[tuple[str, ...] | None, ...]  # each argument's possible values; None: not resolvable

    def combinations(self):
        return itertools.product(*self.args)


def _literal_strings(node: ast.AST | None) -> tuple[str, ...] | None:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return tuple(e.value for e in node.elts)
    if isinstance(node, ast.Dict) and all(
            isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys):
        return tuple(k.value for k in node.keys)  # iterating a dict (or its .items()) gives its keys
    return None


class Walker:
    """Collect the Facts reads of one module's source."""

    def __init__(self, source: str, filename: str):
        self.tree = ast.parse(source)
        self.filename = filename
        self.constants: dict[str, tuple[str, ...]] = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                values = _literal_strings(node.value)
                if values is not None:
                    self.constants[node.targets[0].id] = values
        self.reads: list[Read] = []
        self._visit(self.tree, {}, frozenset())

    def _iterated(self, node: ast.AST) -> tuple[str, ...] | None:
        """What ``for x in node`` binds ``x`` to, when it is knowable."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in ("items", "keys") and not node.args:
            node = node.func.value
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        return _literal_strings(node)

    @staticmethod
    def _bind(target: ast.AST, values: tuple[str, ...] | None, env: dict) -> dict:
        if isinstance(target, ast.Tuple) and target.elts:  # for key, value in D.items()
            target = target.elts[0]
        if isinstance(target, ast.Name):
            return {**env, target.id: values}
        return env

    def _resolve(self, node: ast.AST, env: dict) -> tuple[str, ...] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return (node.value,)
        if isinstance(node, ast.Name):
            return env.get(node.id)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.Constant):
                    parts.append((str(value.value),))
                elif isinstance(value, ast.FormattedValue) and value.conversion == -1 and value.format_spec is None:
                    got = self._resolve(value.value, env)
                    if got is None:
                        return None
                    parts.append(got)
                else:
                    return None
            return tuple("".join(p) for p in itertools.product(*parts))
        return None

    def _visit(self, node: ast.AST, env: dict, facts: frozenset[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            annotated = {a.arg for a in args if a.annotation is not None and (
                (isinstance(a.annotation, ast.Name) and a.annotation.id == "Facts")
                or (isinstance(a.annotation, ast.Constant) and a.annotation.value == "Facts"))}
            facts = (facts - {a.arg for a in args}) | annotated
            for child in ast.iter_child_nodes(node):
                self._visit(child, env, facts)
            return
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self._visit(node.iter, env, facts)
            inner = self._bind(node.target, self._iterated(node.iter), env)
            for child in node.body:
                self._visit(child, inner, facts)
            for child in node.orelse:
                self._visit(child, env, facts)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = env
            for gen in node.generators:
                self._visit(gen.iter, inner, facts)
                inner = self._bind(gen.target, self._iterated(gen.iter), inner)
                for cond in gen.ifs:
                    self._visit(cond, inner, facts)
            for part in ("elt", "key", "value"):
                if hasattr(node, part):
                    self._visit(getattr(node, part), inner, facts)
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and node.func.value.id in facts and node.func.attr in METHODS:
            wanted = METHODS[node.func.attr]
            args = tuple(self._resolve(a, env) for a in node.args[:wanted])
            args += (None,) * (wanted - len(args))
            self.reads.append(Read(f"{self.filename}:{node.lineno}", node.func.attr, args))
        for child in ast.iter_child_nodes(node):
            self._visit(child, env, facts)


def reads_of(source: str, filename: str = "<test>") -> list[Read]:
    return Walker(source, filename).reads


def all_reads() -> list[Read]:
    return [r for p in RULE_SOURCES for r in reads_of(p.read_text(encoding="utf-8"), p.name)]


def known_codes() -> set[str]:
    """Every string literal in the modules that make problems (a code is one of them)."""
    return {node.value for p in CODE_SOURCES for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def errors_in(reads: list[Read], codes: set[str] | None = None) -> list[str]:
    """What is wrong with ``reads``: unresolvable arguments, unknown evidence names, paths that are
    not in the evidence types, codes no check makes, ticket keys the Ticket lacks."""
    ticket_keys = {f.name for f in dataclasses.fields(Ticket)}
    errors = []
    for read in reads:
        if any(a is None for a in read.args):
            if read.method == "fact":
                continue
            errors.append(f"{read.where}: f.{read.method}(...): an argument the walker cannot resolve "
                          "(use a literal, or loop over a literal)")
            continue
        for combo in read.combinations():
            if read.method == "fact":
                if combo[0] not in ticket_keys:
                    errors.append(f"{read.where}: f.fact({combo[0]!r}): the ticket has no such key")
                continue
            name = combo[0]
            if name not in EVIDENCE_ORDER:
                errors.append(f"{read.where}: f.{read.method}({name!r}, ...): unknown evidence name "
                              f"(known: {', '.join(EVIDENCE_ORDER)})")
                continue
            if read.method == "get":
                try:
                    field_type(evidence_check(name), combo[1])
                except UnknownField as exc:
                    errors.append(f"{read.where}: f.get({name!r}, {combo[1]!r}): {exc}")
            elif read.method in ("problem", "message") and codes is not None and combo[1] not in codes:
                errors.append(f"{read.where}: f.{read.method}({name!r}, {combo[1]!r}): no check makes this code")
    return errors


def test_the_walker_finds_the_reads():
    reads = all_reads()
    methods = {r.method for r in reads}
    assert {"get", "problem", "message", "available", "status", "fact"} <= methods, methods
    gets = {c for r in reads if r.method == "get" for c in r.combinations()}
    # one plain, one nested, one through a cookie variant, and the f-string over a literal tuple
    assert {("link", "partner_key"), ("reconcile", "customer.bucket"),
            ("cookie-safari-itp", "partner_cookie.effective_days"),
            ("reconcile", "customer.provider_key"), ("reconcile", "customer.customer_key")} <= gets
    assert len(reads) > 80


def test_every_rule_path_exists_in_the_evidence_types():
    assert EVIDENCE_TYPES.keys() >= {"link", "gspk", "snippet", "cookie", "reconcile"}
    errors = errors_in(all_reads(), known_codes())
    assert not errors, "\n".join(errors)


def test_every_rule_requires_known_evidence():
    bad = [f"{r.id}: {name!r}" for r in RULES.values() for need in r.requires for name in need.split("|")
           if name not in EVIDENCE_ORDER]
    assert not bad, bad


MISSPELT = '''
from diagnose.rules.engine import Facts

KEYS = ("customer_key", "provder_key")
CODES = {"params-dropped": "x", "parms-dropped": "y"}

def case(f: Facts):
    bucket = f.get("reconcile", "customer.bukcet")
    ok = f.get("cookie-safari-itp", "partner_cookie.effective_days")
    hops = f.get("link", "hops.url")
    lacking = [k for k in KEYS if not f.get("reconcile", f"customer.{k}")]
    for code, _ in CODES.items():
        f.problem("link", code)
    f.problem("cokie", "consent-gated")
    f.fact("click_dat")
    f.get("link", some_variable)
    other.get("reconcile", "not.a.facts.read")
'''


def test_the_walker_and_the_schema_catch_misspelt_reads():
    errors = errors_in(reads_of(textwrap.dedent(MISSPELT)), known_codes())
    joined = "\n".join(errors)
    assert "f.get('reconcile', 'customer.bukcet'): reconcile.customer: unknown field 'bukcet'" in joined
    assert "did you mean 'bucket'?" in joined
    assert "f.get('link', 'hops.url'): link.hops is a list" in joined
    assert "f.get('reconcile', 'customer.provder_key')" in joined
    assert "customer.customer_key" not in joined and "effective_days" not in joined
    assert "f.problem('link', 'parms-dropped'): no check makes this code" in joined
    assert "'params-dropped'" not in joined
    assert "f.problem('cokie', ...): unknown evidence name" in joined
    assert "f.fact('click_dat')" in joined
    assert "cannot resolve" in joined
    assert "not.a.facts.read" not in joined
    assert len(errors) == 7, joined


@pytest.mark.parametrize(
    "check, path, found",
    [
        ("reconcile", "customer.bucket", str | None),
        ("cookie", "partner_cookie.effective_days", float | None),
        ("link", "params.gspk", str),  # past a dict any key goes
        ("link", "hops", None),
        ("cookie", "growsumo.loaded", bool),
    ],
)
def test_field_type_walks_optional_nested_and_dict_fields(check, path, found):
    tp = field_type(check, path)
    if found is not None:
        assert tp == found


@pytest.mark.parametrize(
    "check, path, message",
    [
        ("reconcile", "customer.bukcet", "reconcile.customer: unknown field 'bukcet' (did you mean 'bucket'?)"),
        ("reconcile", "custmer", "reconcile: unknown field 'custmer'"),
        ("link", "hops.url", "link.hops is a list"),
        ("link", "params.gspk.x", "link.params.gspk is str: it has no field 'x'"),
        ("link", "", "link: unknown field ''"),
        ("nope", "x", "no evidence type for check 'nope'"),
    ],
)
def test_field_type_names_the_bad_part(check, path, message):
    with pytest.raises(UnknownField) as caught:
        field_type(check, path)
    assert str(caught.value).startswith(message), str(caught.value)


def test_facts_get_raises_on_an_unknown_path_even_without_the_evidence():
    facts = Facts(from_mapping({}), {})
    assert facts.get("reconcile", "customer.bucket") is None  # a real path, no evidence: None
    assert facts.get("cookie-no-cookies", "partner_cookie") is None
    with pytest.raises(UnknownField, match=r"reconcile\.customer: unknown field 'bukcet'"):
        facts.get("reconcile", "customer.bukcet")
    with pytest.raises(KeyError):  # UnknownField is a KeyError: a programming error
        facts.get("cookie-safari-itp", "partner_cookie.efective_days")


def test_evidence_names_map_to_their_check():
    assert evidence_check("cookie-safari-itp") == "cookie"
    assert evidence_check("cookie-no-cookies") == "cookie"
    assert evidence_check("reconcile") == "reconcile"
    assert evidence_check("nope-x") == "nope-x"
    for name in EVIDENCE_ORDER:
        assert evidence_check(name) in EVIDENCE_TYPES, name
