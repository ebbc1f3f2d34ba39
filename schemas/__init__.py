"""Midfield's wire contract: the envelope, every event type, the topic catalog."""

from schemas import events
from schemas.catalog import CATALOG, DEADLETTER, TopicSpec
from schemas.envelope import Classification, DecodeError, Envelope, EventData, event_id

__all__ = [
    "CATALOG",
    "DEADLETTER",
    "Classification",
    "DecodeError",
    "Envelope",
    "EventData",
    "TopicSpec",
    "event_id",
    "events",
]
