"""Public messages awaiting a reply, and the early warning on unanswered ones. Pure logic.

One book per message (keyed by message id): when it arrived, which department must reply, when
the first reply was published. The tallies (办复率) are computed from these books for any
department and period (streams/books/reply_tallies.py): a county receives thousands of messages a
year and one small record each is cheap. (A province's hotline at ~10k a day would keep a
mergeable sketch per department and day instead; docs/metrics.md says so.)

A message unanswered past each threshold of ``MIDFIELD_REPLIES_WARNING_DAYS`` raises an alert,
escalated at each threshold and resolved by the first reply.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NotRequired, TypeGuard

from typing_extensions import TypedDict

from midfield.settings import RepliesSettings, Settings
from schemas.catalog import topic
from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.message import PublicMessageReceived, PublicMessageReplied
from streams.books import office_time
from streams.books.alerts import resolved_by
from streams.books.book import Book, Context, Decision, State, Timer, reading, seen

__all__ = [
    "BOOK",
    "TEXT_CHARS",
    "MessageState",
    "alert_id",
    "apply",
    "decide",
    "due_warnings",
    "is_message",
    "resolution",
]


TEXT_CHARS = 200
"""How much of a message's content its book keeps: enough for a topic and a place (the weekly
brief), not the whole letter (up to 20,000 characters)."""


class MessageState(TypedDict, closed=True):
    """One public message: when it came, who must reply, its first reply (times ISO 8601 text).
    A reply that came before its message leaves the message's fields empty until it comes."""

    message_id: str
    channel: str
    """:class:`~schemas.events.message.MessageChannel`'s value; empty until received."""
    category: str
    """:class:`~schemas.events.message.MessageCategory`'s value; empty until received."""
    title: str
    text: NotRequired[str]
    """The content's first :data:`TEXT_CHARS` characters, for the weekly brief's hotspots
    (streams/brief/); views mask it. Absent in books written before it was kept."""
    department: str
    """The department that must reply (empty: not assigned)."""
    received_at: str | None
    """``None``: not received yet (only a reply came)."""
    replied_at: str | None
    """The earliest reply's time."""
    replied_by: str
    replies: int
    applied: list[str]


def apply(book: State | None, envelope: Envelope) -> State | None:
    """The message's book after ``envelope``; ``None`` if this event id was applied already."""
    if seen(book, envelope):
        return None
    new = dict(book) if book else _stub(envelope.subject)
    match envelope.data:
        case PublicMessageReceived() as event if new["received_at"] is None:
            new |= {
                "channel": event.channel.value,
                "category": event.category.value,
                "title": event.title,
                "text": event.content[:TEXT_CHARS],
                "department": event.department,
                "received_at": envelope.time.isoformat(),
            }
        case PublicMessageReceived():
            pass  # the same message again (a re-import): the first arrival counts
        case PublicMessageReplied() as event:
            first = new["replied_at"] is None or envelope.time < _t(new["replied_at"])
            if first:
                new |= {"replied_at": envelope.time.isoformat(), "replied_by": event.department}
            new["replies"] += 1
        case _:
            raise TypeError(f"the reply tallies do not take {envelope.type}")
    new["applied"] = [*new["applied"], envelope.id]
    return new


def _stub(message_id: str) -> State:
    return {
        "message_id": message_id,
        "channel": "",
        "category": "",
        "title": "",
        "department": "",
        "received_at": None,
        "replied_at": None,
        "replied_by": "",
        "replies": 0,
        "applied": [],
    }


def is_message(book: State | None) -> TypeGuard[State]:
    """Received (a reply that came before its message is kept, but is no message yet)."""
    return bool(book and book["received_at"])


def _t(text: str) -> datetime:
    return office_time.parse(text)


# -- early warning -----------------------------------------------------------------------------
def alert_id(message_id: str) -> str:
    return f"unanswered/{message_id}"


def _severity(days: int, rules: RepliesSettings) -> Severity:
    return Severity.critical if days >= rules.warning_days[-1] else Severity.warning


def due_warnings(
    books: list[State], now: datetime, rules: RepliesSettings, *, source: str
) -> list[Envelope]:
    """For each unanswered message, the alert of the highest threshold it has passed.

    One alert per message (``unanswered/<id>``), raised again at each threshold with that
    threshold as its level (an escalation); the event id is fixed per message and threshold, so
    proposing it at every check applies it once.
    """
    thresholds = [*rules.warning_days, rules.fail_days]
    out = []
    for book in books:
        if not is_message(book) or book["replied_at"]:
            continue
        days = (now - _t(book["received_at"])).days
        passed = [t for t in thresholds if days >= t]
        if not passed:
            continue
        level = passed[-1]
        failed = level >= rules.fail_days
        text = (
            f"留言“{book['title']}”已 {days} 天未答复，超过三个月：网站检查“互动回应差”单项否决"
            if failed
            else f"留言“{book['title']}”已 {days} 天未答复（{level} 天预警）"
        )
        event = AlertRaised(
            alert_id=alert_id(book["message_id"]),
            kind="unanswered",
            severity=Severity.critical if failed else _severity(level, rules),
            about=book["message_id"],
            message=text,
            level=level,
            reason="check-failed" if failed else f"unanswered-{level}-days",
            actor=book["department"],
        )
        out.append(
            Envelope.wrap(
                event,
                source=source,
                position=f"{event.alert_id}@{level}",
                subject=event.alert_id,
                time=now,
                ingested_at=now,
            )
        )
    return out


def resolution(
    before: State | None, after: State, envelope: Envelope, rules: RepliesSettings, *, source: str
) -> Envelope | None:
    """The :class:`AlertResolved` a first reply brings, when the message could have an alert."""
    if not is_message(after) or not after["replied_at"] or (before and before["replied_at"]):
        return None
    waited = (_t(after["replied_at"]) - _t(after["received_at"])).days
    if waited < rules.warning_days[0]:
        return None
    return resolved_by(alert_id(after["message_id"]), "replied", envelope, source=source)


def decide(book: State | None, envelope: Envelope, context: Context) -> Decision:
    """The message after ``envelope``; a first reply resolves its warning alert."""
    after = apply(book, envelope)
    if after is None:
        return Decision()
    rules = context.settings.replies
    resolved = resolution(book, after, envelope, rules, source=context.source)
    return Decision(after, alerts=[resolved] if resolved else [])


def _warnings(books: list[State], now: datetime, settings: Settings, source: str) -> list[Envelope]:
    return due_warnings(books, now, settings.replies, source=source)


def _unanswered_long(summary: Any, now: datetime, settings: Settings) -> list[str]:
    """The messages not answered yet that were received at least the first warning's days ago
    (the reply summary's open ones): the only ones a warning may be due for."""
    rules = settings.replies
    return summary.open_since(now - timedelta(days=min(*rules.warning_days, rules.fail_days)))  # type: ignore[no-any-return]


def _summary(settings: Settings) -> Any:
    """The reply tallies' summary (imported here: it reads this module's ``is_message``)."""
    from streams.books.reply_summary import ReplySummary

    return ReplySummary(settings.replies, settings.office.zone)


BOOK = Book(
    name="messages",
    reads=reading(PublicMessageReceived, PublicMessageReplied),
    apply=decide,
    state=MessageState,
    summary=lambda settings: _summary(settings),
    timers=(
        Timer(
            "reply-warnings",
            interval=lambda settings: settings.replies.check_interval_s,
            propose=_warnings,
            to=topic(AlertRaised.topic).name,
            candidates=_unanswered_long,
        ),
    ),
)
