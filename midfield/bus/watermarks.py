"""Log-end offsets that are right on every broker: the high watermark of a Fetch response.

Kafka answers ListOffsets(latest) with the log-end offset. Tansu 0.6 answers the *base offset of
the last batch + 1*, too low whenever that batch held several records, while its Fetch responses
carry the true high watermark (docs/brokers.md). So: take ListOffsets as a lower bound, fetch
from just below it, and read the high watermark the Fetch response reports. On Apache Kafka both
agree and this costs one small fetch per partition.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from midfield.bus.consumer import Consumer, TopicPartition, probe_consumer
from midfield.errors import BrokerUnavailable

__all__ = ["end_offsets", "topic_end_offsets", "topic_partitions"]


def topic_partitions(config: Mapping[str, Any], topics: Iterable[str]) -> list[tuple[str, int]]:
    """Every ``(topic, partition)`` of ``topics``."""
    wanted = list(topics)
    if not wanted:
        return []
    with probe_consumer(config) as consumer:
        return [(t, p) for t in wanted for p in sorted(consumer.partitions_for_topic(t) or ())]


def end_offsets(
    config: Mapping[str, Any],
    partitions: Iterable[tuple[str, int]],
    *,
    timeout_s: float = 15.0,
) -> dict[tuple[str, int], int]:
    """The log-end offset (high watermark) of each ``(topic, partition)``."""
    tps = [TopicPartition(t, p) for t, p in partitions]
    if not tps:
        return {}
    with probe_consumer(config, auto_offset_reset="earliest", fetch_max_bytes=1 << 20,
                        max_partition_fetch_bytes=64 << 10) as consumer:  # fmt: skip
        return _fetch_highwaters(consumer, tps, timeout_s)


def _fetch_highwaters(
    consumer: Consumer, tps: list[TopicPartition], timeout_s: float
) -> dict[tuple[str, int], int]:
    listed: dict[TopicPartition, int] = consumer.end_offsets(tps)
    out = {(tp.topic, tp.partition): 0 for tp, v in listed.items() if not v}
    pending = [tp for tp, v in listed.items() if v]
    if pending:
        consumer.assign(pending)
        for tp in pending:
            consumer.seek(tp, listed[tp] - 1)
    deadline = time.monotonic() + timeout_s
    while pending:
        if time.monotonic() > deadline:
            raise BrokerUnavailable(f"no fetch high watermark for {pending} in {timeout_s} s")
        consumer.poll(timeout_ms=200, max_records=1)
        for tp in list(pending):
            high = consumer.highwater(tp)
            if high is not None:
                out[(tp.topic, tp.partition)] = max(high, listed[tp])
                pending.remove(tp)
                consumer.pause(tp)
    return out


def topic_end_offsets(
    config: Mapping[str, Any], topics: Iterable[str], *, timeout_s: float = 15.0
) -> dict[tuple[str, int], int]:
    """End offsets of every partition of ``topics``."""
    return end_offsets(config, topic_partitions(config, topics), timeout_s=timeout_s)
