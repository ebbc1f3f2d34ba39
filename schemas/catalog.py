"""The topic catalog as data (DESIGN §3): one row per topic, created before anything runs.

Partitions and retention default to :class:`midfield.settings.TopicSettings`; a row may pin
its own. ``midfield topics create`` creates every row idempotently.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CATALOG", "DEADLETTER", "TopicSpec", "topic"]


class TopicSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^office\.[a-z]+(\.[a-z0-9<>-]+)*\.v\d+$")
    key: str = Field(description="What the Kafka key holds.")
    description: str
    event_types: tuple[str, ...] = ()
    partitions: int | None = Field(None, ge=1, description="None: the settings' default.")
    compacted: bool = False


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
    ),
    TopicSpec(
        name="office.intake.message.v1",
        key="message id",
        description="Public messages from the web board, WeChat and the hotline.",
    ),
    TopicSpec(
        name="office.intake.duty.v1",
        key="entry id",
        description="Calls and visits registered by the duty officer.",
    ),
    TopicSpec(
        name="office.hotline.workorder.v1",
        key="order number",
        description="Hotline work order lifecycle events.",
    ),
    TopicSpec(
        name="office.supervision.task.v1",
        key="task id",
        description="Supervised task lifecycle and progress events.",
    ),
    TopicSpec(
        name="office.alerts.v1",
        key="alert id",
        description="Alerts: overdue, veto risk, quarantine, connector failures.",
    ),
    TopicSpec(
        name="office.quarantine.v1",
        key="item id",
        description="Items withheld from the bus (classified content): metadata only.",
    ),
    TopicSpec(
        name="office.deadletter.v1",
        key="source",
        description="Records that could not become events, with the reason and the raw input.",
    ),
)

DEADLETTER = "office.deadletter.v1"


def topic(name: str) -> TopicSpec:
    for spec in CATALOG:
        if spec.name == name:
            return spec
    raise KeyError(name)
