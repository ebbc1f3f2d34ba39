"""The faust app: topics from the catalog, the books as tables, their processors and views.

:func:`create_app` builds everything from settings (no import-time globals), so tests, the
worker and the replay tools each get their own app. ``midfield worker`` runs it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT, TransportT

from midfield.admin import client_config
from midfield.errors import ParseError
from midfield.logging import get_logger
from midfield.settings import Settings
from schemas.catalog import DEADLETTER, topic
from schemas.deadletter import DeadLetter
from schemas.envelope import DecodeError, Envelope
from schemas.events.fax import FaxReceived
from streams import duty_log
from streams.health import BrokerWatch
from streams.sensor import MetricsSensor
from streams.transport import Transport
from streams.web import register_views

__all__ = ["MidfieldApp", "create_app", "decode_or_dead_letter"]

log = get_logger(__name__)


class MidfieldApp(faust.App):
    """faust.App on Midfield's transport (true high watermarks, see streams/transport.py)."""

    settings: Settings
    broker_watch: BrokerWatch
    duty_log: Any  # faust.Table; typed loosely because faust's generics are untyped

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)


# Books are plain JSON keyed by entity id: readable by any tool that dumps a changelog.
_BOOK_SCHEMA: faust.Schema[str, Any] = faust.Schema(
    key_type=str, value_type=None, key_serializer="raw", value_serializer="json"
)


def _faust_config(settings: Settings) -> dict[str, Any]:
    worker, kafka = settings.worker, settings.kafka
    config: dict[str, Any] = {
        "broker": [f"kafka://{server}" for server in kafka.bootstrap_list],
        "store": worker.store,
        "datadir": str(worker.data_dir),
        "web_bind": worker.web_host,
        "web_host": worker.web_host,
        "web_port": worker.web_port,
        "topic_partitions": settings.topics.partitions,
        "topic_replication_factor": settings.topics.replication_factor,
        "broker_commit_interval": worker.commit_interval_s,
        "producer_linger": worker.producer_linger_s,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "table_standby_replicas": 0,
    }
    if kafka.profile == "embedded":
        # Tansu answers JoinGroup after session_timeout / 2: 30 s on defaults, ~1 s here.
        # Apache Kafka refuses sessions under group.min.session.timeout.ms (6 s by default).
        config |= {
            "broker_session_timeout": 2.0,
            "broker_heartbeat_interval": 0.5,
            "broker_rebalance_timeout": 4.0,
        }
    return config


def create_app(settings: Settings) -> MidfieldApp:
    app = MidfieldApp(settings.worker.app_id, **_faust_config(settings))
    app.settings = settings
    deadletters = app.topic(
        DEADLETTER, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    app.duty_log = app.Table("duty_log", default=None, schema=_BOOK_SCHEMA)
    fax = app.topic(
        topic(FaxReceived.topic).name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    @app.agent(fax, name="duty_log_fax")
    async def duty_log_fax(stream: Any) -> None:
        async for event in stream.events():
            envelope = await decode_or_dead_letter(event, deadletters, app.conf.id)
            if envelope is None:
                continue
            book = duty_log.apply(app.duty_log.get(envelope.subject), envelope)
            if book is not None:
                app.duty_log[envelope.subject] = book

    app.sensors.add(MetricsSensor())
    _measure_every(app, settings.worker.lag_interval_s, [fax.get_topic_name()])
    register_views(app)
    return app


def _measure_every(app: MidfieldApp, interval_s: float, topics: list[str]) -> None:
    """Lag and table sizes for /metrics, and the broker check /ready uses."""
    kafka = app.settings.kafka
    app.broker_watch = BrokerWatch(
        client_config(kafka), app.conf.id, topics,
        deadline_s=max(2 * kafka.request_timeout_ms / 1000, interval_s),
        tables=lambda: {"duty_log": len(app.duty_log)},
    )  # fmt: skip

    @app.timer(interval=interval_s)  # type: ignore[untyped-decorator]
    async def measure() -> None:
        await app.broker_watch.tick()


async def decode_or_dead_letter(
    event: EventT[Any], deadletters: Any, app_id: str
) -> Envelope | None:
    """The event's envelope; a record that is no valid event goes to the dead-letter topic."""
    headers: Any = event.headers or []
    pairs: list[tuple[str, bytes]] = (
        list(headers.items()) if isinstance(headers, dict) else list(headers)
    )
    try:
        return Envelope.from_record(pairs, event.value)
    except (DecodeError, ParseError) as exc:
        message = event.message
        position = f"{message.topic}/{message.partition}@{message.offset}"
        letter = DeadLetter.of(
            event.value if isinstance(event.value, bytes) else str(event.value).encode(),
            reason=exc.reason,
            error=str(exc),
            source=f"midfield://worker/{app_id}",
            position=position,
            connector="worker",
            first_seen=datetime.now(UTC),
            meta={k: v.decode("utf-8", "replace") for k, v in pairs},
        )
        log.warning("undecodable record dead-lettered", reason=exc.reason, position=position)
        await deadletters.send(key=letter.key(), value=letter.value(), headers=letter.headers())
        return None
