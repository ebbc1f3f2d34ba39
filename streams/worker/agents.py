"""The books' one body: take a batch; per event decode,
:func:`streams.books.registry.process`, act; then write what the batch changed, once.

Every topic the books read has one intake task whose body is :meth:`Effects.consume`
(streams/worker/tables.py, streams/worker/intake.py). The side effects an
event calls for (dead letters, alerts, notices to department outboxes, the reminder metric) are
done before the books are written (streams/books/registry.py says why). A notice for a
department outside the directory is dead-lettered, never sent to an outbox nobody made.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping, MutableMapping, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

from midfield import faults, metrics
from midfield.errors import MidfieldError
from midfield.logging import get_logger
from schemas.catalog import outbox
from schemas.deadletter import OUTBOX_META, UNKNOWN_DEPARTMENT, DeadLetter
from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised
from streams.books.registry import Outcome, Tables, process
from streams.books.suggest import dispatches, segment
from streams.worker.dead_letters import dead_letter, decode_or_dead_letter, send_dead_letter
from streams.worker.emit import raw_topic, send
from streams.worker.intake import intake
from streams.worker.table import Table, write
from streams.worker.turns import Turns

if TYPE_CHECKING:
    from faust.types import EventT

    from streams.worker.app import MidfieldApp

__all__ = ["EMITTER", "Effects", "Pending", "admit", "applying"]

log = get_logger(__name__)

RETRY_S = 1.0
"""How long the intake waits after a batch failed before it takes events again (as faust's
supervisor restarts a crashed agent)."""

EMITTER = "midfield://worker/midfield"
"""The source of every event the books emit, whatever the worker's application id: a rebuilt
worker running beside the live one (a blue/green switch, ``replay rebuild --serve``) then emits
the same alert, notice or reminder with the same id, and it is applied — and delivered to a
department — once, not once per application id. (It is the default application id's, so the ids
made before the two were told apart stay as they were.)"""


YIELD_S = 0.01
"""How long a batch applies events before the event loop gets a turn for the HTTP views: a batch
of 500 at ~0.4 ms an event held every request for 200 ms (bench/views.py's tails). It was every
50 events; at 1M messages an event took ~1.5 ms (a message is cut into words for the suggestion
model) and 50 of them held the loop 75–110 ms."""


def where(event: EventT[Any]) -> tuple[Any, int]:
    """An event's partition and offset."""
    return event.message.tp, event.message.offset


async def admit(consumer: Any, events: Sequence[EventT[Any]]) -> list[EventT[Any]]:
    """The ``events`` the books may apply (:meth:`streams.worker.sequencer.Sequencer.admit`), each
    partition a record went missing in sought back to it."""
    admitted, rewinds = consumer.sequencer.admit(events, where)
    for rewind in rewinds:
        await consumer.rewind(rewind)
    return cast("list[EventT[Any]]", admitted)


@asynccontextmanager
async def applying(consumer: Any, events: Sequence[EventT[Any]]) -> AsyncIterator[None]:
    """The block applies the admitted ``events``: once it returns, their offsets may be
    committed; if it raises, their partitions want them again (read again, not skipped)."""
    done = False
    try:
        yield
        done = True
    finally:
        if done:
            consumer.sequencer.applied(events, where)
        else:  # raised or cancelled: the error goes on to faust's supervisor unchanged
            consumer.sequencer.failed(events, where)


class Effects:
    """The worker's side of an :class:`Outcome`, and the agents' body."""

    def __init__(self, app: MidfieldApp, deadletters: Any, alerts: Any) -> None:
        self.app, self.deadletters, self.alerts = app, deadletters, alerts
        self.source = EMITTER
        """The source of what the books emit (alerts, notices, timers' proposals)."""
        self.letters_source = f"midfield://worker/{app.conf.id}"
        """The source of this worker's own dead letters (which worker refused what)."""
        self._outboxes: dict[str, Any] = {}
        self._applying = asyncio.Lock()
        self.batches = 0
        """Batches applied so far (the heap trims in a quiet spell: streams/worker/heap.py)."""

    @property
    def books(self) -> dict[str, Table]:
        return self.app.books

    async def consume(self, channel: Any, name: str) -> None:
        """The intake of topic ``name``: its events in batches (up to ``batch_max``; gathered
        for ``batch_within_s`` only while behind the end of the log: streams/worker/intake.py),
        each partition's in offset order with none skipped (streams/worker/sequencer.py); a
        batch's offsets may be committed once it is applied. A :class:`MidfieldError` applying
        a batch is logged with its reason and the batch's events are read again after
        :data:`RETRY_S`; any other error (a bug, or the Kafka client's, which only midfield.bus
        translates) ends the intake, and streams/worker/tables.py stops the worker: restarted,
        it reads the batch again from the committed offsets and applies it once."""
        app = self.app
        worker, consumer = app.settings.worker, app.consumer
        while not app.should_stop:
            try:
                batches = intake(app, channel, worker.batch_max, worker.batch_within_s)
                async with aclosing(batches):  # a batch that raised is acknowledged at once
                    async for events in batches:
                        admitted = await admit(consumer, events)
                        if not admitted:
                            continue
                        async with applying(consumer, admitted), self._applying:
                            await self.apply(admitted, name)
            except MidfieldError as exc:
                log.error("a batch was not applied: its events are read again", topic=name,
                          reason=exc.reason, error=str(exc))  # fmt: skip
                await asyncio.sleep(RETRY_S)

    async def apply(self, events: Sequence[EventT[Any]], name: str) -> None:
        """Each event in order over the books as the batch has left them so far, its side
        effects done as it is decided; then each entity the batch touched is written once (one
        changelog record, not one per event): every record the Kafka client's before any book
        changes (:func:`streams.worker.table.write`), so once this returns the sequencer may let the
        batch's offsets be committed, and faust's commit flushes the client first. A kill
        before the writes, or before the offsets are committed, delivers the batch again: the
        books ignore the ids they applied and the side effects are sent again with the same
        ids, as after a kill between two events. One batch at a time across the agents: two
        topics can touch one entity, and a batch reads what the one before it wrote."""
        app = self.app
        if name in dispatches.BOOK.reads and not segment.loaded():
            await asyncio.to_thread(segment.ready)  # its 1–2 s off the loop, once
        metrics.BATCH_EVENTS.labels(name).observe(len(events))
        self.batches += 1
        pending = Pending(self.books)
        turns = Turns(YIELD_S)  # one clock for the events and the write
        async for event in turns.over(events):
            envelope = await decode_or_dead_letter(event, self.deadletters, app.conf.id)
            if envelope is None:
                continue
            outcome = process(pending, name, envelope, app.settings, source=self.source)
            await self.act(event, envelope, outcome)
            pending.write(outcome.writes, event)
        faults.point("worker.effects-sent")
        books = self.books
        await write(((books[b], key, value, pending.events[(b, key)])
                     for (b, key), value in pending.writes.items()), turns)  # fmt: skip
        faults.point("worker.batch-written")

    async def act(self, event: EventT[Any], envelope: Envelope, outcome: Outcome) -> None:
        app = self.app
        for refusal in outcome.refusals:
            if refusal.late is None:
                await dead_letter(event, self.deadletters, app.conf.id, refusal.reason,
                                  refusal.detail, connector=refusal.connector)  # fmt: skip
                continue
            letter = DeadLetter.of(
                refusal.late_letter_raw(),
                reason=refusal.reason,
                error=refusal.detail,
                source=self.letters_source,
                position=f"item {envelope.subject} step {refusal.late['id']}",
                connector=refusal.connector,
                first_seen=app.clock(),
                meta={"ce_id": refusal.late["id"]},
            )
            await send_dead_letter(self.deadletters, letter)
        for alert in outcome.alerts:
            await send(self.alerts, alert)
        for department, notice in outcome.notices:
            if app.directory.delivers_to(department):
                await send(self.outbox(department), notice)
            else:
                await self.undeliverable(department, notice)
        if outcome.reminded is not None:
            metrics.REMINDERS.labels(outcome.reminded).inc()

    async def undeliverable(self, department: str, notice: Envelope) -> None:
        """A notice for a department the directory does not know (a typo in an imported task,
        a department not yet added). ``midfield topics create`` makes one outbox per department
        of the directory and production brokers create no topic on first use, so a send would
        wait until the producer gives up, holding every commit behind it. The notice goes to
        the dead-letter topic whole, with its outbox (``midfield replay redrive --reason
        unknown-department`` sends it there once the department is in the directory and its
        topic made), and the duty officer gets one alert per department and task (its first
        notice's: the same whichever worker raises it, as a task's events keep their order)."""
        target = outbox(department)
        letter = DeadLetter.of(
            notice.value(),
            reason=UNKNOWN_DEPARTMENT,
            error=f"no department {department!r} in the directory: {target} was never made",
            source=self.letters_source,
            position=f"notice {notice.id} for {department}",
            connector="worker",
            first_seen=self.app.clock(),
            meta={**{k: v.decode() for k, v in notice.headers()}, OUTBOX_META: target},
        )
        await send_dead_letter(self.deadletters, letter)
        task = notice.subject
        alert = AlertRaised(
            alert_id=f"{UNKNOWN_DEPARTMENT}/{department}/{task}",
            kind=UNKNOWN_DEPARTMENT,
            about=department,
            reason=UNKNOWN_DEPARTMENT,
            message=(
                f"单位代码 {department} 不在单位名录中，督办事项 {task} 发给它的通知未能送达，"
                "已存入死信；在名录中加入该单位并运行 midfield topics create 后，用 "
                f"midfield replay redrive --reason {UNKNOWN_DEPARTMENT} 补发"
            ),
        )
        raised = Envelope.wrap(alert, source=self.source, position=alert.alert_id,
                               subject=alert.alert_id, time=notice.time)  # fmt: skip
        await send(self.alerts, raised)

    def outbox(self, department: str) -> Any:
        if department not in self._outboxes:
            self._outboxes[department] = raw_topic(self.app, outbox(department))
        return self._outboxes[department]


class Pending(Mapping[str, MutableMapping[str, Any]]):
    """The books as a batch has left them so far: what it wrote, over the tables. Reads see the
    batch's own writes first; nothing reaches a table until the batch is done."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.writes: dict[tuple[str, str], Any] = {}
        self.events: dict[tuple[str, str], EventT[Any]] = {}
        """The last event that changed each written entity (its partition is the changelog's)."""
        # no reference back to the batch: freed by reference counting once written, with its
        # events and books, not left to a full collection (tests/unit/test_worker_pending.py)
        self._books = {name: _PendingBook(self.writes, tables, name) for name in tables}

    def write(self, writes: Mapping[tuple[str, str], Any], event: EventT[Any]) -> None:
        self.writes.update(writes)
        self.events.update(dict.fromkeys(writes, event))

    def __getitem__(self, name: str) -> MutableMapping[str, Any]:
        return self._books[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._books)

    def __len__(self) -> int:
        return len(self._books)


class _PendingBook(MutableMapping[str, Any]):
    """One book of a :class:`Pending`: the batch's writes over the table (read-only: the books
    decide, the batch writes)."""

    def __init__(self, writes: Mapping[tuple[str, str], Any], tables: Tables, name: str) -> None:
        self.writes, self.tables, self.name = writes, tables, name

    def get(self, key: str, default: Any = None) -> Any:
        written = self.writes.get((self.name, key), _MISSING)
        return self.tables[self.name].get(key, default) if written is _MISSING else written

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError("a book decides; the batch writes (Pending.write)")

    def __delitem__(self, key: str) -> None:
        raise TypeError("a book decides; the batch writes (Pending.write)")

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a batch reads entities by key, never a whole book")

    def __len__(self) -> int:
        raise TypeError("a batch reads entities by key, never a whole book")


_MISSING = object()
