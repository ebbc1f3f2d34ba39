"""faust's Table, fixed so a worker stops serving books of partitions that moved away.

faust-streaming's memory store remembers the partition of each key only for keys it read from
a changelog (``Store._key_partition``, filled in ``apply_changelog_batch``); after a rebalance
it drops the keys of partitions it no longer holds (``on_recovery_completed``). Keys this
worker *wrote* are not in that map, so they stay: after a partition moves to another worker
the old one keeps answering stale copies of its books, and the two workers together answer
those entries twice (measured: tests/integration/test_scale_out.py). Here every write also
records its key's partition, so faust's own clean-up drops them. The RocksDB store keeps one
database per partition and needs nothing (checked by ``isinstance``).
"""

from __future__ import annotations

from typing import Any

import faust
from faust.stores.memory import Store as MemoryStore
from faust.streams import current_event

__all__ = ["Table"]


class Table(faust.Table):  # type: ignore[type-arg]  # faust's generics are untyped
    def on_key_set(self, key: Any, value: Any) -> None:
        super().on_key_set(key, value)
        store = self.data
        if isinstance(store, MemoryStore):
            partition = self.partition_for_key(key)
            if partition is None:  # use_partitioner tables: the event's partition is the key's
                event = current_event()
                partition = event.message.partition if event is not None else None
            if partition is not None:
                store._key_partition[key] = partition
