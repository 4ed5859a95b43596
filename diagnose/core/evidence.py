"""The evidence model: what every check returns.

A check returns a :class:`CheckResult`: the check's name, one frozen dataclass of findings
(its *evidence*) and the problems it found. The result's ``status`` is derived from the problems:

* ``pass``  - the check ran and found nothing wrong;
* ``warn``  - the check ran and found something worth a look;
* ``fail``  - the check ran and found a problem;
* ``error`` - the check could not run (timeout, no browser, ...); the problem says why.

Results serialise to flat JSON objects (``check``, ``status``, ``problems`` and the evidence's
fields side by side) and load back into the same typed objects, so that the rules can be re-run
offline on saved evidence.
"""

from __future__ import annotations

import dataclasses
import enum
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
SENSITIVE_KINDS = ("rows", "path", "secret", "person", "account", "partner")


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
    def from_dict(cls, data: dict[str, Any]) -> "CheckResult[Any]":
        """Load a result saved by :meth:`to_dict`. Raises ValueError on a malformed object."""
        if not isinstance(data, dict):
            raise ValueError("a check result must be a JSON object")
        name = data.get("check")
        if name not in EVIDENCE_TYPES:  # the checks register their types (pipeline.evidence_io loads them)
            known = ", ".join(sorted(EVIDENCE_TYPES))
            raise ValueError(f"unknown check {name!r} (known: {known})")
        try:
            problems = tuple(
                Problem(str(p["code"]), str(p["message"]), Status(p.get("severity", "fail")))
                for p in data.get("problems", [])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{name}: malformed problems list ({exc})") from None
        ev_cls = EVIDENCE_TYPES[name]
        body = {k: v for k, v in data.items() if k not in RESERVED_KEYS}
        return cls(name, from_jsonable(ev_cls, body, path=name), problems)


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
    """Rebuild a value of type ``tp`` from its JSON form (inverse of :func:`to_jsonable`)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return from_jsonable(arg, value, path)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError(f"{path}: {value!r} fits none of {tp} ({'; '.join(errors)})")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{path}: expected an object, got {type(value).__name__}")
        hints = _hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = from_jsonable(hints[f.name], value[f.name], f"{path}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{path}: missing field {f.name!r}")
        return tp(**kwargs)
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ValueError(f"{path}: expected a list, got {type(value).__name__}")
        item_tp = args[0] if args else Any
        items = [from_jsonable(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{path}: expected an object, got {type(value).__name__}")
        val_tp = args[1] if len(args) == 2 else Any
        return {k: from_jsonable(val_tp, v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise ValueError(f"{path}: {value!r} is not one of {[m.value for m in tp]}") from None
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ValueError(f"{path}: expected {tp.__name__}, got {value!r}")
        return value
    raise TypeError(f"{path}: unsupported type {tp!r}")  # pragma: no cover


__all__ = [
    "CheckResult",
    "EVIDENCE_TYPES",
    "Problem",
    "Status",
    "error",
    "evidence",
    "fail",
    "from_jsonable",
    "sensitive",
    "to_jsonable",
    "warn",
    "worst",
]
