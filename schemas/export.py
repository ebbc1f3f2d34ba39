"""What the departments integrate against: JSON Schema per event type, AsyncAPI 3.0 for the bus.

The AsyncAPI document describes every catalog topic as a channel (address = topic name), each
event type as a message with its CloudEvents binary-mode headers, its payload schema, its Kafka
key and the model's examples, and one ``receive`` operation per channel (departments consume).
pydantic's ``$defs`` are moved to ``components.schemas`` so every ``$ref`` resolves in the one
document. (https://www.asyncapi.com/docs/reference/specification/v3.0.0)
"""

from __future__ import annotations

import json
import re
from typing import Any

from schemas.catalog import CATALOG, DEADLETTER, TopicSpec
from schemas.deadletter import DeadLetter
from schemas.envelope import EventData, event_types
from schemas.telegram_sheet import TelegramCoverSheet

__all__ = ["asyncapi", "json_schemas"]

_ID_BASE = "https://midfield.example.gov.cn/schemas/"
_DEAD_LETTER_TYPE = "cn.gov.county.office.deadletter.v1"
_COVER_SHEET = "cn.gov.county.office.telegram.cover-sheet.v1"


def json_schemas() -> dict[str, dict[str, Any]]:
    """Draft 2020-12 JSON Schema of each event payload (and of a dead letter), by type."""
    found = {
        name: _standalone(name, cls.model_json_schema()) for name, cls in event_types().items()
    }
    found[_DEAD_LETTER_TYPE] = _standalone(_DEAD_LETTER_TYPE, DeadLetter.model_json_schema())
    # an input format, not an event: what the systems writing the telegram drop directory send
    found[_COVER_SHEET] = _standalone(_COVER_SHEET, TelegramCoverSheet.model_json_schema())
    return dict(sorted(found.items()))


def _standalone(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{_ID_BASE}{name}.json",
        **schema,
    }


def _channel_id(topic: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+(.)", lambda m: m.group(1).upper(), topic)


def _headers(ce_type: str) -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "required": [
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_time",
            "ce_subject",
            "content-type",
        ],
        "properties": {
            "ce_specversion": {"type": "string", "const": "1.0"},
            "ce_id": {**text, "description": "Deterministic id: the idempotency key."},
            "ce_source": {**text, "examples": ["midfield://fax-log/hylafax-main"]},
            "ce_type": {"type": "string", "const": ce_type},
            "ce_time": {**text, "format": "date-time"},
            "ce_subject": {**text, "description": "The entity; also the Kafka key."},
            "ce_ingestedat": {**text, "format": "date-time"},
            "ce_connectorversion": text,
            "ce_classification": {"type": "string", "const": "none"},
            "ce_traceid": text,
            "content-type": {"type": "string", "const": "application/json"},
        },
    }


def _message(
    name: str,
    payload: dict[str, Any],
    headers: dict[str, Any],
    summary: str,
    examples: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "name": name,
        "title": name,
        "summary": summary,
        "contentType": "application/json",
        "headers": headers,
        "payload": payload,
        "bindings": {"kafka": {"key": {"type": "string"}, "bindingVersion": "0.5.0"}},
        "examples": [{"payload": example} for example in examples],
    }


def _lift_defs(schema: dict[str, Any], into: dict[str, Any]) -> dict[str, Any]:
    """Move ``$defs`` into ``components.schemas`` and point every ``$ref`` there."""
    schema = dict(schema)
    into.update(schema.pop("$defs", {}))
    text = json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/')
    lifted: dict[str, Any] = json.loads(text)
    return lifted


def _event_message(cls: type[EventData], defs: dict[str, Any]) -> dict[str, Any]:
    schema = _lift_defs(cls.model_json_schema(), defs)
    examples = schema.get("examples", [])
    summary = (cls.__doc__ or cls.type).strip().splitlines()[0]
    return _message(cls.type, schema, _headers(cls.type), summary, examples)


def _dead_letter_message(defs: dict[str, Any]) -> dict[str, Any]:
    schema = _lift_defs(DeadLetter.model_json_schema(), defs)
    headers = {
        "type": "object",
        "properties": {
            name: {"type": "string"}
            for name in (
                "dlq.id",
                "dlq.reason",
                "dlq.error",
                "dlq.source",
                "dlq.position",
                "dlq.connector",
                "dlq.attempts",
                "dlq.first_seen",
            )
        },
    }
    return _message(
        _DEAD_LETTER_TYPE,
        schema,
        headers,
        "Input that could not become an event, kept whole with the reason.",
        [],
    )


def asyncapi(version: str = "0") -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of the topic catalog."""
    defs: dict[str, Any] = {}
    messages = {name: _event_message(cls, defs) for name, cls in sorted(event_types().items())}
    messages[_DEAD_LETTER_TYPE] = _dead_letter_message(defs)
    channels, operations = {}, {}
    for spec in CATALOG:
        channel_id = _channel_id(spec.name)
        channels[channel_id] = _channel(spec, messages)
        operations[f"receive{channel_id[0].upper()}{channel_id[1:]}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Consume {spec.name}.",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Midfield event bus",
            "version": version,
            "description": "The county government general office's event bus: CloudEvents 1.0 "
            "in the Kafka binding, binary mode (attributes in ce_* headers, the value is the "
            "JSON of data, the key is the subject).",
        },
        "defaultContentType": "application/json",
        "servers": {
            "production": {
                "host": "kafka-1:9092",
                "protocol": "kafka",
                "description": "The office's Apache Kafka cluster.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(defs.items()))},
    }


def _channel(spec: TopicSpec, messages: dict[str, Any]) -> dict[str, Any]:
    names = [*spec.event_types, *([_DEAD_LETTER_TYPE] if spec.name == DEADLETTER else [])]
    channel: dict[str, Any] = {}
    if spec.per_department:  # an AsyncAPI address parameter, one topic per department
        channel["parameters"] = {
            "department": {"description": "A department code from the departments file."}
        }
    return channel | {
        "address": spec.name.replace("<department>", "{department}"),
        "description": f"{spec.description} Key: {spec.key}.",
        "messages": {
            _channel_id(n): {"$ref": f"#/components/messages/{n}"} for n in names if n in messages
        },
    }
