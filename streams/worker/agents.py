"""The faust agents' one body: decode, :func:`streams.books.registry.process`, act, write.

Every topic the books read has one agent whose body is :meth:`Effects.consume`
(streams/worker/tables.py). The side effects an
event calls for (dead letters, alerts, notices to department outboxes, the reminder metric) are
done before the books are written (streams/books/registry.py says why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from midfield import metrics
from schemas.catalog import outbox
from schemas.deadletter import DeadLetter
from schemas.envelope import Envelope
from streams.books.registry import Outcome, Tables, process
from streams.worker.dead_letters import dead_letter, decode_or_dead_letter, send_dead_letter
from streams.worker.emit import raw_topic, send

if TYPE_CHECKING:
    from faust.types import EventT

    from streams.worker.app import MidfieldApp

__all__ = ["EMITTER", "Effects"]

EMITTER = "midfield://worker/midfield"
"""The source of every event the books emit, whatever the worker's application id: a rebuilt
worker running beside the live one (a blue/green switch, ``replay rebuild --serve``) then emits
the same alert, notice or reminder with the same id, and it is applied — and delivered to a
department — once, not once per application id. (It is the default application id's, so the ids
made before the two were told apart stay as they were.)"""


class Effects:
    """The worker's side of an :class:`Outcome`, and the agents' body."""

    def __init__(self, app: MidfieldApp, deadletters: Any, alerts: Any) -> None:
        self.app, self.deadletters, self.alerts = app, deadletters, alerts
        self.source = EMITTER
        """The source of what the books emit (alerts, notices, timers' proposals)."""
        self.letters_source = f"midfield://worker/{app.conf.id}"
        """The source of this worker's own dead letters (which worker refused what)."""
        self._outboxes: dict[str, Any] = {}

    @property
    def books(self) -> Tables:
        return self.app.books

    async def consume(self, stream: Any, name: str) -> None:
        """The agent reading topic ``name``."""
        app = self.app
        async for event in stream.events():
            envelope = await decode_or_dead_letter(event, self.deadletters, app.conf.id)
            if envelope is None:
                continue
            outcome = process(self.books, name, envelope, app.settings, source=self.source)
            await self.act(event, envelope, outcome)
            for (book, key), value in outcome.writes.items():
                self.books[book][key] = value

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
            await send(self.outbox(department), notice)
        if outcome.reminded is not None:
            metrics.REMINDERS.labels(outcome.reminded).inc()

    def outbox(self, department: str) -> Any:
        if department not in self._outboxes:
            self._outboxes[department] = raw_topic(self.app, outbox(department))
        return self._outboxes[department]
