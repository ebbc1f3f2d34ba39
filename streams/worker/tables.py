"""The worker's tables, agents and timers, every one built from the book registry.

Each book (streams/books/registry.py) gets a table of its name; each topic the books read gets
one intake task whose body is :meth:`streams.worker.agents.Effects.consume` (a batch at a time
from the conductor's queue, streams/worker/intake.py: decode,
process and act per event, then each entity the batch changed written once);
each book's timers run once the tables are recovered, over its entities in chunks. Each index
(a table over records that are no events: the dead letters waiting for a person) gets a table
and an agent that keeps the latest entity per key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import faust

from midfield.bus.topics import CHANGELOG_ROLL
from midfield.logging import get_logger
from streams.books.book import Book, Index, Timer
from streams.books.registry import BOOKS, INDEXES, PROCESSED
from streams.worker.agents import Effects, admit, applying
from streams.worker.emit import raw_topic, send, tables_settled
from streams.worker.intake import subscribe
from streams.worker.table import Table, write
from streams.worker.turns import book_chunks

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["BOOK_SCHEMA", "add_books"]

log = get_logger(__name__)

# Books are plain JSON keyed by entity id; their changelogs hold them in segments of plain JSON
# (midfield/bus/changelog.py), readable by any tool that dumps a topic.
BOOK_SCHEMA: faust.Schema[str, Any] = faust.Schema(
    key_type=str, value_type=None, key_serializer="raw", value_serializer="json"
)


def add_books(app: MidfieldApp, effects: Effects, channels: dict[str, Any]) -> None:
    """Every book's table, agent and timers, and every index's; ``channels`` (topic name ->
    faust topic) is filled with the topics read, so the timers and the gate share them."""
    for b in BOOKS:
        app.books[b.name] = _table(app, b.name)
        if b.summary is not None:
            app.books[b.name].summary = b.summary(app.settings)
    for name in PROCESSED:
        channels.setdefault(name, raw_topic(app, name))
        _add_intake(app, effects, channels[name])
    for b in BOOKS:
        for timer in b.timers:
            to = channels.setdefault(timer.to, raw_topic(app, timer.to))
            _add_timer(app, effects, b, timer, to)
    for index in INDEXES:
        app.books[index.name] = _table(app, index.name)
        if index.summary is not None:
            app.books[index.name].summary = index.summary(app.settings)
        _add_index(app, index, channels.setdefault(index.topic, raw_topic(app, index.topic)))


RECOVERY_BUFFER = 8
"""Changelog records faust's recovery decodes and holds before the store applies them (faust's
default: 1,000). A segment holds up to 512 KiB of books, a few MB once decoded: 1,000 of them
took a worker recovering 100k tasks to 1.8 GiB (bench/memory.py on Apache Kafka)."""


def _table(app: MidfieldApp, name: str) -> Table:
    table = app.Table(name, default=None, schema=BOOK_SCHEMA, extra_topic_configs=CHANGELOG_ROLL,
                      recovery_buffer_size=RECOVERY_BUFFER)  # fmt: skip
    return cast(Table, table)


def _add_intake(app: MidfieldApp, effects: Effects, topic: Any) -> None:
    """The task applying ``topic``'s events to the books, from the channel the conductor fills
    (streams/worker/intake.py): subscribed now, so the consumer reads it from its start."""
    name = topic.get_topic_name()
    channel = subscribe(topic)

    async def take() -> None:
        consuming = asyncio.ensure_future(effects.consume(channel, name))
        consuming.add_done_callback(stop_on_bug(app, name))
        await consuming

    take.__name__ = take.__qualname__ = f"books:{name}"
    app.task(take)


def stop_on_bug(app: MidfieldApp, name: str) -> Callable[[asyncio.Future[None]], None]:
    """What to do when topic ``name``'s intake ended: if on an error (a bug: the errors a batch
    is read again after never end it), crash the app, so the worker stops and says why instead
    of running on with nothing applying the topic (faust drops a failed task's error)."""

    def done(consuming: asyncio.Future[None]) -> None:
        error = None if consuming.cancelled() else consuming.exception()
        if error is not None:
            log.error("the intake ended on an error: the worker stops", topic=name,
                      error=repr(error))  # fmt: skip
            crashing = asyncio.ensure_future(app.crash(error))
            _crashing.add(crashing)
            crashing.add_done_callback(_crashing.discard)

    return done


_crashing: set[asyncio.Future[None]] = set()
"""The crashes under way (asyncio keeps only a weak reference to a task)."""


def _add_timer(app: MidfieldApp, effects: Effects, b: Book, timer: Timer, to: Any) -> None:
    """Run ``timer.propose`` over the book's entities (those its ``candidates`` name, if it
    has them) every interval, sending each proposal."""
    table, settings = app.books[b.name], app.settings
    proposed: set[str] = set()

    async def propose() -> None:
        if not tables_settled(app):
            return
        await table.settle()  # what the candidates' read would do, in steps
        now = app.clock()  # not before: a read earlier than the settling would make it again
        keys = None
        if timer.candidates is not None and table.summary is not None:
            keys = list(timer.candidates(table.summary, now, settings))
        async for chunk in book_chunks(table, keys=keys):
            for event in timer.propose(chunk, now, settings, effects.source):
                if event.id in proposed:
                    continue
                log.info("proposing", timer=timer.name, subject=event.subject, type=event.type)
                await send(to, event)
                if timer.remember:
                    proposed.add(event.id)

    interval = timer.interval(settings)
    app.timer(interval=interval, name=f"{b.name}:{timer.name}")(propose)


def _add_index(app: MidfieldApp, index: Index, channel: Any) -> None:
    """Not in a replay: it rebuilds the books, and a read-only run must not read past its stop
    offsets on a topic it does not list."""
    if app.settings.replay.read_only or app.settings.replay.stop_offsets_file:
        return
    table = app.books[index.name]

    async def take(stream: Any) -> None:
        async for event in stream.events():
            admitted = await admit(app.consumer, [event])
            async with applying(app.consumer, admitted):
                for each in admitted:
                    await _index(index, table, each)

    app.agent(channel, name=f"index:{index.name}")(take)


async def _index(index: Index, table: Table, event: Any) -> None:
    taken = index.take(event.value)
    if taken is None:  # never dead-letter the dead-letter topic: say so and go on
        message = event.message
        position = f"{message.topic}/{message.partition}@{message.offset}"
        log.warning(f"not a record of {index.name}", reason="not-indexed", position=position)
        return
    key, entity = taken
    await write([(table, key, entity, event)])
