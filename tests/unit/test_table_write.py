"""A batch's writes (streams/worker/table.py ``write``): each changelog record goes straight to
the Kafka client, as faust's own ``send_changelog`` would have made it, and no book changes until
the client has every record of the batch. The tables are the worker's own, from ``create_app``;
the producer is a stand-in (no broker here) with faust's ``Producer.send`` signature that keeps
what it is handed, and looks at the ledger each time it is handed a record. Last, the duty
report over books so written: how it reads the ledger's lights."""

from __future__ import annotations

import asyncio
import zlib
from datetime import timedelta
from typing import Any

import faust
import pytest
from faust.exceptions import ProducerSendError
from faust.types.tuples import Message

from bench.memory import envelopes
from midfield.clock import utc_now
from midfield.settings import Settings
from streams.books import task_book
from streams.views import duty_report, reporting
from streams.worker import store
from streams.worker.app import create_app
from streams.worker.table import write

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


async def test_each_record_is_faust_s_changelog_record_then_the_books_are_kept() -> None:
    ledger, producer = _ledger()
    first, second = _tasks(2)

    await write([(ledger, "T-1", first, _event(ledger.app, 3)),
                 (ledger, "T-2", second, _event(ledger.app, 0))])  # fmt: skip

    def faust_s(key: str, book: Any, partition: int) -> tuple[str, bytes, bytes, int]:
        message = ledger.changelog_topic.as_future_message(
            key=key, value=book, partition=partition,
            key_serializer=ledger.key_serializer, value_serializer=ledger.value_serializer,
        ).message  # fmt: skip
        return ledger.changelog_topic_name, message.key, message.value, partition

    assert producer.sent == [faust_s("T-1", first, 3), faust_s("T-2", second, 0)]
    assert (ledger.data["T-1"], ledger.data["T-2"]) == (first, second)
    assert ledger.data._key_partition == {"T-1": 3, "T-2": 0}  # dropped if the partition moves
    assert {"T-1", "T-2"} <= set(ledger.summary.rows)


async def test_a_book_is_kept_as_its_changelog_record_s_json_not_encoded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger, producer = _ledger()
    (book,) = _tasks(1)

    def encoded_again(value: Any) -> bytes:
        raise AssertionError("the book was encoded again for the store")

    monkeypatch.setattr(store, "pack", encoded_again)
    await write([(ledger, "T-1", book, _event(ledger.app, 1))])

    assert zlib.decompress(ledger.data.data.packed("T-1")) == producer.sent[0][2]
    assert ledger.data["T-1"] == book


async def test_no_book_changes_until_the_client_has_every_record_of_the_batch() -> None:
    ledger, producer = _ledger()

    await write((ledger, f"T-{n}", book, _event(ledger.app, n)) for n, book in enumerate(_tasks(3)))

    assert producer.kept_then == [set(), set(), set()]
    assert set(ledger.data.keys()) == {"T-0", "T-1", "T-2"}


async def test_a_record_the_client_refused_leaves_every_book_as_it_was() -> None:
    ledger, producer = _ledger(refuse=2)

    with pytest.raises(ProducerSendError):
        await write((ledger, f"T-{n}", book, _event(ledger.app, 0))
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
    seen: list[int] = []

    async def view() -> None:
        while True:
            seen.append(len(ledger.data))
            await asyncio.sleep(0)

    looking = asyncio.create_task(view())
    await asyncio.sleep(0)
    await write(((ledger, f"T-{n}", b, _event(ledger.app, 0)) for n, b in enumerate(_tasks(5))),
                step_s=step_s)  # fmt: skip
    looking.cancel()
    assert len(ledger.data) == 5
    assert (len(seen) >= 5) is turns, seen  # a turn after each book packed, or none
    assert set(seen) == {0}  # none kept while packing


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
