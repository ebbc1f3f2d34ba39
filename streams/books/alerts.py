"""The alerts book: one alert per alert id — raised, acknowledged, resolved. Pure logic.

An alert id names a condition ("message board-0042 unanswered"); the books that watch a condition
raise it once, raise it again at a higher ``level`` to escalate, and resolve it when the condition
ends. An event id seen before changes nothing. A raise that happened before the alert's
resolution (a timer's reading that crossed the reply in flight) does not reopen it; a raise after
it does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeGuard

from typing_extensions import TypedDict

from schemas.envelope import Envelope
from schemas.events.alert import AlertAcknowledged, AlertRaised, AlertResolved
from streams.books.book import Book, Context, Decision, State, reading, seen
from streams.books.office_time import instant, latest, parse
from streams.books.ranked import Ranked, Ranking

__all__ = [
    "BOOK",
    "OPEN_BELOW",
    "AlertState",
    "AlertStub",
    "apply",
    "decide",
    "is_alert",
    "listed",
    "open_by_severity",
    "open_first",
    "rank",
    "resolved_by",
]


class AlertState(TypedDict, closed=True):
    """An alert raised at least once: the latest raise's fields (an :class:`AlertRaised` as JSON,
    kept from the raise at the highest level), and where it stands. Times: ISO 8601 text."""

    alert_id: str
    kind: str
    severity: str
    """:class:`~schemas.events.alert.Severity`'s value."""
    about: str
    message: str
    reason: str
    actor: str
    level: int
    """The escalation step of the raise it shows."""
    source: str
    """The envelope source of that raise (who raised it)."""
    open: bool
    count: int
    """Raises since it was first raised (repeats, escalations and reopenings)."""
    raised_at: str
    """When it was (re)opened."""
    last_raised_at: str
    acknowledged_at: str | None
    acknowledged_by: str
    resolved_at: str | None
    resolution: str
    """The resolution's reason (``replied``, ``closed``…); empty while open."""
    applied: list[str]


class AlertStub(TypedDict, closed=True):
    """An acknowledgement or a resolution of an alert not (yet) raised: kept, so a raise older
    than the resolution does not open it."""

    alert_id: str
    raised_at: None
    open: bool
    """Always ``False``."""
    acknowledged_at: str | None
    acknowledged_by: str
    resolved_at: str | None
    resolution: str
    applied: list[str]


_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def apply(book: State | None, envelope: Envelope) -> State | None:
    """The alert after ``envelope``; ``None`` if the event was applied already."""
    if seen(book, envelope):
        return None
    event, at = envelope.data, envelope.time
    match event:
        case AlertRaised():
            new = _raised(book, event, envelope)
        case AlertAcknowledged():
            new = _stub(event.alert_id) if book is None else dict(book)
            new |= {"acknowledged_at": at.isoformat(), "acknowledged_by": event.by}
        case AlertResolved():
            new = _stub(event.alert_id) if book is None else dict(book)
            new |= {"open": False, "resolved_at": at.isoformat(), "resolution": event.reason}
        case _:
            raise TypeError(f"the alerts book does not take {envelope.type}")
    new["applied"] = [*(book["applied"] if book else []), envelope.id]
    return new


def _raised(book: State | None, event: AlertRaised, envelope: Envelope) -> State:
    at = envelope.time.isoformat()
    fields = event.model_dump(mode="json") | {"last_raised_at": at, "source": envelope.source}
    if book is not None and not is_alert(book) and _before(envelope.time, book["resolved_at"]):
        return dict(book)  # its resolution came first, and this raise is older than it
    if book is None or not is_alert(book):
        return (
            (book or {})
            | fields
            | {
                "open": True,
                "count": 1,
                "raised_at": at,
                "acknowledged_at": None,
                "acknowledged_by": "",
                "resolved_at": None,
                "resolution": "",
            }
        )
    if not book["open"]:
        if _before(envelope.time, book["resolved_at"]):
            return dict(book)  # raised before it was resolved: stays resolved
        return (
            book
            | fields
            | {
                "open": True,
                "count": book["count"] + 1,
                "raised_at": at,
                "resolved_at": None,
                "resolution": "",
            }
        )
    if event.level > book["level"]:  # escalation: the new level's severity and words
        return book | fields | {"count": book["count"] + 1}
    return book | {"count": book["count"] + 1, "last_raised_at": latest(book["last_raised_at"], at)}


def _before(when: datetime, resolved_at: str | None) -> bool:
    return resolved_at is not None and when <= parse(resolved_at)


def _stub(alert_id: str) -> State:
    """What an acknowledgement or resolution of an alert not (yet) raised leaves behind."""
    return {
        "alert_id": alert_id,
        "raised_at": None,
        "open": False,
        "resolved_at": None,
        "resolution": "",
        "acknowledged_at": None,
        "acknowledged_by": "",
    }


def is_alert(book: State | None) -> TypeGuard[State]:
    """Raised at least once (not only a stub)."""
    return bool(book and book.get("raised_at"))


def rank(book: State | None) -> tuple[int, int, int] | None:
    """Where an alert comes in a list: open before resolved, critical first, the last raised
    first (then by id); ``None`` for a stub, which no list shows."""
    if not is_alert(book):
        return None
    severity = _SEVERITY_ORDER.get(book["severity"], 9)
    return (0 if book["open"] else 1, severity, -instant(book["last_raised_at"]))


OPEN_BELOW = (1,)
"""Every open alert's rank comes before this one, every resolved alert's after."""


def open_by_severity(ranked: Ranked) -> dict[str, int]:
    """Open alerts per severity, from the alerts' summary (no alert's book is read)."""
    return {
        severity: ranked.below((0, order + 1)) - ranked.below((0, order))
        for severity, order in _SEVERITY_ORDER.items()
    }


def listed(book: State) -> dict[str, Any]:
    """An alert as the lists show it: without the ids it applied."""
    return {k: v for k, v in book.items() if k != "applied"}


def open_first(books: list[State], *, only_open: bool) -> list[dict[str, Any]]:
    """Alerts for display, in :func:`rank`'s order; without ids. The views read the same order
    from the book's summary (a :class:`~streams.books.ranked.Ranking` of :func:`rank`)."""
    shown = [b for b in books if is_alert(b) and (b["open"] or not only_open)]
    shown.sort(key=lambda b: (rank(b), b["alert_id"]))
    return [listed(b) for b in shown]


def decide(book: State | None, envelope: Envelope, context: Context) -> Decision:
    return Decision(apply(book, envelope))


BOOK = Book(
    name="alerts",
    reads=reading(AlertRaised, AlertAcknowledged, AlertResolved),
    apply=decide,
    state=AlertState | AlertStub,
    summary=lambda settings: Ranking(3, rank),
)


def resolved_by(alert_id: str, reason: str, cause: Envelope, *, source: str) -> Envelope:
    """The :class:`AlertResolved` that event ``cause`` brings (an item closed, a message
    answered); its id is fixed by the cause, so a re-read cause resolves it once."""
    event = AlertResolved(alert_id=alert_id, reason=reason)
    return Envelope.wrap(
        event,
        source=source,
        position=f"resolve/{cause.id}",
        subject=alert_id,
        time=cause.time,
        ingested_at=cause.ingested_at,
    )
