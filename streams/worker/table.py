"""faust's Table, fixed so a worker stops serving books of partitions that moved away.

faust-streaming's memory store remembers the partition of each key only for keys it read from
a changelog (``Store._key_partition``, filled in ``apply_changelog_batch``); after a rebalance
it drops the keys of partitions it no longer holds (``on_recovery_completed``). Keys this
worker *wrote* are not in that map, so they stay: after a partition moves to another worker
the old one keeps answering stale copies of its books, and the two workers together answer
those entries twice (measured: tests/integration/test_scale_out.py). Here every write also
records its key's partition, so faust's own clean-up drops them. The RocksDB store keeps one
database per partition and needs nothing (checked by ``isinstance``).

``memory://`` tables get :class:`streams.store.PackedStore`: faust's memory store with each book
held as compressed JSON bytes (a quarter of the memory, nothing for the garbage collector to walk).

A batch's books are written by :func:`write`: their changelog records straight to the Kafka
client, then the books, rather than through faust's ``send_soon`` and producer buffer. A packed
table's books of one partition go as one segment record (midfield/bus/changelog.py,
streams/worker/segments.py), not one record each.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, cast

import faust
import orjson
from faust.stores.memory import Store as MemoryStore
from faust.streams import _current_event, current_event
from faust.types import EventT
from faust.types.stores import StoreT

from midfield.bus.changelog import segment_key, segment_value, segments
from streams.books.book import Summary
from streams.worker.segments import SegmentLog
from streams.worker.store import PackedStore, compress
from streams.worker.turns import STEP_S, Turns, book_chunks, settle

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["Table", "write"]

_UNPREPARED = object()
"""A book kept with nothing its summary prepared (:meth:`Table.keep`)."""


class Table(faust.Table):  # type: ignore[type-arg]  # faust's generics are untyped
    summary: Summary | None = None
    """The book's summary (streams/books/book.py), told every write and, after a recovery,
    every entity this worker then holds."""

    async def hand_over(self, key: Any, value: Any, *, event: EventT[Any]) -> None:
        """``key``'s changelog record, serialized and partitioned as faust's ``send_changelog``
        makes it (``event``: the last of a batch that changed ``key``; the changelog takes its
        partition), handed to the Kafka client: see :func:`write`. For a table not segmented."""
        self._verify_source_topic_partitions(event.message.topic)
        topic = self.changelog_topic
        record_key, _ = topic.prepare_key(key, self.key_serializer)
        record_value, _ = topic.prepare_value(value, self.value_serializer)
        sent = await self.app.producer.send(topic.get_topic_name(), record_key, record_value,
                                            event.message.partition, None, None)  # fmt: skip
        cast("MidfieldApp", self.app).changelog_sends.add(sent)
        if not isinstance(self.data, MemoryStore):  # RocksDB keeps the offsets it holds
            # faust's own callback; it reads only the result, which is this future's
            sent = cast("asyncio.Future[Any]", sent)
            sent.add_done_callback(self._on_changelog_sent)  # type: ignore[arg-type]

    @property
    def segmented(self) -> bool:
        """Whether a batch's books go to the changelog as segments (:meth:`hand_over_segment`):
        the packed memory store's plain-JSON books, whose recovery reads segments."""
        store = self.data
        return isinstance(store, PackedStore) and store.json_values

    async def hand_over_segment(
        self, partition: int, entries: list[tuple[Any, Any, EventT[Any]]], turns: Turns
    ) -> list[tuple[Any, Any, EventT[Any], bytes | None]]:
        """A batch's ``(key, book, event)`` of one ``partition`` handed to the Kafka client as
        segment records (one unless past ``MAX_SEGMENT_BYTES`` of books), each book encoded once
        and packed for the store from that JSON; as many books of sparse segments carried along
        as the batch writes (streams/worker/segments.py); the event loop given its ``turns``
        through both (a long book carried is inflated again).
        Returns each entry with its packed book (``None``: deleted), for :meth:`keep`."""
        self._verify_source_topic_partitions(entries[0][2].message.topic)
        store = cast("PackedStore", self.data)
        log = store.segments(partition)
        kept: list[tuple[Any, Any, EventT[Any], bytes | None]] = []
        entries_json: list[tuple[str, bytes | None]] = []
        async for key, value, event in turns.over(entries):
            json = None if value is None else orjson.dumps(value)
            entries_json.append((key, json))
            kept.append((key, value, event, None if json is None else compress(json)))
        written = {key for key, _ in entries_json}
        carried = log.carry(len(entries_json), written)  # unchanged: sent, not kept again
        async for key in turns.over(carried):
            entries_json.append((key, store.data.json(key)))
        for chunk in segments(entries_json):
            await self._send_segment(log, partition, chunk)
        return kept

    async def _send_segment(
        self, log: SegmentLog, partition: int, chunk: list[tuple[str, bytes | None]]
    ) -> None:
        """One segment record, then the tombstones of dead segments past the log's reuse and of
        the per-entity records it makes useless; the log learns of them once the client has
        them all."""
        plan = log.plan([key for key, _ in chunk])
        sent = await self._send_raw(segment_key(plan.number), segment_value(chunk), partition)
        for number in plan.tombstones:
            await self._send_raw(segment_key(number), None, partition)
        for key in plan.legacy:
            await self._send_raw(key, None, partition)
        log.commit(plan, sent)

    async def _send_raw(self, key: str, value: bytes | None, partition: int) -> Any:
        """The record handed to the client; its delivery's future (checked before a commit)."""
        topic = self.changelog_topic
        record_key, _ = topic.prepare_key(key, self.key_serializer)
        sent = await self.app.producer.send(topic.get_topic_name(), record_key, value, partition,
                                            None, None)  # fmt: skip
        cast("MidfieldApp", self.app).changelog_sends.add(sent)
        return sent

    def version(self, key: Any) -> object | None:
        """An object that stays the same until ``key``'s book is written again (its packed
        bytes in the memory store), for a view to remember what it made of the book
        (streams/views/rows.py); ``None`` when there is no book or the store cannot say
        (RocksDB)."""
        store = self.data
        return store.data.packed(key) if isinstance(store, PackedStore) else None

    def chunks(
        self, size: int = 500, *, with_keys: bool = False, keys: Iterable[Any] | None = None
    ) -> AsyncIterator[list[Any]]:
        """This table's books in chunks, the event loop running between: :func:`book_chunks`,
        for the views, which do not import the worker."""
        return book_chunks(self, size, with_keys=with_keys, keys=keys)

    async def settle(self) -> None:
        """The summary's deferred work (the ledger's lights) done in ~10 ms steps with the event
        loop running between (:func:`settle`), for a read of it that follows."""
        if self.summary is not None:
            await settle(self.summary, cast("MidfieldApp", self.app).clock)

    def prepare(self, key: Any, value: Any) -> object:
        """What the summary derives from ``key``'s new book alone, made before :meth:`keep`
        (``Summary.prepare`` in streams/books/book.py)."""
        return None if self.summary is None else self.summary.prepare(key, value)

    def keep(
        self,
        key: Any,
        value: Any,
        *,
        event: EventT[Any],
        packed: bytes | None = None,
        prepared: object = _UNPREPARED,
    ) -> None:
        """Set ``key`` in the store as ``event``'s processing would have (RocksDB picks its
        partition's database by the current event), and in the summary, without a changelog
        record: :meth:`hand_over` or :meth:`hand_over_segment` sent it. ``packed``: the book
        packed from its record's JSON (:meth:`hand_over_segment`); ``prepared``: what
        :meth:`prepare` made of it. faust's table sensors are not told (only its stats page,
        off here, reads them)."""
        if packed is not None:
            cast("PackedStore", self.data).data.put_packed(key, packed)
        elif value is None:
            self.data.pop(key, None)
        else:
            token = _current_event.set(weakref.ref(event))
            try:
                self.data[key] = value
            finally:
                _current_event.reset(token)
        self._kept(key, value, event.message.partition, prepared)

    def _new_store_by_url(self, url: Any) -> StoreT:  # type: ignore[type-arg]
        if not str(url).startswith("memory:"):
            return super()._new_store_by_url(url)
        return PackedStore(url, self.app, self, table_name=self.name, key_type=self.key_type,
                           key_serializer=self.key_serializer,
                           value_serializer=self.value_serializer, value_type=self.value_type,
                           loop=self.loop, options=self.options)  # fmt: skip

    def on_key_set(self, key: Any, value: Any) -> None:
        super().on_key_set(key, value)
        partition = self.partition_for_key(key)
        if partition is None:  # use_partitioner tables: the event's partition is the key's
            event = current_event()
            partition = event.message.partition if event is not None else None
        self._kept(key, value, partition)

    def _kept(
        self, key: Any, value: Any, partition: int | None, prepared: object = _UNPREPARED
    ) -> None:
        """What the table keeps beside the store: the summary, and the key's partition."""
        summary = self.summary
        if summary is not None and prepared is _UNPREPARED:
            summary.put(key, value)
        elif summary is not None:
            summary.put_prepared(key, value, prepared)
        store = self.data
        if partition is not None and isinstance(store, MemoryStore):
            store._key_partition[key] = partition

    def on_key_del(self, key: Any) -> None:
        super().on_key_del(key)
        if self.summary is not None:
            self.summary.put(key, None)

    async def on_recovery_completed(self, active_tps: Any, standby_tps: Any) -> None:
        """The summary again from what the worker holds now: recovery fills the store without
        :meth:`on_key_set`, and drops the keys of partitions that moved away."""
        await super().on_recovery_completed(active_tps, standby_tps)
        if self.summary is not None:
            self.summary.reset(())
            async for chunk in book_chunks(self, with_keys=True):
                for key, book in chunk:  # read and told with no await between: a write while
                    self.summary.put(key, book)  # the loop runs is told after, and wins
            await self.settle()


async def write(
    books: Iterable[tuple[Table, Any, Any, EventT[Any]]], turns: Turns | None = None
) -> None:
    """A batch's books, each ``(table, key, value, event)``: every changelog record handed to
    the Kafka client (a segment per table and partition, :meth:`Table.hand_over_segment`; one
    record per book for a table that is not segmented), then every book kept, with no await
    between, so a view sees all of the batch's books or none. Once this returns the records are
    the client's, and faust's commit flushes the client before it commits any offset; cancelled
    or failed before, no book has changed and the batch is read again.

    Straight to the client, not through faust's ``send_soon``: a future message per record,
    faust's producer buffer and its task handing them on one by one, and then a wait until that
    buffer was empty (faust's commit flushes it only until 0.1 s pass without a send). A profile
    of the live worker on bench/rebuild.py's 50k mixed events (py-spy, 1.3 records per event)
    put ~73 µs per event in that path, ~14 µs in this one.

    Each book is packed for the store as its record is made, and what the summaries derive
    from it alone is made after (``Summary.prepare``), the event loop given its ``turns`` (the
    batch's own clock; every :data:`STEP_S` when not given): the keeping, which
    must not be cut, is then only setting bytes and the summaries' counts. Packing in it held
    the loop 40–70 ms a batch of 500 messages; the messages' rows take ~4 µs a message to
    prepare, the suggestions' features ~13 (offline, at 300k messages)."""
    kept: list[tuple[Table, Any, Any, EventT[Any], bytes | None]] = []
    by_partition: dict[tuple[Table, int], list[tuple[Any, Any, EventT[Any]]]] = {}
    one_by_one = []
    for table, key, value, event in list(books):
        if table.segmented:
            by_partition.setdefault((table, event.message.partition), []).append(
                (key, value, event)
            )
        else:
            one_by_one.append((table, key, value, event))
    turns = Turns(STEP_S) if turns is None else turns  # one clock for the batch's loops
    async for table, key, value, event in turns.over(one_by_one):  # stores not packed
        await table.hand_over(key, value, event=event)
        kept.append((table, key, value, event, None))
    for (table, partition), entries in by_partition.items():
        segment = await table.hand_over_segment(partition, entries, turns)
        kept.extend((table, *entry) for entry in segment)
    prepared = [table.prepare(key, value)
                async for table, key, value, _, _ in turns.over(kept)]  # fmt: skip
    for (table, key, value, event, blob), ahead in zip(kept, prepared, strict=True):
        table.keep(key, value, event=event, packed=blob, prepared=ahead)
