"""Incoming items (来件): registered -> signed (签阅) -> handling (办理) -> closed (办结).

Pure logic. An item is registered by its intake event (a received fax or telegram, or a
document the duty officer registers); the duty officer's steps (:class:`ItemHandled`) move it
on, and steps that arrive first are held until it is registered. A telegram's grade or a
document's urgency sets the deadline: the registration day plus the days for that urgency
(``MIDFIELD_DUTY_ITEM_DAYS``); a fax counts as 平件 until signing sets its urgency. An item still
open after its last day is overdue: one alert per item (``overdue/item/<id>``, fixed ids, so
raised once), resolved when the item is closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from midfield.settings import DutySettings, Settings
from schemas.catalog import topic
from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.duty import DocumentRegistered, ItemHandled, ItemStep, Urgency
from schemas.events.fax import FaxReceived
from schemas.events.telegram import TelegramReceived
from streams.books.alerts import resolved_by
from streams.books.book import Book, Context, Decision, Refusal, State, Timer, reading
from streams.books.item_state import ItemState, ItemStub

__all__ = [
    "BOOK",
    "Late",
    "Refused",
    "alert_id",
    "apply",
    "decide",
    "due_at",
    "is_item",
    "overdue_alerts",
    "resolution",
]


_AFTER = {
    ItemStep.signed: ("registered", "signed"),
    ItemStep.handling: ("signed", "handling"),
    ItemStep.closed: ("registered", "signed", "handling"),
}
"""A step -> the statuses it may follow (an item may be closed without a handling step)."""


@dataclass(frozen=True)
class Refused:
    book: State
    reason: str
    detail: str


@dataclass(frozen=True)
class Late:
    """The registration came after steps that had been held for it: the book, and the held
    steps the lifecycle refused on replay (``{"id", "reason", "detail", "event"}``)."""

    book: State
    refused: tuple[dict[str, Any], ...]


def apply(
    book: State | None, envelope: Envelope, rules: DutySettings, zone: ZoneInfo
) -> State | Refused | Late | None:
    """The item after ``envelope``. Steps that arrive before the item's registration (its fax
    and the duty officer's steps travel on different topics) are held and replayed, in their
    order, when it is registered: the book is the same whatever the interleaving."""
    if book is not None and envelope.id in _seen(book):
        return None
    event, at = envelope.data, envelope.time
    new = (
        dict(book)
        if book
        else {
            "item_id": envelope.subject,
            "status": None,
            "history": [],
            "applied": [],
            "refused": [],
            "held": [],
        }
    )
    match event:
        case FaxReceived() | TelegramReceived() | DocumentRegistered() if new["status"] is None:
            _register(new, envelope, rules, zone)
            return _replay(new, rules, zone)
        case FaxReceived() | TelegramReceived() | DocumentRegistered():
            new["applied"] = [*new["applied"], envelope.id]  # registered already
        case ItemHandled() if new["status"] is None:
            new["held"] = [
                *new["held"],
                {"id": envelope.id, "at": at.isoformat(), "event": event.model_dump(mode="json")},
            ]
        case ItemHandled():
            error = _check(new, event)
            if error is not None:
                return Refused(new | {"refused": [*new["refused"], envelope.id]}, *error)
            _apply_step(new, envelope.id, event, at, rules, zone)
        case _:
            raise TypeError(f"the incoming items do not take {envelope.type}")
    return new


def _seen(book: State) -> set[str]:
    return {*book["applied"], *book["refused"], *(h["id"] for h in book["held"])}


def _register(book: State, envelope: Envelope, rules: DutySettings, zone: ZoneInfo) -> None:
    kind, what, urgency = _registration(envelope.data)
    book |= {
        "kind": kind,
        "what": what,
        "registered_at": envelope.time.isoformat(),
        "status": "registered",
        "urgency": urgency,
        "signed_by": "",
        "handler": "",
        "closed_at": None,
    }
    _deadline(book, rules, zone)
    book["history"] = [
        *book["history"],
        {"id": envelope.id, "at": envelope.time.isoformat(), "step": "registered"},
    ]
    book["applied"] = [*book["applied"], envelope.id]


def _registration(event: object) -> tuple[str, str, str]:
    """``(kind, what it is, urgency)`` of a registering event."""
    match event:
        case FaxReceived():
            return "fax", f"传真 {event.pages} 页，来自 {event.remote_station}", Urgency.ordinary
        case TelegramReceived():
            what = f"明传电报 {event.number}《{event.title}》（{event.issuing_unit}）"
            return "telegram", what, event.grade.value
        case DocumentRegistered():
            return (
                "document",
                f"来文 {event.number}《{event.title}》（{event.issuer}）",
                event.urgency,
            )
    raise TypeError(f"{type(event).__name__} registers no item")


def _replay(book: State, rules: DutySettings, zone: ZoneInfo) -> State | Late:
    held, book["held"] = book["held"], []
    refused = []
    for step in held:
        event = ItemHandled.model_validate(step["event"])
        error = _check(book, event)
        if error is None:
            _apply_step(book, step["id"], event, datetime.fromisoformat(step["at"]), rules, zone)
        else:
            book["refused"] = [*book["refused"], step["id"]]
            refused.append(
                {"id": step["id"], "reason": error[0], "detail": error[1], "event": step["event"]}
            )
    return Late(book, tuple(refused)) if refused else book


def _check(book: State, event: ItemHandled) -> tuple[str, str] | None:
    if book["status"] in _AFTER[event.step]:
        return None
    return "illegal-step", f"{event.step.value} when {book['status']}"


def _apply_step(
    book: State,
    event_id_: str,
    event: ItemHandled,
    at: datetime,
    rules: DutySettings,
    zone: ZoneInfo,
) -> None:
    _step(book, event, at, rules, zone)
    book["history"] = [
        *book["history"],
        {"id": event_id_, "at": at.isoformat(), "step": event.step.value},
    ]
    book["applied"] = [*book["applied"], event_id_]


def _step(
    book: State, event: ItemHandled, at: datetime, rules: DutySettings, zone: ZoneInfo
) -> None:
    book["status"] = event.step.value
    match event.step:
        case ItemStep.signed:
            book |= {
                "signed_by": event.by,
                "signed_at": at.isoformat(),
                "urgency": event.urgency.value if event.urgency else book["urgency"],
            }
            _deadline(book, rules, zone)
        case ItemStep.handling:
            book["handler"] = event.to
        case ItemStep.closed:
            book["closed_at"] = at.isoformat()


def _deadline(book: State, rules: DutySettings, zone: ZoneInfo) -> None:
    days = rules.item_days.get(book["urgency"], max(rules.item_days.values()))
    registered = datetime.fromisoformat(book["registered_at"]).astimezone(zone).date()
    book["deadline"] = (registered + timedelta(days=days)).isoformat()


def is_item(book: Mapping[str, Any] | None) -> TypeGuard[ItemState]:
    return bool(book and book["status"])


def due_at(book: ItemState, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(book["deadline"]) + timedelta(days=1), time(0), zone)


def alert_id(item_id: str) -> str:
    return f"overdue/item/{item_id}"


def overdue_alerts(
    books: Iterable[State], now: datetime, zone: ZoneInfo, *, source: str
) -> list[Envelope]:
    """One alert per open item past its last day (fixed id per item: applied once)."""
    out = []
    for book in books:
        if not is_item(book) or book["status"] == "closed" or now < due_at(book, zone):
            continue
        event = AlertRaised(
            alert_id=alert_id(book["item_id"]),
            kind="overdue",
            severity=Severity.critical if book["urgency"] in ("特提", "特急") else Severity.warning,
            about=book["item_id"],
            message=f"来件逾期未办结：{book['what']}（{book['urgency']}，时限 {book['deadline']}）",
            reason="item-overdue",
            level=1,
        )
        out.append(
            Envelope.wrap(
                event,
                source=source,
                position=event.alert_id,
                subject=event.alert_id,
                time=now,
                ingested_at=now,
            )
        )
    return out


def resolution(after: State, envelope: Envelope, zone: ZoneInfo, *, source: str) -> Envelope | None:
    """Closing an item that was past its last day resolves its overdue alert."""
    if not is_item(after) or not isinstance(envelope.data, ItemHandled):
        return None
    if after["status"] != "closed" or envelope.time < due_at(after, zone):
        return None
    return resolved_by(alert_id(after["item_id"]), "closed", envelope, source=source)


def decide(book: State | None, envelope: Envelope, context: Context) -> Decision:
    """The item after ``envelope``, with the overdue alert its closing resolves."""
    zone = context.settings.office.zone
    out = apply(book, envelope, context.settings.duty, zone)
    if out is None:
        return Decision()
    if isinstance(out, Refused):
        return Decision(out.book, [Refusal(out.reason, out.detail, "duty")])
    refusals = []
    if isinstance(out, Late):  # held steps the lifecycle refused on replay
        refusals = [Refusal(late["reason"], late["detail"], "duty", late) for late in out.refused]
        out = out.book
    resolved = resolution(out, envelope, zone, source=context.source)
    return Decision(out, refusals, alerts=[resolved] if resolved else [])


def _show(book: State, now: datetime, settings: Settings) -> dict[str, Any]:
    return {"due_at": due_at(book, settings.office.zone).isoformat()} if is_item(book) else {}


def _overdue(books: list[State], now: datetime, settings: Settings, source: str) -> list[Envelope]:
    return overdue_alerts(books, now, settings.office.zone, source=source)


BOOK = Book(
    name="items",
    reads=reading(FaxReceived, TelegramReceived, ItemHandled, DocumentRegistered),
    apply=decide,
    connector="duty",
    state=ItemState | ItemStub,
    show=_show,
    timers=(
        Timer(
            "overdue-items",
            interval=lambda settings: settings.duty.report_check_interval_s,
            propose=_overdue,
            to=topic(AlertRaised.topic).name,
        ),
    ),
)
