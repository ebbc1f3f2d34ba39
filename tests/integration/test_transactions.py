"""Broker transactions as Apache Kafka keeps them: an aborted transaction's records are hidden
from ``read_committed`` readers. Midfield does not use transactions on any broker (its
effectively-once comes from deterministic ids and idempotent books, docs/brokers.md §7); this
test records that the production broker honours them, so a later design may rely on it."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from midfield.bus.clients import client_config
from midfield.bus.topics import create_topics
from midfield.bus.watermarks import end_offsets
from midfield.settings import TopicSettings
from schemas.catalog import TopicSpec
from tests.harness import Broker


def _read(broker: Broker, name: str, isolation: str) -> list[bytes]:
    consumer = KafkaConsumer(**client_config(broker.kafka_settings()), group_id=None,
                             auto_offset_reset="earliest", isolation_level=isolation,
                             consumer_timeout_ms=3000)  # fmt: skip
    try:
        consumer.assign([TopicPartition(name, 0)])
        return [record.value for record in consumer]
    finally:
        consumer.close()


def test_read_committed_hides_an_aborted_transaction(broker: Broker, unique: str) -> None:
    if broker.is_tansu:
        pytest.skip("Tansu's transactions and read_committed are unreliable (brokers.md §7)")
    name = f"office.test.tx{unique}.v1"
    create_topics(broker.kafka_settings(), TopicSettings(),
                  [TopicSpec(name=name, key="k", description="d", partitions=1)])  # fmt: skip
    producer = KafkaProducer(**client_config(broker.kafka_settings()),
                             transactional_id=f"tx-{unique}")  # fmt: skip
    try:
        producer.init_transactions()
        for value, commit in ((b"first", True), (b"aborted", False), (b"last", True)):
            producer.begin_transaction()
            producer.send(name, value=value, partition=0)
            producer.flush()
            (producer.commit_transaction if commit else producer.abort_transaction)()
    finally:
        producer.close()
    # three records and three transaction markers; only the committed two are read
    assert end_offsets(client_config(broker.kafka_settings()), [(name, 0)]) == {(name, 0): 6}
    assert _read(broker, name, "read_committed") == [b"first", b"last"]
    assert _read(broker, name, "read_uncommitted") == [b"first", b"aborted", b"last"]
