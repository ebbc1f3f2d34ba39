"""A compacted changelog: the books recover exactly from what compaction left, reading fewer
records than were written (Apache Kafka only: Tansu accepts ``cleanup.policy=compact`` and never
applies it, docs/brokers.md §4).

The duty log is keyed by subject (the fax's commid), so the same commid from several fax-log
sources is several updates of one key: every update but the last is garbage compaction removes.
The changelog is created before the worker with small segments (compaction never touches the
active segment) and a low dirty ratio, so Kafka's log cleaner runs on it within its 15 s back-off.
Both recoveries' durations (faust's "Restoring state" to "Done reading" log lines) go to
``tests/artifacts/changelog-compaction.json``; they are measured, not asserted on.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from midfield.bus.clients import client_config
from midfield.bus.topics import CHANGELOG_ROLL
from midfield.bus.watermarks import topic_end_offsets
from midfield.settings import TopicSettings
from tests.harness import REPO, Broker, WorkerProcess, read_topic, wait_for
from tests.samples import fax_envelope

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = "2025-03-14"
COMMIDS, SOURCES = 1500, 8


def _create_changelog(broker: Broker, name: str) -> None:
    admin = KafkaAdminClient(**client_config(broker.kafka_settings()))
    try:
        admin.create_topics([NewTopic(name, TopicSettings().partitions, 1, topic_configs={
            "cleanup.policy": "compact",
            # small, so the cleaner has closed segments to clean; not under a producer batch
            # (streams/worker/app.py): Kafka refuses a record batch larger than a segment
            "segment.bytes": str(1 << 20),
            "min.cleanable.dirty.ratio": "0.01",
        })])  # fmt: skip
    finally:
        admin.close()


def _produce(broker: Broker, unique: str) -> None:
    producer = KafkaProducer(
        **client_config(broker.kafka_settings()), acks="all", linger_ms=50, batch_size=512 << 10
    )
    when = datetime(2025, 3, 14, 9, 0, tzinfo=SHANGHAI)
    for source in range(SOURCES):
        for n in range(COMMIDS):
            envelope = fax_envelope(
                f"{unique}{n:06d}", when, source=f"midfield://c{source}/{unique}"
            )
            producer.send(envelope.topic, key=envelope.key(), value=envelope.value(),
                          headers=envelope.headers())  # fmt: skip
    producer.flush()
    producer.close()


def _mine(worker: WorkerProcess, unique: str) -> Counter[str]:
    entries = worker.every(f"/duty-log?date={DAY}", "entries")
    return Counter(e["id"] for e in entries if e["source"].endswith(f"/{unique}"))


def _restore_seconds(worker: WorkerProcess) -> float:
    """Seconds from faust's "Restoring state from changelog topics" to "Done reading"."""
    marks: dict[str, datetime] = {}
    for line in worker.log_tail(10**8).splitlines():
        if line.startswith("{") and "[^---Recovery]" in line:
            record = json.loads(line)
            for mark in ("Restoring state", "Done reading"):
                if mark in record["event"]:
                    marks[mark] = datetime.fromisoformat(record["timestamp"])
    return (marks["Done reading"] - marks["Restoring state"]).total_seconds()


def _restart(worker: WorkerProcess, unique: str) -> float:
    worker.stop()
    worker.start()
    worker.wait_ready()
    counts = _mine(worker, unique)  # read at the first 200: the books recovered before ready
    assert len(counts) == COMMIDS * SOURCES and max(counts.values()) == 1
    return _restore_seconds(worker)


def test_a_compacted_changelog_recovers_exactly_from_fewer_records(
    broker: Broker, workdir: Path, unique: str, request: pytest.FixtureRequest
) -> None:
    if broker.is_tansu:
        pytest.skip("Tansu accepts cleanup.policy=compact and never compacts (brokers.md §4)")
    # a broker of its own: its 12k faxes are not history every later test's fresh worker reads
    catalog_topics: Broker = request.getfixturevalue("own_broker")
    worker = WorkerProcess(catalog_topics, workdir, app_id=f"c-{unique}")
    changelog = f"{worker.app_id}-duty_log-changelog"
    _create_changelog(catalog_topics, changelog)
    _produce(catalog_topics, unique)
    worker.start()
    try:
        worker.wait_ready()
        wait_for(lambda: len(_mine(worker, unique)) == COMMIDS * SOURCES, timeout=180,
                 what="every fax in the duty log")  # fmt: skip
        config = client_config(catalog_topics.kafka_settings())
        written = sum(topic_end_offsets(config, [changelog]).values())
        first = _restart(worker, unique)
        kept = wait_for(lambda: _compacted(catalog_topics, changelog, written), timeout=120,
                        interval=3, what="the log cleaner to compact the changelog")  # fmt: skip
        second = _restart(worker, unique)
    finally:
        worker.stop()
    assert kept < written
    artifact = REPO / "tests" / "artifacts" / "changelog-compaction.json"
    artifact.parent.mkdir(exist_ok=True)
    artifact.write_text(json.dumps({
        "broker": catalog_topics.kind, "keys": COMMIDS, "updates_per_key": SOURCES,
        "changelog_records_written": written, "records_after_compaction": kept,
        "first_restore_s": first, "second_restore_s": second,
    }, indent=2) + "\n")  # fmt: skip


def _compacted(broker: Broker, changelog: str, written: int) -> int:
    """The changelog's record count once the cleaner removed at least half; 0 before."""
    kept = len(read_topic(broker, changelog, timeout=60))
    return kept if kept <= written // 2 else 0


def test_the_worker_creates_its_changelogs_to_be_compacted_within_the_hour(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    """Kafka never compacts a changelog's active segment: with its defaults (7 days, 1 GiB) a
    restart read the whole week's history. The worker's changelogs roll hourly or at 64 MiB."""
    worker = WorkerProcess(catalog_topics, workdir, app_id=f"g-{unique}")
    with worker.running():
        changelog = f"{worker.app_id}-duty_log-changelog"
        admin = KafkaAdminClient(**client_config(catalog_topics.kafka_settings()))
        try:
            answer = admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, changelog)], config_filter="all"
            )
        finally:
            admin.close()
    configs = {name: found["value"] for name, found in answer["topic"][changelog].items()}
    assert configs["cleanup.policy"] == "compact"
    assert {name: configs.get(name) for name in CHANGELOG_ROLL} == CHANGELOG_ROLL
