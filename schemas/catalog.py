"""The topic catalog as data (DESIGN §3): one row per topic, created before anything runs.

Partitions and retention default to :class:`midfield.settings.TopicSettings`; a row may pin
its own. ``midfield topics create`` creates every row idempotently.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

import schemas.events  # noqa: F401  (registers the event types the rows name)
from schemas.envelope import event_types

__all__ = ["CATALOG", "DEADLETTER", "TopicSpec", "concrete", "outbox", "topic"]


class TopicSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^office\.[a-z]+(\.[a-z0-9<>-]+)*\.v\d+$")
    key: str = Field(description="What the Kafka key holds.")
    description: str
    event_types: tuple[str, ...] = ()
    partitions: int | None = Field(None, ge=1, description="None: the settings' default.")
    compacted: bool = False
    per_department: bool = Field(
        False, description="A template: one topic per department, <department> in the name."
    )

    def for_department(self, code: str) -> TopicSpec:
        return self.model_copy(
            update={"name": self.name.replace("<department>", code), "per_department": False}
        )


CATALOG: tuple[TopicSpec, ...] = (
    TopicSpec(
        name="office.intake.fax.v1",
        key="commid or message id",
        description="Faxes received (HylaFAX log, T.37 mail).",
        event_types=("cn.gov.county.office.fax.received.v1",),
    ),
    TopicSpec(
        name="office.intake.telegram.v1",
        key="telegram number",
        description="Clear-text telegrams registered.",
        event_types=("cn.gov.county.office.telegram.received.v1",),
    ),
    TopicSpec(
        name="office.intake.message.v1",
        key="message id",
        description="Public messages from the web board, WeChat and the hotline.",
        event_types=(
            "cn.gov.county.office.message.received.v1",
            "cn.gov.county.office.message.replied.v1",
        ),
    ),
    TopicSpec(
        name="office.intake.duty.v1",
        key="entry id",
        description="Calls and visits registered by the duty officer; emergency reports.",
        event_types=(
            "cn.gov.county.office.duty.entry.recorded.v1",
            "cn.gov.county.office.duty.emergency.reported.v1",
            "cn.gov.county.office.duty.emergency.closed.v1",
            "cn.gov.county.office.duty.item.handled.v1",
            "cn.gov.county.office.duty.document.registered.v1",
        ),
    ),
    TopicSpec(
        name="office.hotline.workorder.v1",
        key="order number",
        description="Hotline work order lifecycle events.",
        event_types=("cn.gov.county.office.hotline.workorder.step.v1",),
    ),
    TopicSpec(
        name="office.supervision.task.v1",
        key="task id",
        description="Supervised task lifecycle and progress events.",
        event_types=tuple(
            t
            for t in event_types()
            if t.startswith("cn.gov.county.office.supervision.task.")
            and not t.endswith("notice.v1")
        ),
    ),
    TopicSpec(
        name="office.outbox.<department>.v1",
        key="subject",
        description=(
            "Work delivered to one department's system (reminders, assignments); the "
            "department sink posts each record to the department's signed webhook."
        ),
        event_types=("cn.gov.county.office.supervision.task.notice.v1",),
        per_department=True,
    ),
    TopicSpec(
        name="office.duty.report.v1",
        key="date/shift",
        description="Duty reports (值班报告): one per shift and per day, in figures.",
        event_types=("cn.gov.county.office.duty.report.v1",),
    ),
    TopicSpec(
        name="office.alerts.v1",
        key="alert id",
        description="Alerts: overdue, veto risk, quarantine, connector failures.",
        event_types=(
            "cn.gov.county.office.alert.raised.v1",
            "cn.gov.county.office.alert.acknowledged.v1",
            "cn.gov.county.office.alert.resolved.v1",
        ),
    ),
    TopicSpec(
        name="office.quarantine.v1",
        key="item id",
        description="Items withheld from the bus (classified content): metadata only.",
        event_types=("cn.gov.county.office.quarantine.withheld.v1",),
    ),
    TopicSpec(
        name="office.audit.v1",
        key="<day>/<principal>",
        description=(
            "The audit trail: every sign-in, read of a book, write and denial on any HTTP "
            "port — who, what, when, from where, outcome; never content."
        ),
        event_types=("cn.gov.county.office.audit.recorded.v1",),
    ),
    TopicSpec(
        name="office.deadletter.v1",
        key="source",
        description="Records that could not become events, with the reason and the raw input.",
    ),
)

DEADLETTER = "office.deadletter.v1"


def concrete(departments: Iterable[str] = ()) -> tuple[TopicSpec, ...]:
    """The catalog with each per-department template made into one topic per department."""
    specs: list[TopicSpec] = []
    for spec in CATALOG:
        if spec.per_department:
            specs.extend(spec.for_department(code) for code in departments)
        else:
            specs.append(spec)
    return tuple(specs)


def outbox(department: str) -> str:
    """The outbox topic of ``department``."""
    return topic("office.outbox.<department>.v1").for_department(department).name


def topic(name: str) -> TopicSpec:
    for spec in CATALOG:
        if spec.name == name:
            return spec
    raise KeyError(name)
