"""The event envelope: CloudEvents 1.0 in the Kafka protocol binding, binary mode.

Attributes travel in ``ce_*`` headers, the record value is the JSON of ``data`` and the record
key is ``subject``, so any CloudEvents SDK reads Midfield's topics.
(https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md)
Extension attribute names are lowercase alphanumerics, as the spec requires.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from schemas.errors import DecodeError, detail

__all__ = [
    "CONTENT_TYPE",
    "Classification",
    "DecodeError",
    "Envelope",
    "EventData",
    "Header",
    "Identifier",
    "event_id",
    "event_types",
    "examples",
]

# A fixed namespace makes ids reproducible on every machine, forever.
_ID_NAMESPACE = uuid.UUID("6b1d5a0e-3c2f-5d8e-9a41-0f7c2b6d9e15")
_NAMESPACE_BYTES = _ID_NAMESPACE.bytes
CONTENT_TYPE = "application/json"
Header = tuple[str, bytes]


def event_id(source: str, position: str) -> str:
    """The deterministic id of the input at ``position`` of ``source``.

    Exactly ``uuid.uuid5(namespace, f"{source}\\n{position}")`` (RFC 9562 §5.5), computed
    without building a UUID object: this runs once per input record.
    """
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{source}\n{position}".encode()).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _aware(value: datetime) -> datetime:
    """Timezone-aware, with an offset RFC 3339 can write (whole minutes). A zone's local mean
    time before standard time has seconds in its offset (Asia/Shanghai in 1900: +08:05:43), which
    CloudEvents' ``time`` cannot carry and nothing reads back: such a time is kept in UTC, the
    same instant."""
    offset = value.utcoffset() if value.tzinfo is not None else None
    if offset is None:
        raise ValueError("time must be timezone-aware")
    if offset.seconds % 60 or offset.microseconds:
        return value.astimezone(UTC)
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Classification(StrEnum):
    """密级. Only ``none`` is ever produced to the bus (see the telegram guard)."""

    none = "none"
    confidential = "秘密"
    secret = "机密"
    top_secret = "绝密"


class EventData(BaseModel):
    """Base of every event payload: one subclass per CloudEvents ``type``. A subclass that names
    its ``type`` is decodable from the wire by it (:meth:`Envelope.from_record`); one that does
    not (a base such as ``TaskEvent``) holds what its subclasses share."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ClassVar[str]
    topic: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "type" in vars(cls):
            _register(cls)


_REGISTRY: dict[str, type[EventData]] = {}


Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s/]+$")]
"""The id an event gives its entity (an entry, a report, an item, a document, a task): it stands
in the event's position and in URL paths (``/duty/items/{item_id}/sign``), so it holds no white
space or slash."""


def examples(*payloads: dict[str, Any]) -> ConfigDict:
    """An event model's configuration with the examples its JSON Schema and the AsyncAPI
    document show (tests/unit/test_schema_export.py validates each against the model)."""
    return ConfigDict(json_schema_extra={"examples": list(payloads)})


def _register(cls: type[EventData]) -> None:
    if cls.type in _REGISTRY and _REGISTRY[cls.type] is not cls:
        raise ValueError(f"event type {cls.type} registered twice")
    _REGISTRY[cls.type] = cls


def event_types() -> Mapping[str, type[EventData]]:
    return dict(_REGISTRY)


class Envelope(BaseModel):
    """One event with its provenance. ``id`` is the idempotency key everywhere downstream."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: ClassVar[str] = "1.0"

    id: str = Field(min_length=1)
    source: str = Field(min_length=1, examples=["midfield://fax-log/hylafax-main"])
    type: str = Field(min_length=1, examples=["cn.gov.county.office.fax.received.v1"])
    subject: str = Field(min_length=1, description="The entity; also the Kafka key.")
    time: AwareDatetime
    ingested_at: AwareDatetime
    connector_version: str = "0"
    trace_id: str | None = None
    classification: Classification = Classification.none
    data: EventData

    @classmethod
    def wrap(
        cls,
        data: EventData,
        *,
        source: str,
        position: str,
        subject: str,
        time: datetime,
        ingested_at: datetime | None = None,
        connector_version: str = "0",
    ) -> Envelope:
        """Build the envelope of ``data`` read at ``position`` of ``source``."""
        return cls(
            id=event_id(source, position),
            source=source,
            type=data.type,
            subject=subject,
            time=time,
            ingested_at=ingested_at or datetime.now(UTC),
            connector_version=connector_version,
            data=data,
        )

    @property
    def topic(self) -> str:
        return self.data.topic

    def headers(self) -> list[Header]:
        """CloudEvents binary-mode headers (built directly: this runs once per record)."""
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("ce_subject", self.subject.encode()),
            ("ce_ingestedat", self.ingested_at.isoformat().encode()),
            ("ce_connectorversion", self.connector_version.encode()),
            ("ce_classification", self.classification.value.encode()),
            ("content-type", b"application/json"),
        ]
        if self.trace_id:
            headers.append(("ce_traceid", self.trace_id.encode()))
        return headers

    def key(self) -> bytes:
        return self.subject.encode()

    def value(self) -> bytes:
        return self.data.model_dump_json().encode()

    @classmethod
    def from_record(
        cls, headers: Iterable[tuple[str, bytes | None]] | None, value: bytes
    ) -> Envelope:
        """Decode a record written by :meth:`headers`/:meth:`value`; ``DecodeError`` if unfit.
        A header with a null value (Kafka allows them) counts as absent."""
        attrs = {k: v.decode("utf-8", "replace") for k, v in headers or () if v is not None}
        if attrs.get("ce_specversion") != cls.specversion:
            raise DecodeError("not-cloudevent", f"ce_specversion={attrs.get('ce_specversion')!r}")
        data_cls = _REGISTRY.get(attrs.get("ce_type", ""))
        if data_cls is None:
            raise DecodeError("unknown-type", f"ce_type={attrs.get('ce_type')!r}")
        try:
            fields: dict[str, Any] = {
                "id": attrs.get("ce_id"),
                "source": attrs.get("ce_source"),
                "type": attrs.get("ce_type"),
                "subject": attrs.get("ce_subject"),
                "time": attrs.get("ce_time"),
                "ingested_at": attrs.get("ce_ingestedat"),
                "connector_version": attrs.get("ce_connectorversion", "0"),
                "trace_id": attrs.get("ce_traceid"),
                "classification": attrs.get("ce_classification", "none"),
                "data": data_cls.model_validate_json(value),
            }
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise DecodeError("invalid-event", detail(exc, more=True)) from exc
