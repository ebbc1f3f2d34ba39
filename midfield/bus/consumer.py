"""The kafka-python consumer, wrapped so that every call answers in Midfield's errors.

:class:`Consumer` has the calls Midfield makes and no more; each translates the client's errors
(:mod:`midfield.bus.errors`), so the sink, the followers and replay call it as it is. A record
is kafka-python's ``ConsumerRecord`` (``topic``, ``partition``, ``offset``, ``timestamp`` in ms,
``key``, ``value``, ``headers``); a partition is its ``TopicPartition``, re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from midfield.bus.errors import map_kafka_errors

__all__ = ["Consumer", "OnRevoked", "TopicPartition", "probe_consumer"]

OnRevoked = Callable[[Iterable[TopicPartition]], None]
"""Called with the partitions a rebalance takes away from a subscribed consumer."""


class Consumer:
    """A kafka-python ``KafkaConsumer`` made from ``config`` (:func:`~midfield.bus.clients.
    client_config`) and ``options`` (its keyword arguments: ``group_id``, fetch sizes…)."""

    def __init__(self, config: Mapping[str, Any], **options: Any) -> None:
        with map_kafka_errors():
            self._client = KafkaConsumer(**config, **options)

    def subscribe(self, topics: list[str], *, on_revoked: OnRevoked | None = None) -> None:
        listener = _Revoked(on_revoked) if on_revoked else None
        with map_kafka_errors():
            self._client.subscribe(topics, listener=listener)

    def assign(self, partitions: list[TopicPartition]) -> None:
        with map_kafka_errors():
            self._client.assign(partitions)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        with map_kafka_errors():
            self._client.seek(partition, offset)

    def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        with map_kafka_errors():
            self._client.seek_to_beginning(*partitions)

    def poll(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Any]]:
        """Records fetched, per partition (each a ``ConsumerRecord``)."""
        with map_kafka_errors():
            batches: dict[TopicPartition, list[Any]] = self._client.poll(
                timeout_ms=timeout_ms, max_records=max_records
            )
            return batches

    def position(self, partition: TopicPartition) -> int:
        """The offset of the next record to fetch from ``partition``."""
        with map_kafka_errors():
            offset: int = self._client.position(partition)
            return offset

    def highwater(self, partition: TopicPartition) -> int | None:
        """The high watermark of the last Fetch response for ``partition`` (``None``: none yet)."""
        with map_kafka_errors():
            high: int | None = self._client.highwater(partition)
            return high

    def pause(self, *partitions: TopicPartition) -> None:
        with map_kafka_errors():
            self._client.pause(*partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        with map_kafka_errors():
            self._client.resume(*partitions)

    def beginning_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        with map_kafka_errors():
            found: dict[TopicPartition, int] = self._client.beginning_offsets(partitions)
            return found

    def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """ListOffsets(latest): too low on Tansu; :mod:`midfield.bus.watermarks` corrects it."""
        with map_kafka_errors():
            found: dict[TopicPartition, int] = self._client.end_offsets(partitions)
            return found

    def offsets_for_times(
        self, timestamps: Mapping[TopicPartition, int]
    ) -> Mapping[TopicPartition, Any]:
        """ListOffsets by timestamp (ms): per partition an answer with ``offset``, or ``None``."""
        with map_kafka_errors():
            found: Mapping[TopicPartition, Any] = self._client.offsets_for_times(timestamps)
            return found

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        with map_kafka_errors():
            found: set[int] | None = self._client.partitions_for_topic(topic)
            return found

    def commit(
        self, offsets: Mapping[TopicPartition, int], *, timeout_ms: int | None = None
    ) -> None:
        """Commit, per partition, the offset of the next record the group is to read."""
        wanted = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()}
        with map_kafka_errors():
            self._client.commit(wanted, timeout_ms=timeout_ms)

    def close(self) -> None:
        with map_kafka_errors():
            self._client.close()


class _Revoked(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, then: OnRevoked) -> None:
        self.then = then

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self.then(revoked)

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        pass


@contextmanager
def probe_consumer(config: Mapping[str, Any], **extra: Any) -> Iterator[Consumer]:
    """A consumer outside any group that commits nothing: for looking, not consuming. Client
    errors raised in the block are translated too."""
    with map_kafka_errors():
        consumer = Consumer(config, group_id=None, enable_auto_commit=False, **extra)
        try:
            yield consumer
        finally:
            consumer.close()
