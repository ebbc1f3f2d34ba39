"""The audit book: one principal's day of requests, counted, and the grouped denial alert.

The topic ``office.audit.v1`` holds every record (the trail itself, kept for its retention);
this book is what the director reads (``GET /audit``): per ``<day>/<principal>`` the counts by
action, route and outcome, the addresses seen, and the latest :data:`RECENT` records in full.
Denials are counted; when a principal's (or, unauthenticated, an address's) denials of the day
reach ``denials_alert_at``, then 10x, then 100x, one security alert is raised and escalated —
the same alert id each time, so a flood of refused requests is one alert with a count, never one
alert per request.

An event id seen before changes nothing. The book remembers the last :data:`APPLIED` ids: a
faust worker re-reads only what it had not committed (seconds of records), far fewer than that.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from typing_extensions import TypedDict

from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.audit import AuditRecorded, Outcome
from streams.books.book import Book, Context, Decision, State, reading, seen
from streams.books.office_time import earliest, latest

__all__ = [
    "APPLIED",
    "BOOK",
    "RECENT",
    "Applied",
    "AuditLine",
    "AuditState",
    "apply",
    "day_of",
    "decide",
    "denial_alert",
    "on_day",
]


RECENT = 50
"""Records kept in full per principal and day (the topic keeps them all)."""
APPLIED = 2000
"""Event ids remembered per book, for effectively-once."""
_DENIED = (Outcome.denied.value, Outcome.unauthenticated.value)
_ESCALATIONS = (1, 10, 100)


class AuditLine(TypedDict, closed=True):
    """A record kept in full: an :class:`AuditRecorded` as JSON, without principal and roles."""

    service: str
    action: str
    method: str
    route: str
    target: str
    outcome: str
    status: int
    reason: str
    remote: str
    at: str


class AuditState(TypedDict, closed=True):
    """One principal's day (``<day>/<principal>``) of requests."""

    key: str
    """The subject, ``<day>/<principal>``."""
    day: str
    principal: str
    roles: list[str]
    """As the day's first record gave them."""
    total: int
    denied: int
    """Denied and unauthenticated requests."""
    counts: dict[str, int]
    """``"<action> <method> <route> <outcome>"`` -> requests."""
    remotes: list[str]
    """Addresses seen, the first 20."""
    first_at: str
    last_at: str
    recent: list[AuditLine]
    """The latest :data:`RECENT` records."""
    applied: list[str]
    """The latest :data:`APPLIED` event ids."""


def day_of(subject: str) -> str:
    """The day part of an audit subject ``<day>/<principal>``."""
    return subject.partition("/")[0]


class Applied:
    """The new book, and the alert it calls for (``None`` for none)."""

    def __init__(self, book: State, alert: AlertRaised | None) -> None:
        self.book, self.alert = book, alert


def apply(book: State | None, envelope: Envelope, alert_at: int) -> Applied | None:
    """The book after ``envelope``; ``None`` if applied before. ``alert_at``: denials that
    raise the grouped alert (AccessSettings.denials_alert_at)."""
    if seen(book, envelope):
        return None
    event = envelope.data
    if not isinstance(event, AuditRecorded):
        raise TypeError(f"the audit book does not take {envelope.type}")
    new = _new(envelope.subject, event) if book is None else dict(book)
    row = f"{event.action.value} {event.method} {event.route} {event.outcome.value}"
    new["counts"] = new["counts"] | {row: new["counts"].get(row, 0) + 1}
    new["total"] += 1
    if event.remote and event.remote not in new["remotes"] and len(new["remotes"]) < 20:
        new["remotes"] = [*new["remotes"], event.remote]
    at = event.at.isoformat()
    new["first_at"] = earliest(new["first_at"] or at, at)
    new["last_at"] = latest(new["last_at"] or at, at)
    new["recent"] = [*new["recent"], _record(event)][-RECENT:]
    new["applied"] = [*new["applied"], envelope.id][-APPLIED:]
    alert = None
    if event.outcome.value in _DENIED:
        new["denied"] += 1
        alert = denial_alert(new, event, alert_at)
    return Applied(new, alert)


def denial_alert(book: State, event: AuditRecorded, alert_at: int) -> AlertRaised | None:
    """The grouped alert when this denial crossed a threshold (``alert_at`` x 1, 10, 100)."""
    steps = [alert_at * k for k in _ESCALATIONS]
    if book["denied"] not in steps:
        return None
    level = steps.index(book["denied"])
    who = book["principal"]
    return AlertRaised(
        alert_id=f"security/denied/{book['key']}",
        kind="security",
        severity=Severity.critical if level else Severity.warning,
        about=who,
        message=(
            f"{who} 今日已被拒绝访问 {book['denied']} 次"
            f"（最近一次：{event.method} {event.route}，{event.service}）"
        ),
        reason="repeated-denials",
        actor=who,
        level=level,
    )


def on_day(books: Iterable[tuple[str, State]], day: date, principal: str | None) -> list[State]:
    """The books of ``day`` (all principals, or the one asked for), busiest first."""
    wanted = day.isoformat()
    found = [
        _shown(b)
        for key, b in books
        if b and day_of(key) == wanted and (principal is None or b["principal"] == principal)
    ]
    return sorted(found, key=lambda b: (-b["denied"], -b["total"], b["principal"]))


def _new(subject: str, event: AuditRecorded) -> State:
    return {
        "key": subject,
        "day": day_of(subject),
        "principal": event.principal,
        "roles": list(event.roles),
        "total": 0,
        "denied": 0,
        "counts": {},
        "remotes": [],
        "first_at": None,
        "last_at": None,
        "recent": [],
        "applied": [],
    }


def _record(event: AuditRecorded) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude={"principal", "roles"})


def _shown(book: State) -> State:
    return {k: v for k, v in book.items() if k != "applied"}


def decide(book: State | None, envelope: Envelope, context: Context) -> Decision:
    """The principal's day after ``envelope``, with the grouped denial alert when one is due
    (the same alert id per principal and day, so escalations update one alert)."""
    out = apply(book, envelope, context.settings.access.denials_alert_at)
    if out is None:
        return Decision()
    alerts = []
    if out.alert is not None:
        alerts.append(
            Envelope.wrap(
                out.alert,
                source=context.source,
                position=f"denied/{envelope.subject}/{out.book['denied']}",
                subject=out.alert.alert_id,
                time=envelope.time,
                ingested_at=envelope.ingested_at,
            )
        )
    return Decision(out.book, alerts=alerts)


BOOK = Book(
    name="audit",
    reads=reading(AuditRecorded),
    apply=decide,
    state=AuditState,
)
