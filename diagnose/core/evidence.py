"""The evidence model: what every check returns.

A check returns a :class:`CheckResult`: the check's name, one frozen dataclass of findings
(its *evidence*) and the problems it found. The result's ``status`` is derived from the problems:

* ``pass``  - the check ran and found nothing wrong;
* ``warn``  - the check ran and found something worth a look;
* ``fail``  - the check ran and found a problem;
* ``error`` - the check could not run (timeout, no browser, ...); the problem says why.

Results serialise to flat JSON objects (``check``, ``status``, ``problems`` and the evidence's
fields side by side) and load back into the same typed objects, so that the rules can be re-run
offline on saved evidence. Loading is strict: an unknown or misspelt field (at any depth), a wrong
type or a missing required field is a ValueError naming the field by its path
(``reconcile.customer: unknown field 'bukcet'``).

The registered types are also the schema of what the rules may read: :func:`field_type` answers
what lies at ``customer.bucket`` in the reconcile check's evidence, or raises :class:`UnknownField`.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import reprlib
import types
import typing
from dataclasses import dataclass
from typing import Any, Generic, TypeVar


class Status(enum.StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


_RANK = {Status.PASS: 0, Status.WARN: 1, Status.FAIL: 2, Status.ERROR: 3}


def worst(statuses: typing.Iterable[Status]) -> Status:
    """The most serious of ``statuses`` (``pass`` for none)."""
    return max(statuses, key=_RANK.__getitem__, default=Status.PASS)


@dataclass(frozen=True)
class Problem:
    """One finding: a stable kebab-case ``code``, a human ``message`` and how serious it is."""

    code: str
    message: str
    severity: Status = Status.FAIL

    def __post_init__(self) -> None:
        if self.severity is Status.PASS:
            raise ValueError("a problem cannot have severity 'pass'")


def fail(code: str, message: str) -> Problem:
    return Problem(code, message, Status.FAIL)


def warn(code: str, message: str) -> Problem:
    return Problem(code, message, Status.WARN)


def error(code: str, message: str) -> Problem:
    """The check could not run, or could not finish: ``message`` says why."""
    return Problem(code, message, Status.ERROR)


E = TypeVar("E")

# check name -> evidence dataclass; filled by the @evidence decorator in each check module.
EVIDENCE_TYPES: dict[str, type] = {}


def evidence(check: str):
    """Class decorator: register a frozen dataclass as the evidence of ``check``."""

    def register(cls: type) -> type:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} must be a dataclass")
        if check in EVIDENCE_TYPES and EVIDENCE_TYPES[check] is not cls:
            raise ValueError(f"evidence for check {check!r} is registered twice")
        EVIDENCE_TYPES[check] = cls
        cls.check_name = check  # type: ignore[attr-defined]
        return cls

    return register


# What a field holds that must not leave the company (``--redact``; pipeline/redact.py acts on it):
#   "rows"    rows of other customers: dropped
#   "path"    a local file path: the file name only
#   "secret"  a value such as a cookie's: masked where it stands and wherever else it appears
#   "person"  a person's name: masked wherever it appears (whole, and word by word)
#   "account" a payment provider's customer id: masked wherever it appears
#   "partner" a partner key: named "another partner" wherever it appears, unless it is the ticket's
#   "email"   a customer's e-mail address: masked (k***@example.com) wherever it appears
# "Wherever it appears" means in every string of the report and in every common spelling of the value
# (percent-encoded, escaped, base64 as a gspk carries a partner key); e-mail addresses are masked
# everywhere whether a field declares them or not.
SENSITIVE_KINDS = ("rows", "path", "secret", "person", "account", "partner", "email")


def sensitive(kind: str, **field_options: Any) -> Any:
    """A dataclass field that declares what it holds, for redaction: ``x: str = sensitive("path")``."""
    if kind not in SENSITIVE_KINDS:
        raise ValueError(f"unknown sensitive kind {kind!r}")
    return dataclasses.field(metadata={"sensitive": kind}, **field_options)


RESERVED_KEYS = ("check", "status", "problems")


@dataclass(frozen=True)
class CheckResult(Generic[E]):
    check: str
    evidence: E
    problems: tuple[Problem, ...] = ()

    @property
    def status(self) -> Status:
        return worst(p.severity for p in self.problems)

    @property
    def ran(self) -> bool:
        """False when the check could not run or finish (status ``error``)."""
        return self.status is not Status.ERROR

    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    def has(self, code: str) -> bool:
        return any(p.code == code for p in self.problems)

    def problem(self, code: str) -> Problem | None:
        return next((p for p in self.problems if p.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "check": self.check,
            "status": str(self.status),
            "problems": [
                {"code": p.code, "message": p.message, "severity": str(p.severity)}
                for p in self.problems
            ],
        }
        body = to_jsonable(self.evidence)
        clash = set(body) & set(RESERVED_KEYS)
        if clash:  # pragma: no cover - a programming error in an evidence class
            raise ValueError(f"evidence fields clash with result keys: {sorted(clash)}")
        out.update(body)
        return out

    @classmethod
    def from_dict(cls, data: Any, name: str | None = None) -> "CheckResult[Any]":
        """Load a result saved by :meth:`to_dict`. ``name``: the evidence name it was saved under
        (``cookie-safari-itp``), which must belong to its check; errors begin with the path of the
        field at fault, rooted at ``name`` (else the check). Raises ValueError on a malformed object."""
        root = name or "check result"
        if not isinstance(data, dict):
            raise ValueError(f"{root}: a check result must be a JSON object, got {_kind(data)}")
        if "check" not in data:
            raise ValueError(f"{root}: missing field 'check'")
        check = data["check"]
        if not isinstance(check, str):
            raise ValueError(f"{root}.check: expected a check name, got {_show(check)}")
        if check not in EVIDENCE_TYPES:  # the checks register their types (pipeline.evidence_io loads them)
            known = ", ".join(sorted(EVIDENCE_TYPES))
            raise ValueError(f"{root}.check: unknown check {shorten(check)} (known: {known})")
        if name is not None and evidence_check(name) != check:
            raise ValueError(f"{name}.check: evidence saved as {name!r} cannot come from the {shorten(check)} check")
        root = name or check
        raw = data.get("problems", [])
        if not isinstance(raw, list):
            raise ValueError(f"{root}.problems: expected a list, got {_kind(raw)}")
        problems = tuple(from_jsonable(Problem, p, f"{root}.problems[{i}]") for i, p in enumerate(raw))
        result = cls(check, from_jsonable(EVIDENCE_TYPES[check], _body(data), path=root), problems)
        if "status" in data and data["status"] != str(result.status):
            statuses = [str(s) for s in Status]
            if data["status"] not in statuses:
                raise ValueError(f"{root}.status: expected one of {', '.join(statuses)}, got {_show(data['status'])}")
            raise ValueError(f"{root}.status: {data['status']!r} disagrees with its problems "
                             f"(their worst is {str(result.status)!r})")
        return result


def _body(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in RESERVED_KEYS}


def evidence_check(name: str) -> str:
    """The check behind the evidence ``name``: the check's own name, or ``<check>-<variant>`` for the
    check run another way (``cookie-safari-itp`` is the cookie check under the Safari policy)."""
    if name in EVIDENCE_TYPES:
        return name
    check, dash, _ = name.partition("-")
    return check if dash and check in EVIDENCE_TYPES else name


class UnknownField(KeyError):
    """A path that is not in an evidence type's schema: a programming error (a misspelt rule)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@functools.cache
def field_type(check: str, path: str) -> Any:
    """The declared type of the field at ``path`` (``customer.bucket``) in ``check``'s evidence.

    Walks dataclass fields, through ``X | None``; past a ``dict[...]`` field any key is allowed (its
    value's type goes on). A list or tuple is a stop: a path cannot index into one (``Facts.get``
    reads attributes and keys, not items). Raises :class:`UnknownField` naming the bad part."""
    if check not in EVIDENCE_TYPES:
        raise UnknownField(f"no evidence type for check {check!r} (known: {', '.join(sorted(EVIDENCE_TYPES))})")
    tp: Any = EVIDENCE_TYPES[check]
    walked = check
    for part in path.split("."):
        tp = _unwrap_optional(tp)
        origin = typing.get_origin(tp)
        if tp is Any:
            return Any
        if origin is dict:
            args = typing.get_args(tp)
            tp = args[1] if len(args) == 2 else Any
        elif dataclasses.is_dataclass(tp):
            names = [f.name for f in dataclasses.fields(tp)]
            if part not in names:
                raise UnknownField(f"{walked}: unknown field {part!r}{_did_you_mean(part, names)}")
            tp = _hints(tp)[part]
        elif origin in (tuple, list):
            raise UnknownField(f"{walked} is a list: a path cannot go into it (at {part!r})")
        else:
            raise UnknownField(f"{walked} is {getattr(tp, '__name__', tp)}: it has no field {part!r}")
        walked = f"{walked}.{part}"
    return tp


def _unwrap_optional(tp: Any) -> Any:
    """``X`` for ``X | None``; anything else unchanged."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _did_you_mean(word: str, names: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Excerpt(reprlib.Repr):
    """reprlib, bounded in depth and width, and safe on integers too long for ``repr``."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            return f"<a {len(hex(abs(x))) - 2}-hex-digit number>"
        return repr(x)


_repr = _Excerpt()
_repr.maxlevel = 3
_repr.maxstring = 40
_repr.maxother = 40


def shorten(value: Any, limit: int = 60) -> str:
    """A bounded one-line excerpt of any value, for an error message: never more than about
    ``limit`` characters, whatever the value's size, depth or sharing (YAML aliases)."""
    _repr.maxstring = _repr.maxother = max(10, limit)
    text = " ".join(_repr.repr(value).split())
    return text if len(text) <= limit + 10 else text[:limit] + "..."


def _show(value: Any) -> str:
    return shorten(value, 40)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def from_jsonable(tp: Any, value: Any, path: str = "") -> Any:
    """Rebuild a value of type ``tp`` from its JSON form (inverse of :func:`to_jsonable`), strictly:
    a ValueError beginning with the path of the field at fault for an unknown field, a wrong type or
    a missing required field."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # X | None: X's own error says best what is wrong
            return from_jsonable(options[0], value, path)
        for arg in options:
            try:
                return from_jsonable(arg, value, path)
            except ValueError:
                continue
        names = " or ".join(getattr(a, "__name__", str(a)) for a in args)
        raise ValueError(f"{path}: expected {names}, got {_show(value)}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{path}: expected an object, got {_kind(value)}")
        fields = dataclasses.fields(tp)
        names = {f.name for f in fields}
        unknown = [k for k in value if k not in names]
        if unknown:
            listed = ", ".join(shorten(k) for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            hint = _did_you_mean(unknown[0], names - set(value)) if len(unknown) == 1 else ""
            raise ValueError(f"{path}: unknown field{'s' if len(unknown) > 1 else ''} {listed}{hint}")
        hints = _hints(tp)
        kwargs = {}
        for f in fields:
            if f.name in value:
                kwargs[f.name] = from_jsonable(hints[f.name], value[f.name], f"{path}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{path}: missing field {f.name!r}")
        try:
            return tp(**kwargs)
        except (TypeError, ValueError) as exc:  # the type's own checks (__post_init__)
            raise ValueError(f"{path}: {exc}") from None
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ValueError(f"{path}: expected a list, got {_kind(value)}")
        item_tp = args[0] if args else Any
        items = [from_jsonable(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{path}: expected an object, got {_kind(value)}")
        val_tp = args[1] if len(args) == 2 else Any
        return {k: from_jsonable(val_tp, v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except (ValueError, TypeError):
            raise ValueError(f"{path}: expected one of {', '.join(repr(m.value) for m in tp)}, "
                             f"got {_show(value)}") from None
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{path}: expected a number, got {_show(value)}")
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ValueError(f"{path}: expected {tp.__name__}, got {_show(value)}")
        return value
    raise TypeError(f"{path}: unsupported type {tp!r}")  # pragma: no cover


__all__ = [
    "CheckResult",
    "EVIDENCE_TYPES",
    "Problem",
    "Status",
    "UnknownField",
    "error",
    "evidence",
    "evidence_check",
    "fail",
    "field_type",
    "from_jsonable",
    "sensitive",
    "shorten",
    "to_jsonable",
    "warn",
    "worst",
]
