"""The audit trail (``office.audit.v1``): who did what, when, from where, with what outcome.

One record per request to any HTTP port but ``/health`` and ``/ready`` — every sign-in and failed
sign-in, every read of a book, every write through an intake or API, every denial — and never
its content: no body, no query value, no key. The subject is ``<day>/<principal>`` (the day in
the office's zone), so one principal's day is one book of counts (streams/audit.py).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from schemas.envelope import AwareDatetime, EventData, examples

__all__ = ["Action", "AuditRecorded", "Outcome"]


class Action(StrEnum):
    read = "read"
    write = "write"
    sign_in = "sign-in"
    sign_out = "sign-out"


class Outcome(StrEnum):
    allowed = "allowed"
    denied = "denied"
    """Authenticated, but the role does not allow it (403)."""
    unauthenticated = "unauthenticated"
    """No credential, or one that names nobody (401), or a failed sign-in."""
    refused = "refused"
    """Authenticated and allowed, but the request was refused (4xx other than 401/403)."""
    failed = "failed"
    """The service could not answer (5xx, e.g. the broker is down)."""

    @classmethod
    def of(cls, status: int) -> Outcome:
        """The outcome an HTTP status means (429, too many failed credentials, counts as
        unauthenticated)."""
        if status in (401, 429):
            return cls.unauthenticated
        if status == 403:
            return cls.denied
        if status >= 500:
            return cls.failed
        return cls.refused if status >= 400 else cls.allowed


class AuditRecorded(EventData):
    """One request to a Midfield HTTP port, without its content."""

    model_config = examples(
        {
            "principal": "person:lihua",
            "roles": ["duty-officer"],
            "service": "worker",
            "action": "read",
            "method": "GET",
            "route": "/ledger/{task_id}",
            "target": "DC-2025-017",
            "outcome": "allowed",
            "status": 200,
            "remote": "10.2.3.4",
            "at": "2025-06-01T09:00:00+08:00",
        }
    )

    type = "cn.gov.county.office.audit.recorded.v1"
    topic = "office.audit.v1"

    principal: str = Field(
        min_length=1,
        max_length=80,
        description="person:<login>, department:<code>, system:<name>, office or anonymous.",
    )
    roles: tuple[str, ...] = ()
    service: str = Field(max_length=40, examples=["worker", "tasks", "board"])
    action: Action
    method: str = Field(max_length=10)
    route: str = Field(max_length=200, description="The route's pattern, not the raw path.")
    target: str = Field(
        "", max_length=200, description="The entity named in the path (a task id), if any."
    )
    outcome: Outcome
    status: int = Field(ge=100, le=599)
    reason: str = Field("", max_length=80, description="Machine-readable cause of a refusal.")
    remote: str = Field("", max_length=64, description="The caller's address.")
    at: AwareDatetime
