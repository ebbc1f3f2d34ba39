"""A batch's write of one book (streams/worker/table.py ``Table.write``): its changelog record
goes straight to the Kafka client, as faust's own ``send_changelog`` would have made it, and the
book changes only once the client has the record. The table is the worker's own, from
``create_app``; the producer is a stand-in (no broker here) that keeps what it is handed, with
faust's ``Producer.send`` signature."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.exceptions import ProducerSendError
from faust.types.tuples import Message

from bench.memory import envelopes
from midfield.clock import utc_now
from midfield.settings import Settings
from streams.books import task_book
from streams.worker.app import create_app

TASKS = "office.supervision.task.v1"


class _Producer:
    """What the table hands the client: ``(topic, key, value, partition)`` per record."""

    def __init__(self, refuse: bool = False) -> None:
        self.sent: list[tuple[str, bytes, bytes, int | None]] = []
        self.refuse = refuse

    async def send(self, topic: str, key: bytes, value: bytes, partition: int | None,
                   timestamp: float | None, headers: Any) -> asyncio.Future[Any]:  # fmt: skip
        if self.refuse:
            raise ProducerSendError("the client refused the record")
        self.sent.append((topic, key, value, partition))
        return asyncio.get_running_loop().create_future()  # never delivered: nothing persisted


def _app(producer: _Producer) -> faust.App:
    app = create_app(Settings())
    app._producer = producer  # type: ignore[attr-defined]  # faust's own slot for it
    return app


def _event(app: faust.App, partition: int) -> Any:
    message = Message(TASKS, partition, 7, 0.0, 0, None, b"T-1", b"{}", None)
    return app.create_event("T-1", {}, {}, message)  # type: ignore[attr-defined]


def _task() -> Any:
    """A supervised task's book, as the ledger's first event makes it, keyed ``T-1``."""
    return task_book.apply(None, next(envelopes(1, utc_now()))).book  # type: ignore[union-attr]


async def test_write_sends_the_record_faust_s_changelog_would_then_keeps_the_book() -> None:
    producer = _Producer()
    app = _app(producer)
    table = app.books["ledger"]  # type: ignore[attr-defined]
    book = _task()

    await table.write("T-1", book, event=_event(app, 3))

    faust_s = table.changelog_topic.as_future_message(
        key="T-1", value=book, partition=3,
        key_serializer=table.key_serializer, value_serializer=table.value_serializer,
    ).message  # fmt: skip
    assert producer.sent == [(table.changelog_topic_name, faust_s.key, faust_s.value, 3)]
    assert table.data["T-1"] == book
    assert table.data._key_partition["T-1"] == 3  # dropped with the partition if it moves
    assert "T-1" in table.summary.rows


async def test_a_record_the_client_refused_leaves_the_book_as_it_was() -> None:
    app = _app(_Producer(refuse=True))
    table = app.books["ledger"]  # type: ignore[attr-defined]

    with pytest.raises(ProducerSendError):
        await table.write("T-1", _task(), event=_event(app, 0))

    assert "T-1" not in table.data
    assert "T-1" not in table.data._key_partition
    assert "T-1" not in table.summary.rows
