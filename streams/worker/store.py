"""The memory store, holding each book as compressed JSON bytes instead of Python objects.

faust's memory store keeps every value as the Python objects the agents put in: a supervised
task's book is ~3.4 KB of dicts, lists and strings when applied live and ~6.7 KB once decoded
from its changelog (each decoded dict has key strings of its own), and every one of those
objects is walked by each full garbage collection, which stalls the event loop for hundreds of
milliseconds once the books number tens of thousands (bench/memory.py, bench/latency.py).
Kafka Streams' in-memory store keeps serialized bytes for the same reasons; so does this one:
the book as JSON (orjson), zlib-compressed at level 1 with a 16 KiB window: ~0.8 KB per task (a
book of up to :data:`RAW_MAX` bytes is kept as its JSON), and bytes objects are not tracked by
the garbage collector at all. A read decodes a fresh copy (~18 µs for a task), a write encodes
(~33 µs with zlib's default window, see WBITS): the same copy-on-read contract as the RocksDB
store, so code that changes a book must set it again, as it must for the changelog anyway.

Recovery packs a changelog record's value as it came: it is already the book's JSON, so it is
compressed without being encoded again (faust's consumer has decoded it too, for its own
bookkeeping). Only for plain-JSON tables; any other serializer's values are packed from the
decoded value. A segment record (midfield/bus/changelog.py) sets each of its books, and tells
the partition's :class:`~streams.worker.segments.SegmentLog` where they live.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

import orjson
from faust.stores.memory import Store as MemoryStore
from faust.types import TP, EventT

from midfield.bus.changelog import is_segment, segment_books, segment_id
from streams.worker.segments import SegmentLog

__all__ = ["PackedBooks", "PackedStore", "compress", "inflate", "pack", "unpack"]

LEVEL = 1  # level 6 saves ~6% more at 1.6x the time; books are rewritten on every event
WBITS = 14
"""A 16 KiB window, not zlib's default 32 KiB. Deflate's state for the default window is ~270 KB,
allocated and freed at every book written: past glibc's trim threshold, the heap's top is given
back and faulted in again each time. A 1.3 KB book took 47.6 µs to compress with the default
window and 16.6 µs with this one, offline in a fragmented 1 GB heap (56.1 and 5.2 in a fresh one;
bench/README.md); a book of up to ~20 KB compresses to the same size (a longer one by a few
bytes). :func:`unpack` reads either."""

MEM_LEVEL = 5
"""Deflate's hash table and output buffer at 1/8 of zlib's default size (memory level 8): ~40
KB less state to set up for each book written. A 1.1 KB task book packed in 19 µs against 31
(measured offline in a fragmented heap, 2026-12-07: docs/performance.md), to the same size; a
16 KB book one 0.4% smaller. The header does not record it: :func:`unpack` reads any."""


RAW_MAX = 512
"""A book whose JSON is at most this long is kept as that JSON, not compressed. Deflate saved
~30% of a ~480-byte duty-log entry or item and ~20% of a ~310-byte one, and cost 12–17 µs to set
up for each, whatever its length: a third of the live worker's packing (bench/rebuild.py's
mix, where 95k of its 112k books are that small). A task's ledger book (~2.4 KB, ~0.9 KB packed)
or a work order's (~1.7 KB) is compressed. The two are told apart by their first byte: a book is
a JSON object (``{``); a zlib stream never starts with it."""


def compress(json: bytes) -> bytes:
    """``json`` as held: a copy of itself if short (:data:`RAW_MAX`), deflated otherwise. A
    copy, for what ``orjson.dumps`` returns keeps the buffer it wrote into: 4–7 KB for a
    300-byte book, which took a worker loading 1M messages past 4 GB."""
    if len(json) <= RAW_MAX and json[:1] == b"{":
        return memoryview(json).tobytes()
    deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, WBITS, MEM_LEVEL)
    return deflate.compress(json) + deflate.flush()


def pack(value: Any) -> bytes:
    return compress(orjson.dumps(value))


def unpack(blob: bytes) -> Any:
    return orjson.loads(inflate(blob))


def inflate(blob: bytes) -> bytes:
    """A packed book's JSON."""
    if blob[:1] == b"{":  # kept as it was (RAW_MAX)
        return blob
    # zlib starts from a 16 KB output buffer and shrinks it to the book's ~2 KB of JSON: in a
    # worker's large, fragmented heap that cost ~20 µs a book against ~7 for a buffer near the
    # output's size (offline, 1 GB of freed and kept blobs: docs/performance.md); it grows
    return zlib.decompress(blob, zlib.MAX_WBITS, 4 * len(blob) + 1024)


class PackedBooks(MutableMapping[Any, Any]):
    """A dict of packed values that reads and writes like a dict of the values."""

    __slots__ = ("_packed",)

    def __init__(self) -> None:
        self._packed: dict[Any, bytes] = {}

    def __getitem__(self, key: Any) -> Any:
        return unpack(self._packed[key])

    def __setitem__(self, key: Any, value: Any) -> None:
        self._packed[key] = pack(value)

    def __delitem__(self, key: Any) -> None:
        del self._packed[key]

    def __contains__(self, key: object) -> bool:
        return key in self._packed

    def __iter__(self) -> Iterator[Any]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)

    def clear(self) -> None:
        self._packed.clear()

    def put_json(self, key: Any, json: bytes) -> None:
        """Store a value given as its JSON bytes, without decoding it."""
        self._packed[key] = compress(json)

    def put_packed(self, key: Any, packed: bytes) -> None:
        """Store a value given packed (:func:`compress` of its JSON)."""
        self._packed[key] = packed

    def json(self, key: Any) -> bytes | None:
        """``key``'s book as JSON bytes, not decoded (``None``: no book)."""
        blob = self._packed.get(key)
        return None if blob is None else inflate(blob)

    def packed(self, key: Any) -> bytes | None:
        """``key``'s book as held, packed: a new object at every write (``None``: no book)."""
        return self._packed.get(key)

    def packed_bytes(self) -> int:
        """The packed values' total size (what the books cost, less the dict's own slots)."""
        return sum(map(len, self._packed.values()))


class PackedStore(MemoryStore):  # type: ignore[type-arg]  # faust's generics are untyped
    def __post_init__(self) -> None:  # called by Service.__init__, before the table is set
        super().__post_init__()
        self.data: PackedBooks = PackedBooks()
        self.logs: dict[int, SegmentLog] = {}
        """Each partition's segments (streams/worker/segments.py)."""

    def _clear(self) -> None:
        super()._clear()
        self.logs.clear()

    @property
    def json_values(self) -> bool:
        """The changelog's values are plain JSON: packed as they come, without decoding."""
        schema = getattr(self.table, "schema", None)
        serializer = getattr(schema, "value_serializer", None) or self.value_serializer
        return serializer == "json" and self.value_type is None

    def segments(self, partition: int) -> SegmentLog:
        """Partition ``partition``'s segments (the changelog's, the books' partition)."""
        log = self.logs.get(partition)
        if log is None:
            log = self.logs[partition] = SegmentLog()
        return log

    def apply_changelog_batch(
        self,
        batch: Iterable[EventT],  # type: ignore[type-arg]
        to_key: Callable[[Any], Any],
        to_value: Callable[[Any], Any],
    ) -> None:
        """Apply changelog records in order, as :func:`midfield.bus.changelog.fold` reads them:
        a segment sets (or, ``null``, deletes) each of its books; a tombstone deletes its key,
        unless the key was written in a segment since (the per-entity record it had before is
        cleaned up); a value sets it."""
        as_json = self.json_values
        data, partitions = self.data, self._key_partition
        for event in batch:
            key = to_key(event.key)
            raw = event.message.value
            partition = event.message.partition
            if is_segment(key):
                self._apply_segment(segment_id(key), event, partition)
                continue
            log = self.logs.get(partition)
            if raw is None:
                if log is None or not log.in_segment(key):
                    data.pop(key, None)
                    partitions.pop(key, None)
                if log is not None:
                    log.recovered_entity(key, deleted=True)
                continue
            if as_json:
                data.put_json(key, raw)
                self.segments(partition).recovered_entity(key, deleted=False)
            else:
                data[key] = to_value(event.value)
            partitions[key] = partition

    def _apply_segment(self, number: int, event: EventT, partition: int) -> None:  # type: ignore[type-arg]
        log = self.segments(partition)
        if event.message.value is None:
            log.recovered_tombstone(number)
            return
        value = event.value  # faust decoded it as the table's JSON
        books = segment_books(orjson.loads(value) if isinstance(value, bytes | str) else value)
        data, partitions = self.data, self._key_partition
        for key, book in books.items():
            if book is None:
                data.pop(key, None)
                partitions.pop(key, None)
            else:
                data.put_json(key, orjson.dumps(book))
                partitions[key] = partition
        log.recovered(number, list(books))

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        """faust drops the books of partitions this worker no longer holds; their segments go
        with them (read again from the changelog if the partition comes back)."""
        await super().on_recovery_completed(active_tps, standby_tps)
        held = {tp.partition for tp in active_tps}
        for partition in [p for p in self.logs if p not in held]:
            del self.logs[partition]
