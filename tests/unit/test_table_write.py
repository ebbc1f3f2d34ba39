"""A batch's writes (streams/worker/table.py ``write``): a partition's books go straight to the
Kafka client as one segment record (midfield/bus/changelog.py), and no book changes until the
client has every record of the batch. The tables are the worker's own, from ``create_app``;
the producer is a stand-in (no broker here) with faust's ``Producer.send`` signature that keeps
what it is handed, and looks at the ledger each time it is handed a record. Last, the duty
report over books so written: how it reads the ledger's lights."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import faust
import pytest
from faust.exceptions import ProducerSendError
from faust.types.tuples import Message

from bench.memory import envelopes
from midfield.bus.changelog import fold
from midfield.clock import utc_now
from midfield.settings import Settings
from streams.books import task_book
from streams.books.book import KeptSummary
from streams.views import duty_report, reporting
from streams.worker import store
from streams.worker.app import create_app
from streams.worker.table import write
from streams.worker.turns import Turns
from tests.loop_watch import LoopWatch

TASKS = "office.supervision.task.v1"


class _Producer:
    """The records handed over, ``(topic, key, value, partition)``, and the ledger's keys each
    time one was; refuses the ``refuse``-th record (from 1)."""

    def __init__(self, ledger: Any = None, refuse: int = 0) -> None:
        self.ledger, self.refuse = ledger, refuse
        self.sent: list[tuple[str, bytes, bytes, int | None]] = []
        self.kept_then: list[set[str]] = []

    async def send(self, topic: str, key: bytes, value: bytes, partition: int | None,
                   timestamp: float | None, headers: Any) -> asyncio.Future[Any]:  # fmt: skip
        await asyncio.sleep(0)  # as the client does when a batch is full: others run meanwhile
        if len(self.sent) + 1 == self.refuse:
            raise ProducerSendError("the client refused the record")
        self.sent.append((topic, key, value, partition))
        self.kept_then.append(set(self.ledger.data.keys()))
        return asyncio.get_running_loop().create_future()  # never delivered: nothing persisted


def _ledger(refuse: int = 0) -> tuple[Any, _Producer]:
    app = create_app(Settings())
    ledger = app.books["ledger"]
    producer = _Producer(ledger, refuse)
    app._producer = producer  # type: ignore[attr-defined]  # faust's own slot for it
    return ledger, producer


def _event(app: faust.App, partition: int) -> Any:
    message = Message(TASKS, partition, 7, 0.0, 0, None, b"T", b"{}", None)
    return app.create_event("T", {}, {}, message)  # type: ignore[attr-defined]


def _tasks(n: int) -> list[Any]:
    """Supervised tasks' books, as the ledger's first event makes them."""
    return [task_book.apply(None, e).book for e in envelopes(n, utc_now())]  # type: ignore[union-attr]


async def test_a_partition_s_books_go_as_one_segment_record_then_are_kept() -> None:
    ledger, producer = _ledger()
    first, second, third = _tasks(3)

    await write([(ledger, "T-1", first, _event(ledger.app, 3)),
                 (ledger, "T-2", second, _event(ledger.app, 0)),
                 (ledger, "T-3", third, _event(ledger.app, 3))])  # fmt: skip

    topic = ledger.changelog_topic_name
    assert [(t, json.loads(k), p) for t, k, _, p in producer.sent] == [
        (topic, "~segment/0", 3), (topic, "~segment/0", 0)]  # fmt: skip
    read = [(json.loads(k), json.loads(v)) for _, k, v, _ in producer.sent]
    assert fold(read[:1]) == {"T-1": first, "T-3": third}
    assert fold(read[1:]) == {"T-2": second}
    assert (ledger.data["T-1"], ledger.data["T-2"]) == (first, second)
    assert ledger.data._key_partition == {"T-1": 3, "T-2": 0, "T-3": 3}  # dropped if it moves
    assert {"T-1", "T-2", "T-3"} <= set(ledger.summary.rows)
    assert ledger.data.segments(3).where == {"T-1": 0, "T-3": 0}


async def test_a_table_not_segmented_sends_faust_s_own_record_per_book(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger, producer = _ledger()
    # as for a RocksDB store, or a serializer other than plain JSON
    monkeypatch.setattr(type(ledger), "segmented", property(lambda self: False))
    (book,) = _tasks(1)

    await write([(ledger, "T-1", book, _event(ledger.app, 2))])

    message = ledger.changelog_topic.as_future_message(
        key="T-1", value=book, partition=2,
        key_serializer=ledger.key_serializer, value_serializer=ledger.value_serializer,
    ).message  # fmt: skip
    assert producer.sent == [(ledger.changelog_topic_name, message.key, message.value, 2)]
    assert ledger.data["T-1"] == book


async def test_a_book_is_kept_as_its_changelog_json_not_encoded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger, producer = _ledger()
    (book,) = _tasks(1)

    def encoded_again(value: Any) -> bytes:
        raise AssertionError("the book was encoded again for the store")

    monkeypatch.setattr(store, "pack", encoded_again)
    await write([(ledger, "T-1", book, _event(ledger.app, 1))])

    kept = store.inflate(ledger.data.data.packed("T-1"))  # type: ignore[arg-type]
    assert b'"T-1":' + kept in producer.sent[0][2]
    assert ledger.data["T-1"] == book


async def test_no_book_changes_until_the_client_has_every_record_of_the_batch() -> None:
    ledger, producer = _ledger()

    await write((ledger, f"T-{n}", book, _event(ledger.app, n)) for n, book in enumerate(_tasks(3)))

    assert producer.kept_then == [set(), set(), set()]
    assert set(ledger.data.keys()) == {"T-0", "T-1", "T-2"}


async def test_a_record_the_client_refused_leaves_every_book_as_it_was() -> None:
    ledger, producer = _ledger(refuse=2)

    with pytest.raises(ProducerSendError):
        await write((ledger, f"T-{n}", book, _event(ledger.app, n))
                    for n, book in enumerate(_tasks(2)))  # fmt: skip

    assert len(producer.sent) == 1  # handed over: the batch read again writes it again
    assert not list(ledger.data.keys()) and not ledger.data._key_partition
    assert not ledger.summary.rows


class _QuickProducer(_Producer):
    """Takes a record without giving the loop a turn, as the client does while its buffer has
    room."""

    async def send(self, topic: str, key: bytes, value: bytes, partition: int | None,
                   timestamp: float | None, headers: Any) -> asyncio.Future[Any]:  # fmt: skip
        self.sent.append((topic, key, value, partition))
        return asyncio.get_running_loop().create_future()


@pytest.mark.parametrize(("step_s", "turns"), [(0.0, True), (60.0, False)])
async def test_books_are_packed_with_the_loop_turning_every_step_and_kept_all_at_once(
    step_s: float, turns: bool
) -> None:
    ledger, _ = _ledger()
    ledger.app._producer = _QuickProducer(ledger)  # type: ignore[attr-defined]
    async with LoopWatch(lambda: len(ledger.data)) as watch:
        await write(((ledger, f"T-{n}", b, _event(ledger.app, 0))
                     for n, b in enumerate(_tasks(5))), Turns(step_s))  # fmt: skip
    assert len(ledger.data) == 5
    assert (watch.turns >= 5) is turns, watch.seen  # a turn after each book packed, or none
    assert set(watch.seen) == {0}  # none kept while packing


class _Told(KeptSummary):
    """A summary that notes what it prepared (with how many books the store held then) and
    what it was told with it."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.notes: list[tuple[str, str, object]] = []

    def prepare(self, key: str, book: Any) -> object:
        self.notes.append(("prepared", key, len(self.store)))
        return f"made of {key}"

    def put_prepared(self, key: str, book: Any, prepared: object) -> None:
        self.notes.append(("told", key, prepared))

    def put(self, key: str, book: Any) -> None:
        self.notes.append(("told", key, "unprepared"))

    def forget(self) -> None:
        self.notes.clear()


async def test_a_summary_prepares_with_the_loop_turning_and_is_told_with_it_all_at_once() -> None:
    """What a summary derives from a book alone (the messages' times, the suggestions'
    features) is made before any book of the batch is kept, the loop turning between; the
    keeping then tells it each book with what it made."""
    ledger, _ = _ledger()
    ledger.app._producer = _QuickProducer(ledger)  # type: ignore[attr-defined]
    summary = ledger.summary = _Told(ledger.data)

    async with LoopWatch(lambda: len(summary.notes)) as watch:
        await write(((ledger, f"T-{n}", b, _event(ledger.app, 0))
                     for n, b in enumerate(_tasks(3))), Turns(0.0))  # fmt: skip

    keys = ["T-0", "T-1", "T-2"]
    assert summary.notes == [("prepared", k, 0) for k in keys] + [
        ("told", k, f"made of {k}") for k in keys]  # fmt: skip
    seen = set(watch.seen)
    assert {1, 2} <= seen  # the loop turned between preparations, never between tellings
    assert not {4, 5} & seen


async def test_the_duty_report_reads_the_lights_without_relighting_every_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A view's read during the report's own reads lights the ledger later than the report's
    ``now``: a read at that ``now`` would count as the clock gone back and relight all tasks."""
    ledger, _ = _ledger()
    app = ledger.app
    ledger.app._producer = _QuickProducer(ledger)  # type: ignore[attr-defined]
    books = _tasks(20)
    await write((ledger, b["task_id"], b, _event(app, 0)) for b in books)
    start = utc_now()
    app.clock = lambda: start + timedelta(minutes=2)
    ledger.summary.at(start + timedelta(minutes=1))  # the view's read, later than the report's
    relit: list[str] = []
    real = ledger.summary._relight
    monkeypatch.setattr(ledger.summary, "_relight", lambda k, at: (relit.append(k), real(k, at)))
    zone = app.settings.office.zone
    win = duty_report.window(start.astimezone(zone).date(), None, {}, zone)

    report = await reporting.report_for(app, win, start)

    assert relit == [] and report["overdue_items"] == []


async def test_a_write_carries_a_sparse_segment_s_books_as_the_store_holds_them() -> None:
    ledger, producer = _ledger()
    ledger.app._producer = _QuickProducer(ledger)  # type: ignore[attr-defined]
    producer = ledger.app._producer
    books = _tasks(5)
    await write((ledger, f"T-{n}", b, _event(ledger.app, 0)) for n, b in enumerate(books[:4]))
    await write((ledger, f"T-{n}", books[4], _event(ledger.app, 0)) for n in range(3))
    packed_before = ledger.data.data.packed("T-3")

    await write([(ledger, "T-9", books[4], _event(ledger.app, 0))])

    last = json.loads(producer.sent[-1][2])["books"]
    assert last == {"T-9": books[4], "T-3": books[3]}  # T-3 alone was left in segment 0
    assert ledger.data.data.packed("T-3") is packed_before  # carried, not written again
    assert ledger.data.segments(0).where["T-3"] == ledger.data.segments(0).where["T-9"]


async def test_books_carried_from_sparse_segments_are_read_with_the_loop_turning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Carrying a long book inflates it again: a batch of 500 may carry up to 500 more, which
    were read with no turn between them."""
    ledger, _ = _ledger()
    ledger.app._producer = _QuickProducer(ledger)  # type: ignore[attr-defined]
    books = _tasks(7)
    await write((ledger, f"T-{n}", b, _event(ledger.app, 0)) for n, b in enumerate(books[:6]))
    await write((ledger, f"T-{n}", books[6], _event(ledger.app, 0)) for n in range(4))
    read_at: list[int] = []
    books_type = type(ledger.data.data)
    real = books_type.json
    async with LoopWatch() as watch:

        def noted(self: Any, key: str) -> bytes | None:
            read_at.append(watch.turns)
            return real(self, key)  # type: ignore[no-any-return]

        monkeypatch.setattr(books_type, "json", noted)
        await write([(ledger, "T-8", books[6], _event(ledger.app, 0)),
                     (ledger, "T-9", books[6], _event(ledger.app, 0))], Turns(0.0))  # fmt: skip

    assert len(read_at) == 2  # T-4 and T-5 carried out of segment 0, a third live
    assert read_at[0] < read_at[1]  # a turn between them
