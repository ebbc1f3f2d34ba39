"""Where a replay starts and stops: offsets for a moment, offsets files, a group's offsets.

**Offsets for a time.** Kafka answers "the first offset whose timestamp is at or after T" with
ListOffsets by timestamp (``offsets_for_times``). The embedded broker answers offset 0 and
timestamp −1 to every such question (docs/brokers.md), so the answer is never taken on trust:
:func:`offsets_at` checks it with two fetches (the record at the answer is at or after T, the one
before it is not) and, where the check fails, finds the offset itself by a binary search over
record timestamps, one fetch per step. That is broker-neutral: on Apache Kafka the check passes
and costs two fetches per partition; on Tansu the search costs ~log2(records) fetches.

The search assumes timestamps grow with offsets within a partition, which holds for Midfield's
topics (the producers leave the record timestamp to the client's clock at send time). A record
produced with an older timestamp among newer ones can move the answer by that record.

**Offsets files** are JSON ``{topic: {partition: offset}}``: ``replay rebuild --from FILE`` reads
one, ``replay as-of`` writes the stop offsets it computed into one for the worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from midfield.bus.consumer import Consumer, TopicPartition, probe_consumer
from midfield.bus.groups import commit_offsets, committed_offsets
from midfield.bus.watermarks import end_offsets, topic_end_offsets
from midfield.errors import StoreError
from streams.worker.hooks import Offsets, read_offsets

__all__ = [
    "Offsets",
    "TimeOffsets",
    "beginning_offsets",
    "commit_offsets",
    "committed_offsets",
    "offsets_at",
    "read_offsets",
    "scan",
    "write_offsets",
]

Lookup = Callable[[Consumer, dict[TopicPartition, int]], Mapping[TopicPartition, Any]]
"""ListOffsets by timestamp; tests replace it to stand in for a broker that answers right."""


def write_offsets(path: Path, offsets: Offsets) -> None:
    by_topic: dict[str, dict[str, int]] = {}
    for (topic, partition), offset in sorted(offsets.items()):
        by_topic.setdefault(topic, {})[str(partition)] = offset
    path.write_text(json.dumps(by_topic, indent=2) + "\n", encoding="utf-8")


def beginning_offsets(config: Mapping[str, Any], partitions: Iterable[tuple[str, int]]) -> Offsets:
    tps = [TopicPartition(t, p) for t, p in partitions]
    with probe_consumer(config) as consumer:
        found = consumer.beginning_offsets(tps)
    return {(tp.topic, tp.partition): offset for tp, offset in found.items()}


@dataclass
class TimeOffsets:
    """The first offset at or after a moment, per partition, and how each was found."""

    offsets: Offsets
    searched: set[tuple[str, int]] = field(default_factory=set)
    """Partitions where the broker's answer failed the check and the binary search ran."""
    fetches: int = 0
    """Records fetched to check and search (the cost of not trusting the broker)."""


def offsets_at(
    config: Mapping[str, Any],
    partitions: Iterable[tuple[str, int]],
    when: datetime,
    *,
    lookup: Lookup | None = None,
) -> TimeOffsets:
    """The first offset whose record timestamp is at or after ``when``, per partition (the log
    end where every record is older). See the module docstring for how the answer is checked."""
    parts = list(partitions)
    target = int(when.timestamp() * 1000)
    ends = end_offsets(config, parts)
    begins = beginning_offsets(config, parts)
    result = TimeOffsets({})
    with probe_consumer(config, max_partition_fetch_bytes=64 << 10) as consumer:
        probe = _Probe(consumer, result)
        tps = [TopicPartition(t, p) for t, p in parts]
        answers = (lookup or _list_offsets)(consumer, dict.fromkeys(tps, target))
        for tp in tps:
            key = (tp.topic, tp.partition)
            lo, hi = begins.get(key, 0), ends.get(key, 0)
            answer = answers.get(tp)
            offset = hi if answer is None else int(answer.offset)
            if not probe.first_at_or_after(tp, offset, lo, hi, target):
                result.searched.add(key)
                offset = probe.search(tp, lo, hi, target)
            result.offsets[key] = offset
    return result


def _list_offsets(
    consumer: Consumer, timestamps: dict[TopicPartition, int]
) -> Mapping[TopicPartition, Any]:
    return consumer.offsets_for_times(timestamps)


class _Probe:
    """Record timestamps by offset, one fetch each, through one consumer."""

    def __init__(self, consumer: Consumer, result: TimeOffsets) -> None:
        self.consumer = consumer
        self.result = result

    def timestamp(self, tp: TopicPartition, offset: int) -> int:
        """The timestamp (ms) of the first record at or after ``offset``."""
        self.result.fetches += 1
        self.consumer.assign([tp])
        self.consumer.seek(tp, offset)
        for _ in range(50):
            for record in self.consumer.poll(timeout_ms=200, max_records=1).get(tp, ()):
                if record.offset >= offset:
                    return int(record.timestamp)
        raise StoreError(f"no record at {tp.topic}/{tp.partition}@{offset}", reason="fetch")

    def first_at_or_after(
        self, tp: TopicPartition, offset: int, lo: int, hi: int, target: int
    ) -> bool:
        """``offset`` is the first in [lo, hi] whose record is at or after ``target``."""
        if not lo <= offset <= hi:
            return False
        if offset < hi and self.timestamp(tp, offset) < target:
            return False
        return offset == lo or self.timestamp(tp, offset - 1) < target

    def search(self, tp: TopicPartition, lo: int, hi: int, target: int) -> int:
        while lo < hi:
            mid = (lo + hi) // 2
            if self.timestamp(tp, mid) >= target:
                hi = mid
            else:
                lo = mid + 1
        return lo


def scan(
    config: Mapping[str, Any], topics: Iterable[str], *, timeout_s: float = 60.0
) -> Iterator[Any]:
    """Every record of ``topics`` from the beginning to the current end (the fetch high
    watermark, so the embedded broker's low ListOffsets answer cannot cut it short)."""
    ends = {tp: end for tp, end in topic_end_offsets(config, topics).items() if end}
    if not ends:
        return
    with probe_consumer(config, auto_offset_reset="earliest") as consumer:
        consumer.assign([TopicPartition(t, p) for t, p in ends])
        for t, p in ends:
            consumer.seek_to_beginning(TopicPartition(t, p))
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(TopicPartition(*k)) < end for k, end in ends.items()):
            if time.monotonic() > deadline:
                raise StoreError(f"reading {sorted(ends)} took over {timeout_s} s", reason="fetch")
            for tp, batch in consumer.poll(timeout_ms=500).items():
                key = (tp.topic, tp.partition)
                yield from (record for record in batch if record.offset < ends[key])
