"""Emergencies (突发事件): a first report, numbered follow-ups, a close. Pure logic.

One book per emergency (keyed by report id). A follow-up or a close without a first report is
refused (dead-lettered by the caller, remembered for replays); a follow-up number given twice
keeps the first; an id seen before changes nothing. The open ones are in the duty report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from typing_extensions import TypedDict

from schemas.envelope import Envelope
from schemas.events.duty import EmergencyClosed, EmergencyReported, sequence_name
from streams.books.book import Book, Context, Decision, Refusal, State, reading, seen
from streams.books.office_time import instant
from streams.books.ranked import Ranking

__all__ = [
    "BOOK",
    "EmergencyReport",
    "EmergencyState",
    "EmergencyStub",
    "Refused",
    "apply",
    "decide",
    "is_open",
    "rank",
    "summary",
]


class EmergencyReport(TypedDict, closed=True):
    """One report of the emergency: the first (sequence 0), a follow-up or the last."""

    sequence: int
    at: str
    name: str
    """The report's name as the office says it (首报, 续报一…: ``sequence_name``)."""
    content: str


class EmergencyState(TypedDict, closed=True):
    """An emergency whose first report came (times: ISO 8601 text, as stored)."""

    report_id: str
    title: str
    unit: str
    """Who reported it first."""
    first_reported_at: str
    reports: list[EmergencyReport]
    """By sequence; a sequence given twice keeps its first report."""
    closed_at: str | None
    applied: list[str]
    refused: list[str]
    """Event ids refused (before the first report), remembered for replays."""


class EmergencyStub(TypedDict, closed=True):
    """Only follow-ups or a close that came before the first report: refused, remembered."""

    report_id: str
    title: None
    reports: list[EmergencyReport]
    """Always empty."""
    closed_at: None
    applied: list[str]
    refused: list[str]


@dataclass(frozen=True)
class Refused:
    book: State
    reason: str
    detail: str


def apply(book: State | None, envelope: Envelope) -> State | Refused | None:
    if seen(book, envelope):
        return None
    event, at = envelope.data, envelope.time.isoformat()
    new: State = (
        dict(book)
        if book
        else {
            "report_id": envelope.subject,
            "title": None,
            "reports": [],
            "closed_at": None,
            "applied": [],
            "refused": [],
        }
    )
    match event:
        case EmergencyReported() if event.sequence == 0 and new["title"] is None:
            new |= {"title": event.title, "first_reported_at": at, "unit": event.unit}
        case EmergencyReported() | EmergencyClosed() if new["title"] is None:
            return _refused(
                new,
                envelope,
                "no-first-report",
                f"{envelope.type} for {envelope.subject} before its first report",
            )
        case EmergencyClosed():
            new["closed_at"] = new["closed_at"] or at
        case EmergencyReported():
            pass
        case _:
            raise TypeError(f"the emergencies book does not take {envelope.type}")
    if isinstance(event, EmergencyReported) and all(
        r["sequence"] != event.sequence for r in new["reports"]
    ):
        new["reports"] = sorted(
            [
                *new["reports"],
                {
                    "sequence": event.sequence,
                    "at": at,
                    "name": sequence_name(event.sequence),
                    "content": event.content,
                },
            ],
            key=lambda r: r["sequence"],
        )
    new["applied"] = [*new["applied"], envelope.id]
    return new


def _refused(book: State, envelope: Envelope, reason: str, detail: str) -> Refused:
    return Refused(book | {"refused": [*book["refused"], envelope.id]}, reason, detail)


def is_open(book: Mapping[str, Any] | None) -> TypeGuard[EmergencyState]:
    return bool(book and book["title"] is not None and book["closed_at"] is None)


def summary(book: EmergencyState) -> dict[str, Any]:
    """An emergency as the duty report lists it."""
    latest = book["reports"][-1]
    return {
        "report_id": book["report_id"],
        "title": book["title"],
        "unit": book.get("unit", ""),
        "first_reported_at": book["first_reported_at"],
        "latest": latest["name"],
        "latest_at": latest["at"],
        "reports": len(book["reports"]),
    }


def rank(book: State | None) -> tuple[int] | None:
    """An open emergency's place in the views: by its last report's time (the views list the
    last followed up first); ``None`` for one closed or without a first report."""
    return (instant(book["reports"][-1]["at"]),) if is_open(book) else None


def decide(book: State | None, envelope: Envelope, context: Context) -> Decision:
    out = apply(book, envelope)
    if isinstance(out, Refused):
        return Decision(out.book, [Refusal(out.reason, out.detail, "duty")])
    return Decision(out)


BOOK = Book(
    name="emergencies",
    reads=reading(EmergencyReported, EmergencyClosed),
    apply=decide,
    connector="duty",
    state=EmergencyState | EmergencyStub,
    summary=lambda settings: Ranking(1, rank),
)
