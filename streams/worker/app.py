"""The faust app: topics from the catalog, the books as tables, their processors and views.

:func:`create_app` builds everything from settings (no import-time globals), so tests, the
worker and the replay tools each get their own app. ``midfield worker`` runs it.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import faust
from faust.types import TransportT
from faust.types.auth import CredentialsT

from midfield import metrics
from midfield.bus.changelog import PRODUCER_BATCH_BYTES
from midfield.bus.clients import client_config
from midfield.clock import Clock, utc_now
from midfield.departments import Directory, load_directory
from midfield.errors import ConfigError
from midfield.logging import get_logger
from midfield.settings import KafkaSettings, Settings
from schemas.catalog import DEADLETTER, topic
from schemas.events.alert import AlertRaised, Severity
from schemas.events.audit import AuditRecorded
from streams.books import alerts
from streams.books.book import Book, Index
from streams.books.registry import PROCESSED
from streams.views.pages import summary_of
from streams.views.web import register_views
from streams.worker import heap
from streams.worker.access import Gate, check_policies
from streams.worker.agents import Effects
from streams.worker.brief_timer import add_brief_timer
from streams.worker.duty_reports import add_duty_reports
from streams.worker.emit import raw_topic
from streams.worker.health import BrokerWatch
from streams.worker.hooks import read_offsets, try_code
from streams.worker.sends import Sends
from streams.worker.sensor import MetricsSensor
from streams.worker.table import Table
from streams.worker.tables import add_books
from streams.worker.transport import Transport

__all__ = ["PROCESSED", "MidfieldApp", "broker_credentials", "create_app"]

log = get_logger(__name__)


class MidfieldApp(faust.App):
    """faust.App on Midfield's transport (true high watermarks, see streams/worker/transport.py)."""

    settings: Settings
    broker_watch: BrokerWatch
    clock: Clock
    """Now, for lights, reminders and default dates; tests in the same process may replace it."""
    books: dict[str, Table]
    """Book (or index) name -> its table, one per entry of streams/books/registry.py."""
    audit_topic: Any
    """Where the access middleware records each request (streams/worker/access.py)."""
    directory: Directory
    gate: Gate
    """Who may call which route, and the audit record of each call (streams/worker/access.py)."""
    replay_stops: dict[tuple[str, int], int]
    """Records at or after these offsets are read, not applied (``replay as-of``); empty live."""
    changelog_sends: Sends
    """The changelog records handed to the client, checked before a commit (sends.py)."""

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)

    def table(self, book: Book | Index) -> Table:
        """The table of ``book``."""
        return self.books[book.name]


def broker_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """TLS and SASL for faust's aiokafka clients, from the settings the kafka-python clients
    use too (:func:`midfield.bus.clients.client_config`); ``None`` for PLAINTEXT."""
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
        "producer_max_batch_size": PRODUCER_BATCH_BYTES,  # faust's 16 KiB: segments waited
        "consumer_auto_offset_reset": "earliest",
        "Table": Table,  # forgets books of partitions that moved away (streams/worker/table.py)
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
    app.books = {}
    app.changelog_sends = Sends()
    alert_topic = topic(AlertRaised.topic).name
    channels = {name: raw_topic(app, name) for name in (DEADLETTER, alert_topic)}
    effects = Effects(app, channels[DEADLETTER], channels[alert_topic])
    add_books(app, effects, channels)
    app.audit_topic = channels[topic(AuditRecorded.topic).name]
    add_duty_reports(app)
    add_brief_timer(app)
    app.sensors.add(MetricsSensor())
    _measure_every(app, settings.worker.lag_interval_s, list(PROCESSED), effects)
    register_views(app)
    check_policies(app)
    return app


def _measure_every(
    app: MidfieldApp, interval_s: float, topics: list[str], effects: Effects
) -> None:
    """Lag and table sizes for /metrics, and the broker check /ready uses."""
    kafka = app.settings.kafka
    app.broker_watch = BrokerWatch(
        client_config(kafka),
        app.conf.id,
        topics,
        deadline_s=max(2 * kafka.request_timeout_ms / 1000, interval_s),
        tables=lambda: {name: len(table) for name, table in app.books.items()},
    )

    trimming = heap.Trim()

    @app.timer(interval=interval_s)  # type: ignore[untyped-decorator]
    async def measure() -> None:
        await app.broker_watch.tick()
        if trimming.due(effects.batches):
            await asyncio.get_running_loop().run_in_executor(None, heap.trim)
        open_alerts = alerts.open_by_severity(summary_of(app.table(alerts.BOOK)).ranked)
        for severity in Severity:
            metrics.ALERTS_OPEN.labels(severity.value).set(open_alerts[severity.value])
