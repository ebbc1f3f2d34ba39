"""The topic catalog as data (DESIGN §3): one row per topic, created before anything runs.

A row's event types are not listed here: each event model names its topic (``topic`` on
:class:`~schemas.envelope.EventData`), and the row takes every registered event that names it.

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


def _row(name: str, *, key: str, description: str, per_department: bool = False) -> TopicSpec:
    """A catalog row. Its event types are the registered events whose model names this topic
    (``EventData.topic``): an event says once where it goes, and the row follows."""
    types = tuple(t for t, model in event_types().items() if model.topic == name)
    return TopicSpec(
        name=name,
        key=key,
        description=description,
        event_types=types,
        per_department=per_department,
    )


CATALOG: tuple[TopicSpec, ...] = (
    _row(
        "office.intake.fax.v1",
        key="commid or message id",
        description="Faxes received (HylaFAX log, T.37 mail).",
    ),
    _row(
        "office.intake.telegram.v1",
        key="telegram number",
        description="Clear-text telegrams registered.",
    ),
    _row(
        "office.intake.message.v1",
        key="message id",
        description="Public messages from the web board, WeChat and the hotline.",
    ),
    _row(
        "office.intake.duty.v1",
        key="entry id",
        description="Calls and visits registered by the duty officer; emergency reports.",
    ),
    _row(
        "office.hotline.workorder.v1",
        key="order number",
        description="Hotline work order lifecycle events.",
    ),
    _row(
        "office.supervision.task.v1",
        key="task id",
        description="Supervised task lifecycle and progress events.",
    ),
    _row(
        "office.info.report.v1",
        key="report id",
        description="Information reports (信息): candidate, draft, submission, adoption, 批示.",
    ),
    _row(
        "office.outbox.<department>.v1",
        key="subject",
        description=(
            "Work delivered to one department's system (reminders, assignments); the "
            "department sink posts each record to the department's signed webhook."
        ),
        per_department=True,
    ),
    _row(
        "office.duty.report.v1",
        key="date/shift",
        description="Duty reports (值班报告): one per shift and per day, in figures.",
    ),
    _row(
        "office.alerts.v1",
        key="alert id",
        description="Alerts: overdue, veto risk, quarantine, connector failures.",
    ),
    _row(
        "office.quarantine.v1",
        key="item id",
        description="Items withheld from the bus (classified content): metadata only.",
    ),
    _row(
        "office.audit.v1",
        key="<day>/<principal>",
        description=(
            "The audit trail: every sign-in, read of a book, write and denial on any HTTP "
            "port — who, what, when, from where, outcome; never content."
        ),
    ),
    _row(
        "office.deadletter.v1",
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
