"""Prometheus metrics shared by the worker and the connectors (prometheus-client).

Names carry the ``midfield_`` prefix and base units (``_total``, ``_seconds``); lag follows
kafka-lag-exporter. Nothing here is called from a handler: the worker records through a faust
sensor (``streams/worker/sensor.py``), connectors through a wrapper around their source
(``connectors/runtime/metered.py``). docs/ops.md lists every metric.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = [
    "ACCESS_DENIED",
    "ALERTS_OPEN",
    "CONTENT_TYPE_LATEST",
    "DEAD_LETTERS",
    "EVENTS_IN",
    "EVENTS_OUT",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "LAG",
    "LAG_SECONDS",
    "PARSE_SECONDS",
    "PROCESSING_SECONDS",
    "REFUSED",
    "REMINDERS",
    "SKIPPED",
    "TABLE_ENTRIES",
    "WEBHOOK_DELIVERIES",
    "WEBHOOK_SECONDS",
    "render",
    "saw_event",
    "serve",
    "source_ages",
]

_LATENCY = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)
_WEBHOOK = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)  # up to the sink's time-out

EVENTS_OUT = Counter("midfield_events_out", "Events produced to the bus.", ["topic", "source"])
EVENTS_IN = Counter("midfield_events_in", "Events consumed by the worker.", ["topic", "source"])
DEAD_LETTERS = Counter(
    "midfield_dead_letters",
    "Records written to office.deadletter.v1 (count only where a letter is written).",
    ["reason", "connector"],
)
SKIPPED = Counter(
    "midfield_records_skipped",
    "Documented skips, acknowledged and producing nothing: fax-log record types other than RECV; "
    "WeChat account events (reason event-<Event>: subscribe, unsubscribe, CLICK, VIEW, SCAN), "
    "answered success but no message to answer, so no event.",
    ["reason", "connector"],
)
REFUSED = Counter(
    "midfield_requests_refused",
    "Input refused and not kept, so no dead letter: hostile XML (a DTD or entity declaration, "
    "never parsed nor stored), answered 400.",
    ["reason", "connector"],
)
PARSE_SECONDS = Histogram(
    "midfield_parse_seconds", "Time to parse one input record.", ["connector"], buckets=_LATENCY
)
PROCESSING_SECONDS = Histogram(
    "midfield_processing_seconds", "Time to apply one event.", ["topic"], buckets=_LATENCY
)
BATCH_EVENTS = Histogram(
    "midfield_worker_batch_events",
    "Events the worker applied as one batch (what was ready, up to MIDFIELD_WORKER_BATCH_MAX).",
    ["topic"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
REWINDS = Counter(
    "midfield_worker_rewinds",
    "Stream partitions sought back to a record that never reached the books (faust dropped it "
    "unread: streams/worker/sequencer.py).",
    ["topic"],
)
LOOP_LAG_SECONDS = Histogram(
    "midfield_worker_loop_lag_seconds",
    "How late the worker's event loop woke a 0.1 s sleep: what a step that held the loop made "
    "every HTTP answer and event behind it wait (MIDFIELD_WORKER_STALL_LOG_MS names the step).",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
GC_PAUSE_SECONDS = Histogram(
    "midfield_worker_gc_pause_seconds",
    "How long each garbage collection held the worker, by generation (2: a full collection).",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
REFREEZES = Counter(
    "midfield_gc_refreezes",
    "Times the worker collected and froze its heap again after a slow full collection "
    "(streams/worker/heap.py).",
)
HTTP_REQUESTS = Counter("midfield_http_requests", "HTTP requests answered.", ["route", "status"])
ACCESS_DENIED = Counter(
    "midfield_access_denied",
    "Requests refused for want of a credential (401) or a role (403), and failed sign-ins.",
    ["service", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "midfield_http_request_duration_seconds", "HTTP answer time.", ["route"], buckets=_LATENCY
)
LAG = Gauge(
    "midfield_consumergroup_group_lag",
    "Records not yet consumed (log end - committed).",
    ["group", "topic", "partition"],
)
LAG_SECONDS = Gauge(
    "midfield_consumergroup_group_lag_seconds",
    "Age of the oldest record not yet consumed.",
    ["group", "topic", "partition"],
)
REMINDERS = Counter("midfield_reminders_sent", "Reminders (催办) applied to the ledger.", ["light"])
ALERTS_OPEN = Gauge(
    "midfield_alerts_open", "Open alerts in the alerts book (local partitions).", ["severity"]
)
FROZEN = Gauge(
    "midfield_gc_frozen_objects",
    "Objects out of the garbage collector's reach (gc.freeze at worker start).",
)
"""Set when the heap is frozen (streams/worker/heap.py), not counted at each scrape: counting
walks every frozen object (~15 ms for the worker's 150k), and bench/rebuild.py's scrape every
0.1 s spent 15% of the live worker's CPU on it; 0 in a process that never froze its heap."""
TABLE_ENTRIES = Gauge(
    "midfield_table_entries", "Keys held in a book (local partitions).", ["table"]
)
WEBHOOK_DELIVERIES = Counter(
    "midfield_webhook_deliveries",
    "Department webhook attempts by outcome: delivered, retried, dead_letter.",
    ["department", "outcome"],
)
WEBHOOK_SECONDS = Histogram(
    "midfield_webhook_delivery_seconds",
    "Time for a department's endpoint to answer one delivery.",
    ["department"],
    buckets=_WEBHOOK,
)


class _SourceAge(Collector):
    """``midfield_source_last_event_age_seconds``: computed at scrape, so a silent fax line
    shows a growing age instead of a stale timestamp."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "midfield_source_last_event_age_seconds",
            "Seconds since the last event from a source.",
            labels=["source"],
        )
        now = time.time()
        for source, seen in sorted(self.last.items()):
            family.add_metric([source], max(now - seen, 0.0))
        yield family


_AGE = _SourceAge()
REGISTRY.register(_AGE)


def saw_event(source: str, at: float | None = None) -> None:
    _AGE.last[source] = time.time() if at is None else at


def source_ages() -> dict[str, float]:
    """Seconds since the last event of each source this process has seen."""
    now = time.time()
    return {source: max(now - seen, 0.0) for source, seen in sorted(_AGE.last.items())}


def render() -> bytes:
    """The Prometheus text exposition of every metric of this process."""
    return generate_latest(REGISTRY)


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` on its own port (connectors) from a daemon thread."""
    start_http_server(port, addr=host)
