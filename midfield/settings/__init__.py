"""Settings: one pydantic-settings class per part, read from ``MIDFIELD_*`` variables or ``.env``.

Every default is documented on its field; ``midfield settings`` prints the values in force.
The broker address is the standard ``KAFKA_BOOTSTRAP_SERVERS``. The parts live by concern:
:mod:`~midfield.settings.pipeline` (Kafka, topics, worker, connectors, sink, replay),
:mod:`~midfield.settings.office` (office, supervision, replies, hotline, duty) and
:mod:`~midfield.settings.access` (departments, access, privacy); :class:`Settings`, which holds
one of each, and every part are imported from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from pydantic_settings import BaseSettings

from midfield.settings.access import AccessSettings, DepartmentSettings, PrivacySettings
from midfield.settings.declaring import DECLARED, P, settings_config, settings_part
from midfield.settings.office import (
    DutySettings,
    HotlineSettings,
    OfficeSettings,
    RepliesSettings,
    SupervisionSettings,
)
from midfield.settings.pipeline import (
    GROUP_TIMINGS,
    ConnectorSettings,
    GroupTimings,
    KafkaSettings,
    ReplaySettings,
    SinkSettings,
    TopicSettings,
    WorkerSettings,
)

__all__ = [
    "GROUP_TIMINGS",
    "AccessSettings",
    "ConnectorSettings",
    "DepartmentSettings",
    "DutySettings",
    "GroupTimings",
    "HotlineSettings",
    "KafkaSettings",
    "OfficeSettings",
    "PrivacySettings",
    "ReplaySettings",
    "RepliesSettings",
    "Settings",
    "SinkSettings",
    "SupervisionSettings",
    "TopicSettings",
    "WorkerSettings",
    "settings_config",
    "settings_part",
]


class Settings:
    """All parts, read once at the entry point and passed down."""

    def __init__(
        self,
        *,
        kafka: KafkaSettings | None = None,
        topics: TopicSettings | None = None,
        office: OfficeSettings | None = None,
        worker: WorkerSettings | None = None,
        connect: ConnectorSettings | None = None,
        departments: DepartmentSettings | None = None,
        supervision: SupervisionSettings | None = None,
        sink: SinkSettings | None = None,
        replies: RepliesSettings | None = None,
        hotline: HotlineSettings | None = None,
        duty: DutySettings | None = None,
        replay: ReplaySettings | None = None,
        privacy: PrivacySettings | None = None,
        access: AccessSettings | None = None,
        parts: Iterable[BaseSettings] = (),
    ) -> None:
        self.kafka = kafka or KafkaSettings()
        self.topics = topics or TopicSettings()
        self.office = office or OfficeSettings()
        self.worker = worker or WorkerSettings()
        self.connect = connect or ConnectorSettings()
        self.departments = departments or DepartmentSettings()
        self.supervision = supervision or SupervisionSettings()
        self.sink = sink or SinkSettings()
        self.replies = replies or RepliesSettings()
        self.hotline = hotline or HotlineSettings()
        self.duty = duty or DutySettings()
        self.replay = replay or ReplaySettings()
        self.privacy = privacy or PrivacySettings()
        self.access = access or AccessSettings()
        self._parts: dict[type[BaseSettings], BaseSettings] = {
            type(part): part for part in (*vars(self).values(), *parts)
            if isinstance(part, BaseSettings)
        }  # fmt: skip
        for model in DECLARED:
            self.part(model)

    def part(self, model: type[P]) -> P:
        """The part ``model``: one of the above, or a source's own settings (declared next to
        the source with :func:`settings_part`, read with the others; another, on first use)."""
        if model not in self._parts:
            self._parts[model] = model()
        return cast(P, self._parts[model])

    def as_dict(self) -> dict[str, dict[str, object]]:
        """Every part read so far, by name (``MIDFIELD_TELEGRAM_`` is ``telegram``)."""
        return {_part_name(model): part.model_dump(mode="json")
                for model, part in self._parts.items()}  # fmt: skip


def _part_name(model: type[BaseSettings]) -> str:
    prefix = str(model.model_config.get("env_prefix", ""))
    return prefix.removeprefix("MIDFIELD_").removesuffix("_").lower()
