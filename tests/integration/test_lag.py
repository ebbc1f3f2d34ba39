"""Consumer-group lag against a known backlog, on a broker whose ListOffsets may be too low."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from midfield.bus.clients import client_config
from midfield.bus.lag import group_lag
from midfield.bus.topics import create_topics
from midfield.settings import TopicSettings
from schemas.catalog import TopicSpec
from tests.harness import Broker


def _backlog(broker: Broker, unique: str) -> str:
    """300 records in one producer batch per partition (150 each on 2 partitions)."""
    name = f"office.test.lag{unique}.v1"
    create_topics(broker.kafka_settings(), TopicSettings(),
                  [TopicSpec(name=name, key="k", description="d", partitions=2)])  # fmt: skip
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=100)
    for i in range(300):
        producer.send(name, value=b"x" * 20, partition=i % 2)
    producer.flush()
    producer.close()
    return name


def _commit(broker: Broker, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group,
                             enable_auto_commit=False)  # fmt: skip
    try:
        consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
    finally:
        consumer.close()


def test_lag_is_the_known_backlog_per_partition(broker: Broker, unique: str) -> None:
    topic = _backlog(broker, unique)
    group = f"g-{unique}"
    _commit(broker, group, {TopicPartition(topic, 0): 100, TopicPartition(topic, 1): 140})
    lags = {(lag.topic, lag.partition): lag for lag in
            group_lag(client_config(broker.kafka_settings()), group)}  # fmt: skip
    assert {tp: (lag.committed, lag.end, lag.lag) for tp, lag in lags.items()} == {
        (topic, 0): (100, 150, 50),
        (topic, 1): (140, 150, 10),
    }


def test_lag_seconds_is_the_age_of_the_oldest_unconsumed_record(
    broker: Broker, unique: str
) -> None:
    topic = _backlog(broker, unique)
    group = f"g-{unique}"
    _commit(broker, group, {TopicPartition(topic, 0): 0})
    later = time.time() + 60
    [p0] = [lag for lag in group_lag(client_config(broker.kafka_settings()), group, now=later)
            if lag.partition == 0]  # fmt: skip
    assert 55 < p0.lag_seconds < 75


def test_a_group_that_never_committed_shows_the_whole_backlog(broker: Broker, unique: str) -> None:
    topic = _backlog(broker, unique)
    lags = group_lag(client_config(broker.kafka_settings()), f"new-{unique}", topics=[topic])
    assert [(lag.committed, lag.lag) for lag in lags] == [(None, 150), (None, 150)]


def test_a_caught_up_group_has_no_lag(broker: Broker, unique: str) -> None:
    topic = _backlog(broker, unique)
    group = f"g-{unique}"
    _commit(broker, group, {TopicPartition(topic, 0): 150, TopicPartition(topic, 1): 150})
    lags = group_lag(client_config(broker.kafka_settings()), group)
    assert [(lag.lag, lag.lag_seconds) for lag in lags] == [(0, 0.0), (0, 0.0)]
