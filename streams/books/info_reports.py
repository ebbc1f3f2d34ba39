"""The information reports book (信息): one report per id, through its lifecycle. Pure logic.

Each report keeps its candidate's source, its latest draft, where it went, every adoption (采用)
and every leader's instruction (批示), the history of its steps and the ids applied; a step the
lifecycle (schemas/events/info_lifecycle.py) or the actor's rights refuse is a refusal, its id
remembered so that a re-delivery is refused again rather than applied to a report that moved on
since. The tallies per period are computed from these books (streams/books/info_tallies.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeGuard

from typing_extensions import TypedDict

from schemas.envelope import Envelope
from schemas.events import info as info_events
from schemas.events.info import InfoEvent, InfoStatus
from schemas.events.info_lifecycle import Illegal, may_act, next_status
from streams.books import office_time
from streams.books.book import Book, Context, Decision, Refusal, State, reading, seen

__all__ = [
    "BOOK",
    "InfoAdoption",
    "InfoEndorsement",
    "InfoReportState",
    "InfoReportStub",
    "InfoStep",
    "apply",
    "decide",
    "is_report",
    "seen_by",
]

CONNECTOR = "info-reports"


class InfoStep(TypedDict, closed=True):
    """An applied event, in order."""

    id: str
    kind: str
    """The event's ``kind`` (``proposed``, ``drafted``, ``submitted``…)."""
    at: str
    actor: str
    by: str
    by_name: str
    detail: dict[str, Any]
    """The event's own fields as JSON, without ``report_id``, ``actor``, ``by``, ``by_name``."""


class InfoAdoption(TypedDict, closed=True):
    office: str
    publication: str
    issue: str
    at: str


class InfoEndorsement(TypedDict, closed=True):
    leader: str
    post: str
    level: str
    """:class:`~schemas.events.info.LeaderLevel`'s value."""
    instruction: str
    at: str


class InfoReportState(TypedDict, closed=True):
    """One proposed report (times ISO 8601 text; ``*_at`` of a step: its earliest)."""

    report_id: str
    status: str
    """:class:`~schemas.events.info.InfoStatus`'s value."""
    source: str
    """:class:`~schemas.events.info.InfoSource`'s value."""
    reference: str
    title: str
    """The latest draft's title; the candidate's until drafted."""
    text: str
    department: str
    """Whose report: ``office`` or the code of the department that proposed it."""
    proposed_by: str
    proposed_by_name: str
    proposed_at: str
    drafter: str
    """The principal of the latest draft (empty until drafted)."""
    drafter_name: str
    drafters: list[str]
    """Every principal that drafted it: with the proposer, who outside the office may see it."""
    drafted_at: str | None
    revisions: int
    """Drafts after the first."""
    submitted_at: str | None
    submitted_to: list[str]
    adopted_at: str | None
    adoptions: list[InfoAdoption]
    endorsed_at: str | None
    endorsements: list[InfoEndorsement]
    closed_at: str | None
    """Withdrawn or recorded as not adopted."""
    close_reason: str
    history: list[InfoStep]
    applied: list[str]
    refused: list[str]
    """Event ids refused (a re-delivery is refused again)."""


class InfoReportStub(TypedDict, closed=True):
    """No report proposed yet: only the events refused for its id, remembered."""

    report_id: str
    status: None
    applied: list[str]
    refused: list[str]


def apply(book: State | None, envelope: Envelope) -> State | Illegal | None:
    """The report after ``envelope``; why it is refused; ``None`` if this id was seen already."""
    if seen(book, envelope):
        return None
    event = envelope.data
    assert isinstance(event, InfoEvent)  # the registry routes only the types BOOK reads
    if event.report_id != envelope.subject:
        return Illegal("subject-mismatch", f"subject {envelope.subject!r} is no {event.report_id}")
    status = InfoStatus(book["status"]) if is_report(book) else None
    refused = may_act(event, book["department"] if is_report(book) else None)
    after = refused or next_status(status, event)
    if isinstance(after, Illegal):
        return after
    new = _proposed(event, envelope.time, book) if status is None else _copy(book or {})
    _step(new, event, envelope.time.isoformat())
    new["status"] = after.value
    new["history"].append(_line(envelope, event))
    new["applied"].append(envelope.id)
    return new


def _proposed(event: InfoEvent, at: datetime, stub: State | None) -> State:
    assert isinstance(event, info_events.InfoReportProposed)
    return {
        "report_id": event.report_id,
        "status": InfoStatus.candidate.value,
        "source": event.source.value,
        "reference": event.reference,
        "title": event.title,
        "text": "",
        "department": event.actor,
        "proposed_by": event.by,
        "proposed_by_name": event.by_name,
        "proposed_at": at.isoformat(),
        "drafter": "",
        "drafter_name": "",
        "drafters": [],
        "drafted_at": None,
        "revisions": 0,
        "submitted_at": None,
        "submitted_to": [],
        "adopted_at": None,
        "adoptions": [],
        "endorsed_at": None,
        "endorsements": [],
        "closed_at": None,
        "close_reason": "",
        "history": [],
        "applied": [],
        "refused": list(stub["refused"]) if stub else [],
    }


def _step(new: State, event: InfoEvent, at: str) -> None:
    """What each step changes besides the status (the proposal made the book)."""
    match event:
        case info_events.InfoReportDrafted():
            if new["drafted_at"] is not None:
                new["revisions"] += 1
            new |= {
                "title": event.title,
                "text": event.text,
                "drafter": event.by,
                "drafter_name": event.by_name,
                "drafted_at": _first(new["drafted_at"], at),
            }
            if event.by not in new["drafters"]:
                new["drafters"].append(event.by)
        case info_events.InfoReportSubmitted():
            new["submitted_at"] = _first(new["submitted_at"], at)
            new["submitted_to"] += [
                o for o in dict.fromkeys(event.to) if o not in new["submitted_to"]
            ]
        case info_events.InfoReportAdopted():
            new["adopted_at"] = _first(new["adopted_at"], at)
            new["adoptions"].append(
                {
                    "office": event.office,
                    "publication": event.publication,
                    "issue": event.issue,
                    "at": at,
                }
            )
        case info_events.InfoReportEndorsed():
            new["endorsed_at"] = _first(new["endorsed_at"], at)
            new["endorsements"].append(
                {
                    "leader": event.leader,
                    "post": event.post,
                    "level": event.level.value,
                    "instruction": event.instruction,
                    "at": at,
                }
            )
        case info_events.InfoReportWithdrawn() | info_events.InfoReportNotAdopted():
            new |= {"closed_at": at, "close_reason": event.reason}


def _first(known: str | None, at: str) -> str:
    """The earlier instant of the two: a step recorded late (an adoption entered when the issue
    arrives) may be dated before one entered first."""
    return at if known is None else office_time.earliest(known, at)


def _line(envelope: Envelope, event: InfoEvent) -> dict[str, Any]:
    common = {"report_id", "actor", "by", "by_name"}
    return {
        "id": envelope.id,
        "kind": event.kind,
        "at": envelope.time.isoformat(),
        "actor": event.actor,
        "by": event.by,
        "by_name": event.by_name,
        "detail": event.model_dump(mode="json", exclude=common),
    }


def _copy(book: State) -> State:
    return {k: list(v) if isinstance(v, list) else v for k, v in book.items()}


def _stub(report_id: str) -> State:
    return {"report_id": report_id, "status": None, "applied": [], "refused": []}


def is_report(book: Mapping[str, Any] | None) -> TypeGuard[InfoReportState]:
    """A proposed report, not a stub that only remembers refused events."""
    return bool(book and book["status"])


def seen_by(book: InfoReportState, principal: str) -> bool:
    """Whether a department's ``principal`` may see ``book``: it proposed or drafted it."""
    return principal == book["proposed_by"] or principal in book["drafters"]


def decide(book: State | None, envelope: Envelope, context: Context) -> Decision:
    after = apply(book, envelope)
    if not isinstance(after, Illegal):
        return Decision(after)
    kept = _copy(book) if book else _stub(envelope.subject)
    kept["refused"] = [*kept["refused"], envelope.id]
    return Decision(kept, refusals=(Refusal(after.reason, after.detail, CONNECTOR),))


BOOK = Book(
    name="info_reports",
    reads=reading(InfoEvent),  # every step of a report (schemas/events/info.py)
    apply=decide,
    connector=CONNECTOR,
    state=InfoReportState | InfoReportStub,
)
