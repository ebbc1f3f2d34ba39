"""Log-end offsets from Fetch high watermarks: right on Tansu and on Kafka alike."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from midfield.bus.clients import client_config
from midfield.bus.topics import create_topics
from midfield.bus.watermarks import end_offsets, topic_end_offsets
from midfield.settings import TopicSettings
from schemas.catalog import TopicSpec
from tests.harness import Broker


def _topic_with_batches(broker: Broker, unique: str, records: int) -> str:
    name = f"office.test.w{unique}.v1"
    create_topics(
        broker.kafka_settings(),
        TopicSettings(),
        [TopicSpec(name=name, key="k", description="d", partitions=2)],
    )
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=100)
    for i in range(records):  # one multi-record batch per partition
        producer.send(name, value=b"x" * 20, partition=i % 2)
    producer.flush()
    producer.close()
    return name


def test_end_offsets_count_every_record_of_a_multi_record_batch(
    broker: Broker, unique: str
) -> None:
    name = _topic_with_batches(broker, unique, 300)
    config = client_config(broker.kafka_settings())
    assert end_offsets(config, [(name, 0), (name, 1)]) == {(name, 0): 150, (name, 1): 150}


def test_empty_partitions_end_at_zero(broker: Broker, unique: str) -> None:
    name = _topic_with_batches(broker, unique, 0)
    assert topic_end_offsets(client_config(broker.kafka_settings()), [name]) == {
        (name, 0): 0,
        (name, 1): 0,
    }


def test_tansu_list_offsets_latest_is_still_low(broker: Broker, unique: str) -> None:
    """Documents the broker quirk the workaround exists for; tells us when Tansu fixes it."""
    if not broker.is_tansu:
        pytest.skip("a Tansu quirk; Apache Kafka answers the log end (the test below)")
    name = _topic_with_batches(broker, unique, 300)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        listed = consumer.end_offsets([TopicPartition(name, 0)])[TopicPartition(name, 0)]
    finally:
        consumer.close()
    assert listed < 150, "Tansu now answers the true log end: docs/brokers.md can say so"


def test_apache_kafka_list_offsets_latest_is_the_log_end(broker: Broker, unique: str) -> None:
    """On Kafka the workaround is a no-op: ListOffsets(latest) already is the high watermark."""
    if broker.is_tansu:
        pytest.skip("Tansu answers the last batch's base offset + 1 (the quirk test above)")
    name = _topic_with_batches(broker, unique, 300)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        listed = consumer.end_offsets([TopicPartition(name, p) for p in (0, 1)])
    finally:
        consumer.close()
    config = client_config(broker.kafka_settings())
    fetched = end_offsets(config, [(name, 0), (name, 1)])
    assert {(tp.topic, tp.partition): end for tp, end in listed.items()} == fetched
    assert fetched == {(name, 0): 150, (name, 1): 150}
