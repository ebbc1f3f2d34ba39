"""What one event does to the books: every processor's logic, without faust.

:func:`process` takes the books (``name -> {entity id: book}``, faust tables or plain dicts), the
topic an event was read from and the event, and answers an :class:`Outcome`: the books to write,
and what must happen outside them (refusals to dead-letter, alerts and notices to send, a
reminder to count). It writes nothing itself: the faust agents (streams/agents.py) do the side
effects first and write the books after, so a worker killed in between reads the event again and
does them again (same ids), rather than finding it applied with its notices never sent.
``midfield replay`` runs the same function over a plain consumer, writes the books and does no
side effect (streams/replay/fast.py). One function, so a rebuild cannot disagree with the live
workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from midfield.settings import Settings
from schemas.catalog import topic
from schemas.envelope import Envelope, EventData
from schemas.events.alert import AlertAcknowledged, AlertRaised, AlertResolved
from schemas.events.audit import AuditRecorded
from schemas.events.duty import (
    DocumentRegistered,
    DutyEntryRecorded,
    EmergencyClosed,
    EmergencyReported,
    ItemHandled,
)
from schemas.events.fax import FaxReceived
from schemas.events.message import PublicMessageReceived
from schemas.events.task import TaskEvent, TaskReminded
from schemas.events.telegram import TelegramReceived
from schemas.events.workorder import WorkOrderStepped
from streams.books import alerts, audit, duty_log, emergencies, items, ledger, replies, workorders

__all__ = ["BOOKS", "PROCESSED", "Books", "Outcome", "Refusal", "process"]

BOOKS = (
    "duty_log",
    "items",
    "emergencies",
    "ledger",
    "alerts",
    "messages",
    "work_orders",
    "audit",
)
"""The worker's tables, in the order snapshots list them."""

Books = dict[str, MutableMapping[str, Any]]
"""Book name -> entity id -> stored book."""


@dataclass(frozen=True)
class Refusal:
    """An event (or a held step) the books refused: a dead letter on the live worker."""

    reason: str
    detail: str
    connector: str
    late: dict[str, Any] | None = None
    """For an item step held until its registration and refused then: the held step."""

    def late_letter_raw(self) -> bytes:
        assert self.late is not None
        return json.dumps(self.late["event"], ensure_ascii=False).encode()


@dataclass
class Outcome:
    writes: dict[tuple[str, str], Any] = field(default_factory=dict)
    """(book, entity id) -> the book to store."""
    refusals: list[Refusal] = field(default_factory=list)
    alerts: list[Envelope] = field(default_factory=list)
    """Alerts to send (resolutions of an overdue item, an answered message)."""
    notices: list[tuple[str, Envelope]] = field(default_factory=list)
    """(department, notice) for its outbox."""
    reminded: str | None = None
    """The light of an applied reminder (a metric)."""


def process(books: Books, name: str, envelope: Envelope, settings: Settings, *,
            source: str) -> Outcome:  # fmt: skip
    """Apply ``envelope``, read from topic ``name``, to ``books``. ``source`` is the worker's
    (the source of the alerts and notices it makes)."""
    out = Outcome()
    handler = _HANDLERS.get(name)
    if handler is None:
        raise ValueError(f"no processor reads {name}")
    handler(_Run(books, envelope, settings, source, out))
    return out


_NOTHING = object()


@dataclass
class _Run:
    books: Books
    envelope: Envelope
    settings: Settings
    source: str
    out: Outcome

    @property
    def key(self) -> str:
        return self.envelope.subject

    def get(self, book: str) -> Any:
        written = self.out.writes.get((book, self.key), _NOTHING)
        return self.books[book].get(self.key) if written is _NOTHING else written

    def put(self, book: str, value: Any) -> None:
        self.out.writes[(book, self.key)] = value

    def refuse(self, reason: str, detail: str, connector: str) -> None:
        self.out.refusals.append(Refusal(reason, detail, connector))


def _intake(wanted: type[EventData]) -> Callable[[_Run], None]:
    """Faxes and telegrams: each registers an incoming item and makes a duty-log line."""

    def handle(run: _Run) -> None:
        if not isinstance(run.envelope.data, wanted):
            run.refuse("unexpected-type", f"{run.envelope.type} on {wanted.topic}", "duty")
            return
        _item(run)
        _log(run)

    return handle


def _duty(run: _Run) -> None:
    data = run.envelope.data
    if isinstance(data, ItemHandled):
        _item(run)
    elif isinstance(data, DocumentRegistered):
        if _item(run):
            _log(run)
    elif isinstance(data, EmergencyReported | EmergencyClosed):
        out = emergencies.apply(run.get("emergencies"), run.envelope)
        if isinstance(out, emergencies.Refused):
            run.put("emergencies", out.book)
            run.refuse(out.reason, out.detail, "duty")
        elif out is not None:
            run.put("emergencies", out)
            _log(run)
    elif isinstance(data, DutyEntryRecorded):
        _log(run)
    else:
        run.refuse("unexpected-type", f"{run.envelope.type} on the duty topic", "duty")


def _log(run: _Run) -> None:
    book = duty_log.apply(run.get("duty_log"), run.envelope)
    if book is not None:
        run.put("duty_log", book)


def _item(run: _Run) -> bool:
    """Apply to the items book; False when refused or seen before."""
    zone = run.settings.office.zone
    out = items.apply(run.get("items"), run.envelope, run.settings.duty, zone)
    if isinstance(out, items.Refused):
        run.put("items", out.book)
        run.refuse(out.reason, out.detail, "duty")
        return False
    if out is None:
        return False
    if isinstance(out, items.Late):  # held steps the lifecycle refused on replay
        for late in out.refused:
            run.out.refusals.append(Refusal(late["reason"], late["detail"], "duty", late))
        out = out.book
    resolved = items.resolution(out, run.envelope, zone, source=run.source)
    if resolved is not None:
        run.out.alerts.append(resolved)
    run.put("items", out)
    return True


def _tasks(run: _Run) -> None:
    outcome = ledger.apply(run.get("ledger"), run.envelope)
    if isinstance(outcome, ledger.Refused):
        run.refuse(outcome.error.reason, str(outcome.error), "ledger")
    elif outcome is not None:
        run.out.notices += ledger.notices(outcome, run.envelope, source=run.source)
        if isinstance(run.envelope.data, TaskReminded):
            run.out.reminded = run.envelope.data.light
    if outcome is not None:
        run.put("ledger", outcome.book)


def _alerts(run: _Run) -> None:
    if not isinstance(run.envelope.data, AlertRaised | AlertAcknowledged | AlertResolved):
        run.refuse("unexpected-type", f"{run.envelope.type} on the alerts topic", "alerts")
        return
    book = alerts.apply(run.get("alerts"), run.envelope)
    if book is not None:
        run.put("alerts", book)


def _messages(run: _Run) -> None:
    before = run.get("messages")
    try:
        after = replies.apply(before, run.envelope)
    except ValueError as exc:
        run.refuse("unexpected-type", str(exc), "messages")
        return
    if after is None:
        return
    rules = run.settings.replies
    resolved = replies.resolution(before, after, run.envelope, rules, source=run.source)
    if resolved is not None:
        run.out.alerts.append(resolved)
    run.put("messages", after)


def _work_orders(run: _Run) -> None:
    rules, zone = run.settings.hotline, run.settings.office.zone
    try:
        out = workorders.apply(run.get("work_orders"), run.envelope, rules, zone)
    except ValueError as exc:
        run.refuse("unexpected-type", str(exc), "work-orders")
        return
    if isinstance(out, workorders.Refused):
        run.refuse(out.error.reason, str(out.error), "work-orders")
        out = out.book
    if out is not None:
        run.put("work_orders", out)


def _audit(run: _Run) -> None:
    if not isinstance(run.envelope.data, AuditRecorded):
        run.refuse("unexpected-type", f"{run.envelope.type} on the audit topic", "audit")
        return
    out = audit.apply(run.get("audit"), run.envelope, run.settings.access.denials_alert_at)
    if out is None:
        return
    if out.alert is not None:  # the grouped alert: same id per principal and day
        run.out.alerts.append(
            Envelope.wrap(
                out.alert,
                source=run.source,
                position=f"denied/{run.key}/{out.book['denied']}",
                subject=out.alert.alert_id,
                time=run.envelope.time,
                ingested_at=run.envelope.ingested_at,
            )
        )
    run.put("audit", out.book)


_HANDLERS: dict[str, Callable[[_Run], None]] = {
    topic(FaxReceived.topic).name: _intake(FaxReceived),
    topic(TelegramReceived.topic).name: _intake(TelegramReceived),
    topic(DutyEntryRecorded.topic).name: _duty,
    topic(TaskEvent.topic).name: _tasks,
    topic(AlertRaised.topic).name: _alerts,
    topic(PublicMessageReceived.topic).name: _messages,
    topic(WorkOrderStepped.topic).name: _work_orders,
    topic(AuditRecorded.topic).name: _audit,
}

PROCESSED = tuple(_HANDLERS)
"""The topics the processors read: what lag is measured on and what a replay reads again."""
