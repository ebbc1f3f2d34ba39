"""The faust app: topics from the catalog, the books as tables, their processors and views.

:func:`create_app` builds everything from settings (no import-time globals), so tests, the
worker and the replay tools each get their own app. ``midfield worker`` runs it.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter
from typing import Any

import faust
from faust.types import TransportT
from faust.types.auth import CredentialsT

from midfield import metrics
from midfield.admin import client_config
from midfield.clock import Clock, utc_now
from midfield.departments import Directory, load_directory
from midfield.errors import ConfigError
from midfield.logging import get_logger
from midfield.settings import KafkaSettings, Settings
from schemas.catalog import DEADLETTER, topic
from schemas.events.alert import AlertRaised, Severity
from schemas.events.audit import AuditRecorded
from streams import heap
from streams.access import Gate, check_policies
from streams.agents import Effects
from streams.duty import add_duty
from streams.emit import raw_topic
from streams.health import BrokerWatch
from streams.hotline import add_work_orders
from streams.messages import add_messages
from streams.process import PROCESSED
from streams.replay.offsets import read_offsets
from streams.replay.shadow import try_code
from streams.reporting import add_duty_reports
from streams.sensor import MetricsSensor
from streams.supervision import add_supervision
from streams.table import Table, book_chunks
from streams.transport import Transport
from streams.waiting_letters import apply as letter_book
from streams.waiting_letters import parse as parse_letter
from streams.web import register_views

__all__ = ["PROCESSED", "MidfieldApp", "broker_credentials", "create_app"]

log = get_logger(__name__)


class MidfieldApp(faust.App):
    """faust.App on Midfield's transport (true high watermarks, see streams/transport.py)."""

    settings: Settings
    broker_watch: BrokerWatch
    clock: Clock
    """Now, for lights, reminders and default dates; tests in the same process may replace it."""
    duty_log: Any  # faust.Tables; typed loosely because faust's generics are untyped
    ledger: Any
    alerts: Any
    messages: Any
    work_orders: Any
    emergencies: Any
    items: Any
    audit: Any
    dead_letters: Any
    """Dead letters by id, their latest state (streams/waiting_letters.py); none in a replay."""
    audit_topic: Any
    """Where the access middleware records each request (streams/access.py)."""
    directory: Directory
    gate: Gate
    """Who may call which route, and the audit record of each call (streams/access.py)."""
    replay_stops: dict[tuple[str, int], int]
    """Records at or after these offsets are read, not applied (``replay as-of``); empty live."""

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)


# Books are plain JSON keyed by entity id: readable by any tool that dumps a changelog.
_BOOK_SCHEMA: faust.Schema[str, Any] = faust.Schema(
    key_type=str, value_type=None, key_serializer="raw", value_serializer="json"
)


def broker_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """TLS and SASL for faust's aiokafka clients, from the settings the kafka-python clients
    use too (:func:`midfield.admin.client_config`); ``None`` for PLAINTEXT."""
    context = _ssl_context(kafka) if kafka.uses_tls else None
    if kafka.security_protocol.startswith("SASL_"):
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value(),
            mechanism=kafka.sasl_mechanism,
            ssl_context=context,  # given: SASL_SSL; None: SASL_PLAINTEXT
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def _ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    """Verify the brokers against ``ssl_cafile`` (the system's CAs when unset); present a client
    certificate when one is configured."""
    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None
        )
        if kafka.ssl_certfile is not None:
            context.load_cert_chain(str(kafka.ssl_certfile), str(kafka.ssl_keyfile))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS files: {exc}", reason="tls-files") from exc
    return context


def _require_rocksdict() -> None:
    try:
        import rocksdict  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "the rocksdb:// store needs rocksdict: pip install 'midfield[rocksdb]'",
            reason="store-unavailable",
        ) from exc


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
        "Table": Table,  # forgets books of partitions that moved away (streams/table.py)
        "producer_acks": -1,
        "table_standby_replicas": worker.standby_replicas,
        "broker_credentials": broker_credentials(kafka),
        # faust's own pages answer raw stored records to anyone: off (docs/security.md)
        "web_router_enabled": False,
        "web_tables_enabled": False,
        "web_graph_enabled": False,
        "web_stats_enabled": False,
        "web_metrics_enabled": False,
    }
    if worker.store.startswith("rocksdb:"):
        _require_rocksdict()
    # short on the embedded profile (Tansu joins after session / 2), faust's own on kafka:
    # Apache Kafka refuses sessions under group.min.session.timeout.ms (6 s by default)
    group = kafka.group_timings
    config |= {
        "broker_session_timeout": group.session_timeout,
        "broker_heartbeat_interval": group.heartbeat_interval,
        "broker_rebalance_timeout": group.rebalance_timeout,
    }
    return config


def create_app(settings: Settings) -> MidfieldApp:
    if settings.replay.module:
        try_code(settings.replay.module, settings)
    app = MidfieldApp(settings.worker.app_id, **_faust_config(settings))
    app.settings = settings
    app.replay_stops = (
        read_offsets(settings.replay.stop_offsets_file) if settings.replay.stop_offsets_file else {}
    )
    app.clock = utc_now
    app.directory = load_directory(settings.departments)
    app.gate = Gate(app)
    # before anything builds faust's aiohttp application: every request passes the gate
    app.conf.web_application_options = {"middlewares": [app.gate.middleware]}
    deadletters = raw_topic(app, DEADLETTER)
    alert_topic = raw_topic(app, topic(AlertRaised.topic).name)
    effects = Effects(app, deadletters, alert_topic)
    _add_alerts(app, effects, alert_topic)
    _add_dead_letters(app, deadletters)
    audit_topic = _add_audit(app, effects)
    fax, telegram, duty = add_duty(app, _BOOK_SCHEMA, effects)
    tasks = add_supervision(app, _BOOK_SCHEMA, effects)
    message_topic = add_messages(app, _BOOK_SCHEMA, effects)
    order_topic = add_work_orders(app, _BOOK_SCHEMA, effects)
    add_duty_reports(app)

    app.sensors.add(MetricsSensor())
    channels = (fax, telegram, duty, tasks, alert_topic, message_topic, order_topic, audit_topic)
    topics = [t.get_topic_name() for t in channels]
    assert sorted(topics) == sorted(PROCESSED), "PROCESSED lists what the agents read"
    _measure_every(app, settings.worker.lag_interval_s, topics)
    register_views(app)
    check_policies(app)
    return app


def _add_alerts(app: MidfieldApp, effects: Effects, channel: Any) -> None:
    """The alerts book, keyed by alert id, from ``office.alerts.v1``."""
    app.alerts = app.Table("alerts", default=None, schema=_BOOK_SCHEMA)

    @app.agent(channel, name="alerts")
    async def take_alerts(stream: Any) -> None:
        await effects.consume(stream, channel.get_topic_name())


def _add_dead_letters(app: MidfieldApp, channel: Any) -> None:
    """The dead letters waiting for a person, keyed by letter id, from ``office.deadletter.v1``
    (the dashboard's count). Not in a replay: it rebuilds the processors' books, and a
    read-only run must not read past its stop offsets on a topic it does not list."""
    app.dead_letters = app.Table("dead_letters", default=None, schema=_BOOK_SCHEMA)
    if app.settings.replay.read_only or app.settings.replay.stop_offsets_file:
        return

    @app.agent(channel, name="dead-letters")
    async def take_dead_letters(stream: Any) -> None:
        async for event in stream.events():
            letter = parse_letter(event.value)
            if letter is None:  # never dead-letter the dead-letter topic: say so and go on
                message = event.message
                where = f"{message.topic}/{message.partition}@{message.offset}"
                log.warning("not a dead letter", reason="not-a-dead-letter", position=where)
                continue
            app.dead_letters[letter.id] = letter_book(letter)


def _add_audit(app: MidfieldApp, effects: Effects) -> Any:
    """The audit book, keyed by ``<day>/<principal>``, from ``office.audit.v1``; the same topic
    is where this worker's own access middleware records each request."""
    app.audit = app.Table("audit", default=None, schema=_BOOK_SCHEMA)
    channel = app.audit_topic = raw_topic(app, topic(AuditRecorded.topic).name)

    @app.agent(channel, name="audit")
    async def take_audit(stream: Any) -> None:
        await effects.consume(stream, channel.get_topic_name())

    return channel


def _measure_every(app: MidfieldApp, interval_s: float, topics: list[str]) -> None:
    """Lag and table sizes for /metrics, and the broker check /ready uses."""
    kafka = app.settings.kafka
    app.broker_watch = BrokerWatch(
        client_config(kafka),
        app.conf.id,
        topics,
        deadline_s=max(2 * kafka.request_timeout_ms / 1000, interval_s),
        tables=lambda: {
            "duty_log": len(app.duty_log),
            "ledger": len(app.ledger),
            "alerts": len(app.alerts),
            "messages": len(app.messages),
            "work_orders": len(app.work_orders),
            "emergencies": len(app.emergencies),
            "items": len(app.items),
            "audit": len(app.audit),
            "dead_letters": len(app.dead_letters),
        },
    )

    @app.timer(interval=interval_s)  # type: ignore[untyped-decorator]
    async def measure() -> None:
        await app.broker_watch.tick()
        await asyncio.get_running_loop().run_in_executor(None, heap.trim)
        open_alerts: Counter[str] = Counter()
        async for books in book_chunks(app.alerts):
            open_alerts.update(b["severity"] for b in books if b["open"])
        for severity in Severity:
            metrics.ALERTS_OPEN.labels(severity.value).set(open_alerts[severity.value])
