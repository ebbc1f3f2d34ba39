"""The memory store keeps books as compressed JSON bytes (streams/worker/store.py): a read is a
fresh copy, a write packs, and changelog records are applied in order (tombstones included) without
going through the Python objects. Tables are the worker's own, from ``create_app``; events are
faust's own ``Event``/``Message``, as recovery hands them over."""

from __future__ import annotations

import gc
import tracemalloc
import zlib
from typing import Any

import faust
import orjson
import pytest
from faust.types.tuples import Message

from bench.memory import envelopes
from midfield.bus.changelog import fold
from midfield.clock import utc_now
from midfield.settings import Settings, WorkerSettings
from streams.books import task_book
from streams.worker import store
from streams.worker.app import create_app
from streams.worker.store import PackedBooks, PackedStore


def _changelog_event(app: faust.App, key: str, value: Any, partition: int = 0) -> Any:
    raw = None if value is None else orjson.dumps(value)
    message = Message("ledger-changelog", partition, 0, 0.0, 0, None, key.encode(), raw, None)
    return app.create_event(key, value, {}, message)  # type: ignore[attr-defined]


def test_a_book_read_is_a_copy_and_must_be_set_again_to_change() -> None:
    books = PackedBooks()
    books["T-1"] = {"status": "created", "history": [{"kind": "created"}]}
    book = books["T-1"]
    book["status"] = "completed"
    assert books["T-1"]["status"] == "created"
    books["T-1"] = book
    assert books["T-1"] == {"status": "completed", "history": [{"kind": "created"}]}
    assert list(books) == ["T-1"] and len(books) == 1 and "T-1" in books and "T-2" not in books
    del books["T-1"]
    assert len(books) == 0


def test_memory_tables_pack_their_books_and_the_collector_does_not_see_them() -> None:
    app = create_app(Settings())
    store = app.books["ledger"].data
    assert isinstance(store, PackedStore) and store.json_values
    tasks = [task_book.apply(None, e).book for e in envelopes(200, utc_now())]  # type: ignore[union-attr]
    for book in tasks:
        store[book["task_id"]] = book
    assert [store[b["task_id"]] for b in tasks] == tasks
    packed = store.data.packed_bytes() / len(tasks)
    as_json = sum(len(orjson.dumps(b)) for b in tasks) / len(tasks)
    assert packed < as_json / 2, (packed, as_json)
    assert not any(gc.is_tracked(blob) for blob in store.data._packed.values())


def test_changelog_records_apply_in_order_tombstones_included() -> None:
    app = create_app(Settings())
    table = app.books["ledger"]
    events = [
        _changelog_event(app, "T-1", {"v": 1}, partition=2),
        _changelog_event(app, "T-2", {"v": 1}),
        _changelog_event(app, "T-1", {"v": 2}, partition=2),
        _changelog_event(app, "T-2", None),  # deleted
        _changelog_event(app, "T-3", None),
        _changelog_event(app, "T-3", {"v": 3}, partition=1),  # deleted, then set again
    ]
    table.apply_changelog_batch(events)
    assert dict(table.data.items()) == {"T-1": {"v": 2}, "T-3": {"v": 3}}
    assert table.data._key_partition == {"T-1": 2, "T-3": 1}


def test_segments_apply_as_the_changelog_reads_and_rebuild_where_books_live() -> None:
    """What a worker writes (streams/worker/table.py), read back as recovery reads it: the
    same books as :func:`midfield.bus.changelog.fold`, and the log knows each book's segment."""
    app = create_app(Settings())
    table = app.books["ledger"]
    records: list[tuple[str, Any, int]] = [
        ("T-1", {"v": 0}, 1),  # written before segments
        ("T-9", {"v": 0}, 1),
        ("~segment/0", {"books": {"T-1": {"v": 1}, "T-2": {"v": 1}}}, 1),
        ("T-1", None, 1),  # the per-entity record cleaned up: not a delete
        ("~segment/1", {"books": {"T-2": {"v": 2}, "T-9": None}}, 1),
        ("~segment/0", {"books": {"T-4": {"v": 1}}}, 2),
        ("~segment/7", None, 1),  # a dead segment's tombstone
    ]
    table.apply_changelog_batch([_changelog_event(app, k, v, p) for k, v, p in records])
    assert dict(table.data.items()) == fold([(k, v) for k, v, _ in records])
    assert dict(table.data.items()) == {"T-1": {"v": 1}, "T-2": {"v": 2}, "T-4": {"v": 1}}
    assert table.data._key_partition == {"T-1": 1, "T-2": 1, "T-4": 2}
    log = table.data.segments(1)
    assert log.where == {"T-1": 0, "T-2": 1, "T-9": 1} and log.live == {0: 1, 1: 2}
    assert table.data.segments(2).where == {"T-4": 0}


def test_rocksdb_tables_keep_faust_s_store() -> None:
    pytest.importorskip("rocksdict", reason="the [rocksdb] extra is not installed")
    app = create_app(Settings(worker=WorkerSettings(store="rocksdb://")))
    store = app.books["ledger"].data
    assert type(store).__module__ == "faust.stores.rocksdb", type(store)


@pytest.mark.parametrize("lines", [0, 1, 40, 5000])
def test_a_book_of_any_size_comes_back_whole(lines: int) -> None:
    """Unpacking starts from a buffer sized for a task's book; a book's long history (JSON
    many times the packed size: it repeats itself) comes back whole too."""
    book = {"task_id": "DC-1", "history": [{"step": "progress", "note": "按计划推进"}] * lines}
    books = PackedBooks()
    books["DC-1"] = book
    assert books["DC-1"] == book


def test_books_are_packed_with_a_small_window_and_either_window_unpacks() -> None:
    """Deflate's default 32 KiB window costs ~270 KB of state per book written (store.WBITS);
    the zlib header's CINFO says which window a blob was packed with."""
    book = {"task_id": "DC-1", "history": [{"step": "progress", "note": "按计划推进"}] * 40}
    books = PackedBooks()
    books["DC-1"] = book
    books.put_json("DC-2", orjson.dumps(book))
    for key in ("DC-1", "DC-2"):
        assert books.packed(key)[0] >> 4 == store.WBITS - 8  # type: ignore[index]
    assert store.unpack(zlib.compress(orjson.dumps(book))) == book  # the default window too


def test_a_short_book_is_kept_as_its_json_and_a_long_one_deflated() -> None:
    """Deflate cost 12–17 µs to set up for every book written and saved ~20–30% of a short one
    (store.RAW_MAX): a short book is kept as its JSON; the first byte tells the two apart."""
    short = {"entry_id": "D-1", "kind": "call", "summary": "道路结冰，已安排处置"}
    long = {"task_id": "DC-1", "history": [{"step": "progress", "note": "按计划推进"}] * 40}
    assert len(orjson.dumps(short)) <= store.RAW_MAX < len(orjson.dumps(long))
    books = PackedBooks()
    books["D-1"], books["DC-1"] = short, long
    books.put_json("D-2", orjson.dumps(short))
    assert books.packed("D-1") == books.packed("D-2") == orjson.dumps(short)
    assert zlib.decompress(books.packed("DC-1")) == orjson.dumps(long)  # type: ignore[arg-type]
    assert (books["D-1"], books["D-2"], books["DC-1"]) == (short, short, long)
    assert books.json("D-1") == orjson.dumps(short)
    assert store.unpack(store.compress(orjson.dumps([1, 2]))) == [1, 2]  # not an object: deflated


def test_a_short_book_kept_as_its_json_holds_its_length_not_orjson_s_buffer() -> None:
    """``orjson.dumps`` returns bytes over the buffer it wrote into (~4 KB for a 300-byte
    book): kept as they came, a worker loading the views bench's 1M messages passed 4 GB."""
    books = PackedBooks()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(1000):
            books.put_json(f"D-{n}", orjson.dumps({"entry_id": f"D-{n}", "note": "x" * 250}))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert books.packed("D-1")[:1] == b"{"  # type: ignore[index]
    assert held < 1000 * 600, f"{held / 1000:.0f} bytes a book of ~280"


def test_recovery_holds_a_few_decoded_segments_at_a_time_not_faust_s_thousand() -> None:
    """A segment is up to 512 KiB of books, several MB decoded: faust's 1,000 records held
    before they are applied took a worker recovering 100k tasks to 1.8 GiB."""
    app = create_app(Settings())
    sizes = {name: table.recovery_buffer_size for name, table in app.books.items()}
    assert sizes and max(sizes.values()) <= 16, sizes
