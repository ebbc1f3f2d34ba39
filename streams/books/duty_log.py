"""The duty log (值班记录): every intake event becomes an entry. Pure logic, no faust.

The book is keyed by the event's subject. Each value keeps the entries of that subject and the
ids already applied, so a re-delivered event (at-least-once consumption, connector re-sends)
changes nothing: :func:`apply` returns ``None`` for an id it has seen.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from schemas.envelope import Envelope
from schemas.events.duty import (
    DocumentRegistered,
    DutyEntryRecorded,
    EmergencyClosed,
    EmergencyReported,
    sequence_name,
)
from schemas.events.fax import FaxReceived
from schemas.events.telegram import TelegramReceived
from streams.books.book import Book, Context, Decision, State, reading, seen
from streams.books.duty_log_summary import DutyLogSummary
from streams.books.office_time import parse

__all__ = [
    "BOOK",
    "DutyLogEntry",
    "DutyLogLine",
    "DutyLogState",
    "apply",
    "decide",
    "entries_on",
    "entry_for",
]


class DutyLogEntry(BaseModel):
    """One line of the duty log, with the fields the office's paper log has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="The event id that made this entry.")
    subject: str
    received_at: datetime
    channel: str = Field(examples=["fax", "telegram", "call", "visit"])
    unit: str = Field(
        "",
        description="Caller's or sender's unit where someone said so; empty when not known "
        "(a fax's TSI and caller id are the sender's claims, kept in station and phone).",
    )
    person: str = ""
    phone: str = ""
    content: str = ""
    instruction: str = ""
    actions: str = ""
    notified: str = ""
    recorder: str = Field("", description="Who (or which connector) recorded it.")
    document: str = Field("", description="The received document, where there is one.")
    source: str
    station: str = Field("", description="A fax's sender station id (TSI), unverified.")
    line: str = Field(
        "", description="The office's line that took it: a fax's receiving number or mailbox."
    )


class DutyLogLine(TypedDict, closed=True):
    """A :class:`DutyLogEntry` as stored: its JSON (``received_at`` as ISO 8601 text)."""

    id: str
    subject: str
    received_at: str
    channel: str
    unit: str
    person: str
    phone: str
    content: str
    instruction: str
    actions: str
    notified: str
    recorder: str
    document: str
    source: str
    station: str
    line: str


class DutyLogState(TypedDict, closed=True):
    """One subject's lines of the duty log, and the event ids applied."""

    entries: list[DutyLogLine]
    applied: list[str]


def entry_for(envelope: Envelope) -> DutyLogEntry:
    """The duty-log entry an event makes."""
    data = envelope.data

    def entry(channel: str, *, recorder: str = envelope.source, **fields: Any) -> DutyLogEntry:
        return DutyLogEntry(
            id=envelope.id,
            subject=envelope.subject,
            received_at=envelope.time,
            source=envelope.source,
            recorder=recorder,
            channel=channel,
            **fields,
        )

    match data:
        case FaxReceived():
            return entry("fax", **_fax_fields(data))
        case DutyEntryRecorded():
            return entry(data.kind.value, **data.model_dump(exclude={"entry_id", "kind"}))
        case EmergencyReported():
            return entry(
                "emergency",
                recorder=data.recorder,
                unit=data.unit,
                content=f"【{sequence_name(data.sequence)}】{data.title}：{data.content}",
            )
        case TelegramReceived():
            return entry(
                "telegram",
                unit=data.issuing_unit,
                person=data.approver,
                document=data.document,
                content=f"收到明传电报 {_cited(data.number, data.grade, data.title)}，"
                f"{data.pages} 页",
            )
        case DocumentRegistered():
            return entry(
                "document",
                recorder=data.by,
                unit=data.issuer,
                content=f"来文登记 {_cited(data.number, data.urgency, data.title)}",
            )
        case EmergencyClosed():
            return entry(
                "emergency",
                recorder=data.recorder,
                content=f"【终报】{data.note or '事件处置完毕'}",
            )
    raise TypeError(f"the duty log does not take {envelope.type}")


def _cited(number: str, grade: str, title: str) -> str:
    """A document as the office cites one: its number, its urgency (grade) and its title."""
    return f"{number}（{grade}）《{title}》"


def _fax_fields(data: FaxReceived) -> dict[str, str]:
    """A fax names no unit: its TSI and caller id are what the sender's machine and the phone
    network said, so the entry keeps them as such and leaves the unit to the duty officer."""
    said = (
        ("TSI", data.remote_station),
        ("来电号码", data.caller_number),
        ("来电名称", data.caller_name),
    )
    sender = "，".join(f"{what} {value}" for what, value in said if value) or "无发送方标识"
    line = f"，经 {data.line} 接收" if data.line else ""
    status = f"；传输异常：{data.status}" if data.status else ""
    return {
        "station": data.remote_station,
        "phone": data.caller_number,
        "line": data.line,
        "document": data.document,
        "content": f"收到传真 {data.pages} 页，发送单位未知（{sender}）{line}{status}",
    }


def apply(book: State | None, envelope: Envelope) -> State | None:
    """The book after ``envelope``; ``None`` when the event was applied already."""
    if seen(book, envelope):
        return None
    book = book or {"entries": [], "applied": []}
    entry = entry_for(envelope).model_dump(mode="json")
    return {"entries": [*book["entries"], entry], "applied": [*book["applied"], envelope.id]}


def entries_on(books: list[State], day: date, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Every entry received on ``day`` (office time), oldest first as instants (books keep each
    event's own offset: a telegram's UTC sorts among faxes' +08:00 by when it happened)."""
    found = [
        entry
        for book in books
        for entry in book["entries"]
        if parse(entry["received_at"]).astimezone(zone).date() == day
    ]
    return sorted(found, key=lambda e: (parse(e["received_at"]), e["id"]))


def decide(book: State | None, envelope: Envelope, context: Context) -> Decision:
    """A line for every event, but for a registration the items book did not take (an event id
    it applied before) and an emergency step the emergencies book refused or had applied."""
    data = envelope.data
    if isinstance(data, DocumentRegistered) and not context.earlier["items"].applied:
        return Decision()
    emergency = isinstance(data, EmergencyReported | EmergencyClosed)
    if emergency and not context.earlier["emergencies"].applied:
        return Decision()
    return Decision(apply(book, envelope))


BOOK = Book(
    name="duty_log",
    reads=reading(
        FaxReceived,
        TelegramReceived,
        DocumentRegistered,
        EmergencyReported,
        EmergencyClosed,
        DutyEntryRecorded,
    ),
    apply=decide,
    connector="duty",
    state=DutyLogState,
    after=("items", "emergencies"),
    summary=lambda settings: DutyLogSummary(settings.office.zone),
)
