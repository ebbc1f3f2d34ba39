"""The books rebuilt over a plain consumer: :func:`streams.books.registry.process` on dicts.

``replay rebuild`` and ``replay as-of`` read the intake topics from a plan's start offsets to its
targets and apply every event with the very function the live workers' agents use, read-only
(no dead letter, alert or notice is sent: the live workers sent them once). A faust worker pays
for its per-record machinery and one changelog record per table write (bench/README.md); here a
record costs its decoding and the processors' own work.

For a rebuild the result is made a set of books workers can switch to, as a faust worker under
the new application id would have left them:

* each book's final value per key goes to ``<app id>-<book>-changelog``, on the partition of
  the record that last wrote it (a faust table writes to its event's partition), in segments as
  the live worker writes them (midfield/bus/changelog.py): one record per ~512 KiB of books;
* the group ``<app id>`` commits the targets.

Workers started with ``MIDFIELD_WORKER_APP_ID=<app id>`` recover these books and carry on from
there (``tests/integration/test_replay.py`` starts one and compares).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from midfield.bus.changelog import PRODUCER_BATCH_BYTES, segment_key, segment_value, segments
from midfield.bus.consumer import TopicPartition, probe_consumer
from midfield.bus.producer import Producer
from midfield.bus.topics import CHANGELOG_ROLL, create_missing, partition_counts
from midfield.errors import StoreError
from midfield.replay.books import changelog_topic
from midfield.replay.offsets import commit_offsets
from midfield.replay.run import Plan, Progress
from midfield.settings import Settings
from schemas.envelope import DecodeError, Envelope
from streams.books.registry import NAMES, process

__all__ = ["Applied", "apply_plan", "publish"]


@dataclass
class Applied:
    """The books a plan's records made, and where each entry's changelog record goes."""

    books: dict[str, dict[str, Any]] = field(default_factory=lambda: {n: {} for n in NAMES})
    partition_of: dict[tuple[str, str], int] = field(default_factory=dict)
    events: int = 0
    undecodable: int = 0
    """Records that are no event (the live worker dead-lettered them)."""
    refused: int = 0
    progress: Progress = field(default_factory=lambda: Progress(0, 0, 0.0))


def apply_plan(
    config: Mapping[str, Any],
    plan: Plan,
    settings: Settings,
    *,
    report: Callable[[Progress], None] = lambda p: None,
    timeout_s: float = 300.0,
) -> Applied:
    """Every record of ``plan`` (start to target, per partition), applied to fresh books."""
    todo = {tp: (plan.starts.get(tp, 0), end) for tp, end in plan.targets.items()}
    todo = {tp: span for tp, span in todo.items() if span[0] < span[1]}
    out = Applied()
    source = f"midfield://worker/{plan.app_id}"
    began = last = time.monotonic()
    with probe_consumer(config, max_partition_fetch_bytes=4 << 20, fetch_max_bytes=32 << 20,
                        max_poll_records=5000) as consumer:  # fmt: skip
        consumer.assign([TopicPartition(t, p) for t, p in todo])
        for (t, p), (start, _) in todo.items():
            consumer.seek(TopicPartition(t, p), start)
        left = dict(todo)
        while left:
            if time.monotonic() - began > timeout_s:
                raise StoreError(f"reading {sorted(left)} took over {timeout_s} s",
                                 reason="fetch")  # fmt: skip
            for tp, records in consumer.poll(timeout_ms=500).items():
                key = (tp.topic, tp.partition)
                end = todo[key][1]
                for record in records:
                    if record.offset < end:
                        _apply(out, record, settings, source)
                if consumer.position(tp) >= end:
                    left.pop(key, None)
                    consumer.pause(tp)
            now = time.monotonic()
            if now - last >= 0.5 or not left:
                last = now
                out.progress = Progress(out.events + out.undecodable, plan.events, now - began)
                report(out.progress)
    return out


def _apply(out: Applied, record: Any, settings: Settings, source: str) -> None:
    try:
        envelope = Envelope.from_record(record.headers, record.value or b"")
    except DecodeError:
        out.undecodable += 1
        return
    outcome = process(out.books, record.topic, envelope, settings, source=source)
    out.events += 1
    out.refused += len(outcome.refusals)
    for (book, key), value in outcome.writes.items():
        out.books[book][key] = value
        out.partition_of[(book, key)] = record.partition


def publish(config: Mapping[str, Any], applied: Applied, plan: Plan, settings: Settings) -> int:
    """Make ``applied`` the books of ``plan.app_id``: changelogs, then the group's offsets (see
    the module docstring). Answers the changelog records written."""
    _create_changelogs(plan.app_id, settings)
    producer = Producer(config, acks="all", linger_ms=50, batch_size=PRODUCER_BATCH_BYTES)
    try:
        sent = []
        for book, entries in applied.books.items():
            topic = changelog_topic(plan.app_id, book)
            by_partition: dict[int, list[tuple[str, bytes | None]]] = {}
            for key, value in entries.items():
                partition = applied.partition_of[(book, key)]
                by_partition.setdefault(partition, []).append((key, orjson.dumps(value)))
            for partition, books in by_partition.items():
                for number, segment in enumerate(segments(books)):
                    sent.append(producer.send(
                        topic, key=orjson.dumps(segment_key(number)),
                        value=segment_value(segment), partition=partition,
                    ))  # fmt: skip
        producer.acknowledge(sent, timeout_s=120)
        written = len(sent)
    finally:
        producer.close(timeout_s=10)
    commit_offsets(config, plan.app_id, plan.targets)
    return written


def _create_changelogs(app_id: str, settings: Settings) -> None:
    """The changelog topics as faust would create them (compacted, the app's partition count)."""
    topics = settings.topics
    wanted = {
        changelog_topic(app_id, book): {
            "num_partitions": topics.partitions,
            "replication_factor": topics.replication_factor,
            "configs": {"cleanup.policy": "compact", **CHANGELOG_ROLL},
        }
        for book in NAMES
    }
    existing = partition_counts(settings.kafka, list(wanted))
    create_missing(settings.kafka, {n: o for n, o in wanted.items() if n not in existing})
