"""``diagnose fix --apply``: send a plan's requests, each after reading back whether what it creates
already exists, and log every step to an audit log (JSON Lines: the request without credentials,
the HTTP status, the key of what was created, the outcome).

A re-run creates nothing twice: a step already logged as done against the same API and keys is not
sent again (resume after a partial failure), and a step whose object already exists in PartnerStack
is logged as ``exists`` instead of sent. A customer PartnerStack already has under another partner is
a failure (nothing is changed). When creating a customer fails, or the customer was already there
before this plan, its sale is not sent (it would fail, or may be tracked already); the other
customers go on. Refused keys stop the run at once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose.core.errors import BadInput, DiagnoseError
from diagnose.core.evidence import shorten
from diagnose.core.reading import clean_text
from diagnose.pipeline.fix_plan import CREATE_CUSTOMER, RECORD_SALE, Plan, Step

CREATED, EXISTS, DONE_BEFORE, FAILED, NOT_SENT = "created", "exists", "done-before", "failed", "not-sent"
AUDIT_LIMIT = 256 * 1024 * 1024


@dataclass(frozen=True)
class StepResult:
    step: Step
    outcome: str  # created | exists | done-before | failed | not-sent
    status: int | None = None  # the HTTP status of the request sent
    response_key: str | None = None  # PartnerStack's key of what was created or found
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.step.action, "key": self.step.key, "outcome": self.outcome, "status": self.status,
                "response_key": self.response_key, "message": self.message}


def api_identity(api: Any) -> str:
    """Which program an audit-log entry was sent to: the base URL and the public key's first characters."""
    hint = getattr(getattr(api, "credentials", None), "public_hint", "")
    return f"{getattr(api, 'base_url', '')} {hint}".strip()


def done_before(audit_path: Path, identity: str) -> set[tuple[str, str]]:
    """The (action, key) pairs an earlier run against the same API and keys logged as created or
    found existing (another program's log entries prove nothing here)."""
    if not audit_path.exists():
        return set()
    if not audit_path.is_file():
        raise BadInput(f"--audit-log {audit_path}: not a regular file")
    if audit_path.stat().st_size > AUDIT_LIMIT:
        raise BadInput(f"--audit-log {audit_path}: over {AUDIT_LIMIT // 2**20} MB; start a new log")
    done: set[tuple[str, str]] = set()
    with open(audit_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: that step is read back again
            if isinstance(entry, dict) and entry.get("outcome") in (CREATED, EXISTS, DONE_BEFORE) \
                    and entry.get("api") == identity:
                done.add((str(entry.get("action")), str(entry.get("key"))))
    return done


def _existing(api: Any, step: Step) -> dict[str, Any] | None:
    """What the step would create, if PartnerStack already has it."""
    if step.action == CREATE_CUSTOMER:
        return api.customer(step.key)
    if step.action == RECORD_SALE:
        external = step.body.get("customer_external_key")
        for transaction in api.transactions(customer_external_key=external):
            if transaction.get("key") == step.key:
                return transaction
        return None
    raise ValueError(f"unknown plan action {step.action!r}")  # pragma: no cover - plans are built here


def _send(api: Any, step: Step) -> dict[str, Any]:
    if step.action == CREATE_CUSTOMER:
        return api.create_customer(**step.body)
    return api.create_transaction(**step.body)


def apply_plan(plan: Plan, api: Any, audit_path: str | Path,
               on_step: Callable[[StepResult], None] | None = None) -> list[StepResult]:
    """Carry out ``plan`` with ``api`` (a PartnerStackClient), logging each step to ``audit_path``."""
    audit = Path(audit_path)
    earlier = done_before(audit, api_identity(api))
    failed_customers: set[str] = set()  # customers whose sale is not to be sent: failed, or there before
    results: list[StepResult] = []
    try:
        log = open(audit, "a", encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"--audit-log {audit}: cannot write ({exc.strerror or exc})") from None
    with log:
        refused = None
        for step in plan.steps:
            result = StepResult(step, NOT_SENT, message=f"stopped: {refused}") if refused else \
                _one(api, step, earlier, failed_customers)
            if result.outcome in (FAILED, EXISTS) and step.action == CREATE_CUSTOMER:
                failed_customers.add(step.key)
            if result.outcome == FAILED and result.status in (401, 403):
                refused = "PartnerStack refused the API keys"
            log.write(json.dumps(_entry(api, result), ensure_ascii=False) + "\n")
            log.flush()
            results.append(result)
            if on_step is not None:
                on_step(result)
    return results


def _one(api: Any, step: Step, earlier: set[tuple[str, str]], failed_customers: set[str]) -> StepResult:
    if (step.action, step.key) in earlier:
        return StepResult(step, DONE_BEFORE, message="logged as done by an earlier run")
    held = step.action == RECORD_SALE and step.body.get("customer_external_key") in failed_customers
    try:
        found = _existing(api, step)
        if found is not None:
            owner = found.get("partner_key") if step.action == CREATE_CUSTOMER else None
            if step.action == CREATE_CUSTOMER and owner != step.partner_key:
                return StepResult(step, FAILED, response_key=_key(found),
                                  message=f"PartnerStack already has this customer, credited to "
                                          f"{shorten(owner, 40) if owner else 'no partner'}: nothing changed "
                                          "(change the attribution by hand if it should be this partner's)")
            return StepResult(step, EXISTS, response_key=_key(found), message="already in PartnerStack")
        if held:
            return StepResult(step, NOT_SENT, message="not sent: the customer was not created by this plan (failed, "
                                                      "or already in PartnerStack, whose sales may be tracked already)")
        created = _send(api, step)
    except DiagnoseError as exc:
        return StepResult(step, FAILED, getattr(exc, "status", None), message=clean_text(str(exc))[:500])
    return StepResult(step, CREATED, 200, _key(created))


def _key(obj: Any) -> str | None:
    return shorten(obj.get("key"), 80).strip("'") if isinstance(obj, dict) and obj.get("key") else None


def _entry(api: Any, result: StepResult) -> dict[str, Any]:
    """One audit-log line: the request as sent (no credentials: those live in the client's session)."""
    step = result.step
    base = getattr(api, "base_url", "")
    return {"time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "api": api_identity(api),
            "action": step.action,
            "method": step.method, "url": f"{base.rstrip('/')}/{step.path}" if base else step.path,
            "key": step.key, "body": step.body, **result.to_dict()}
