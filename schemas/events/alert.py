"""Alerts (``office.alerts.v1``): something a person must look at — a security violation, an
overdue item, a withheld telegram, a failing connector."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from schemas.envelope import EventData, examples

__all__ = ["AlertAcknowledged", "AlertEvent", "AlertRaised", "AlertResolved", "Severity"]


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


class AlertEvent(EventData):
    """What every alert event carries: the alert it is about."""

    topic = "office.alerts.v1"

    alert_id: str = Field(min_length=1)


class AlertRaised(AlertEvent):
    """An alert opened. The envelope's subject is the alert id, so repeats of one alert (same
    id) stay one alert downstream."""

    model_config = examples(
        {
            "alert_id": "security/tasks/edu/DC-2025-017",
            "kind": "security",
            "severity": "critical",
            "about": "DC-2025-017",
            "message": "department edu tried progress on a task it is not part of",
            "reason": "not-a-task-department",
            "actor": "edu",
        }
    )

    type = "cn.gov.county.office.alert.raised.v1"

    alert_id: str = Field(min_length=1, examples=["security/tasks/edu/DC-2025-017"])
    kind: str = Field(examples=["security", "overdue", "quarantine", "connector"])
    severity: Severity = Severity.warning
    about: str = Field("", description="The entity concerned (task id, message id…).")
    message: str = Field(max_length=2000, examples=["department edu acted on a task of housing"])
    reason: str = Field("", examples=["forbidden-task"], description="Machine-readable cause.")
    actor: str = Field("", description="Who caused it, where known (department code, key id).")
    level: int = Field(
        0, ge=0, description="Escalation step; a raise at a higher level escalates the alert."
    )


class AlertAcknowledged(AlertEvent):
    """Someone has seen the alert and is on it (it stays open)."""

    model_config = examples({"alert_id": "unanswered/board-0042", "by": "值班员李华"})

    type = "cn.gov.county.office.alert.acknowledged.v1"

    by: str = Field("", max_length=64)


class AlertResolved(AlertEvent):
    """The condition behind the alert ended (the message was answered, the item closed)."""

    model_config = examples({"alert_id": "unanswered/board-0042", "reason": "replied"})

    type = "cn.gov.county.office.alert.resolved.v1"

    reason: str = Field("", examples=["replied"])
