"""Running a department's sink (:mod:`connectors.sinks.department`): its broker clients, waited
for while the broker is not up yet, and the metrics around each delivery.

Apart from the consumer loop, which takes its consumer, producer and delivery as given: this is
the wiring that makes them, as ``midfield connect department-sink`` runs it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack, closing
from typing import TypeVar

from connectors.runtime.producer import EventProducer
from connectors.runtime.runner import Backoff
from connectors.sinks.department import CONNECTOR, DepartmentSink, OnOutcome, SinkStats, Target
from connectors.sinks.webhook import Answer, Deliver, post
from midfield import metrics
from midfield.bus.clients import client_config
from midfield.bus.consumer import Consumer
from midfield.bus.topics import partition_counts
from midfield.errors import BrokerUnavailable
from midfield.logging import get_logger
from midfield.settings import KafkaSettings, Settings
from schemas.catalog import outbox

__all__ = ["run_department_sink"]

log = get_logger(__name__)


def run_department_sink(target: Target, settings: Settings, *, stop: threading.Event | None = None,
                        on_outcome: OnOutcome | None = None) -> SinkStats:  # fmt: skip
    """Deliver ``target``'s outbox until ``stop`` is set, with metrics. A broker that is not up
    yet is waited for."""
    stop = stop or threading.Event()
    backoff = Backoff.of(settings.kafka)
    if not _outbox_exists(target.code, settings.kafka, backoff, stop):
        return SinkStats()
    with ExitStack() as stack:
        consumer = _connect(lambda: _consumer(target.code, settings.kafka), backoff, stop)
        stack.enter_context(closing(consumer))
        producer = _connect(lambda: EventProducer(settings.kafka), backoff, stop)
        stack.enter_context(closing(producer))
        sink = DepartmentSink(target, consumer, producer, settings, stop=stop,
                              deliver=_timed(post, target.code),
                              on_outcome=_counted(target.code, on_outcome))  # fmt: skip
        return sink.run()


def _outbox_exists(
    code: str, kafka: KafkaSettings, backoff: Backoff, stop: threading.Event
) -> bool:
    """Wait until the outbox exists (False: stopped first). The catalog creates it (the worker
    at start, or ``midfield topics create``): subscribing to a missing topic would let a broker
    that auto-creates topics make it with its own partition count, and kafka-python 3.0.12
    drops the consumer's ``allow_auto_create_topics=False`` on the way to its metadata."""
    name, attempt = outbox(code), 0
    while not _connect(lambda: partition_counts(kafka, [name]), backoff, stop):
        if attempt == 0:
            log.info("waiting for the outbox topic", topic=name,
                     created_by="midfield worker / midfield topics create")  # fmt: skip
        if stop.wait(min(backoff.delay(attempt), 2.0)):
            return False
        attempt += 1
    return True


def _consumer(code: str, kafka: KafkaSettings) -> Consumer:
    timings = {}
    if kafka.profile == "embedded":  # Tansu answers JoinGroup after session_timeout / 2
        timings = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 500}
    return Consumer(client_config(kafka), group_id=f"midfield-sink-{code}",
                    enable_auto_commit=False, auto_offset_reset="earliest",
                    **timings)  # fmt: skip


_T = TypeVar("_T")


def _connect(make: Callable[[], _T], backoff: Backoff, stop: threading.Event) -> _T:
    attempt = 0
    while True:
        try:
            return make()
        except BrokerUnavailable as exc:
            delay = backoff.delay(attempt)
            log.warning("broker unavailable, retrying", error=str(exc), retry_in_s=round(delay, 2))
            if stop.wait(delay):
                raise
            attempt += 1


def _timed(deliver: Deliver, code: str) -> Deliver:
    seconds = metrics.WEBHOOK_SECONDS.labels(code)

    def timed(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> Answer:
        with seconds.time():
            return deliver(url, body, headers, timeout_s)

    return timed


def _counted(code: str, then: OnOutcome | None) -> OnOutcome:
    def counted(outcome: str, reason: str, stats: SinkStats) -> None:
        metrics.WEBHOOK_DELIVERIES.labels(code, outcome).inc()
        if reason:
            metrics.DEAD_LETTERS.labels(reason, CONNECTOR).inc()
        if then:
            then(outcome, reason, stats)

    return counted
