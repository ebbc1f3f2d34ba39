"""Reply tallies (办复率) and the early warning on unanswered public messages. Pure logic.

One book per message (keyed by message id): when it arrived, which department must reply, when
the first reply was published. Tallies are computed from these books for any department and
period, so every figure — percentiles included — is exact for any period, not merged from
per-day summaries: a county receives thousands of messages a year and one small record each is
cheap. (A province's hotline at ~10k a day would keep a mergeable sketch per department and day
instead; docs/metrics.md says so.)

Definitions (docs/metrics.md): of the messages *received* in the period —
reply rate = replied ÷ received; on-time reply rate = replied within ``on_time_days`` ÷ received;
time to reply = first reply − receipt, over the replied ones (mean, nearest-rank p50/p90, max).
An empty period has no rates (``None``), never 0 % or 100 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from midfield.settings import RepliesSettings, Settings
from schemas.catalog import topic
from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, AlertResolved, Severity
from schemas.events.message import PublicMessageReceived, PublicMessageReplied
from streams.books import office_time
from streams.books.book import Book, Context, Decision, State, Timer

__all__ = [
    "BOOK",
    "Period",
    "alert_id",
    "apply",
    "by_department",
    "decide",
    "due_warnings",
    "is_message",
    "resolution",
    "tally",
]


def apply(book: State | None, envelope: Envelope) -> State | None:
    """The message's book after ``envelope``; ``None`` if this event id was applied already."""
    if book is not None and envelope.id in book["applied"]:
        return None
    new = dict(book) if book else _stub(envelope.subject)
    match envelope.data:
        case PublicMessageReceived() as event if new["received_at"] is None:
            new |= {
                "channel": event.channel.value,
                "category": event.category.value,
                "title": event.title,
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


# -- periods and tallies -----------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """A day, a month, a year or all time, in the office's time zone."""

    label: str
    start: datetime | None
    end: datetime | None

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo) -> Period:
        """``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY`` or ``all``; ``ValueError`` otherwise."""
        if text == "all":
            return cls("all", None, None)
        parts = [int(p) for p in text.split("-")]
        if len(parts) == 3:
            first = date(*parts)
            after = first + timedelta(days=1)
        elif len(parts) == 2:
            first = date(parts[0], parts[1], 1)
            after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        elif len(parts) == 1 and len(text) == 4:
            first, after = date(parts[0], 1, 1), date(parts[0] + 1, 1, 1)
        else:
            raise ValueError(f"period must be YYYY-MM-DD, YYYY-MM, YYYY or all, got {text!r}")
        return cls(text, _midnight(first, zone), _midnight(after, zone))

    def holds(self, when: datetime) -> bool:
        return (self.start is None or when >= self.start) and (self.end is None or when < self.end)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def tally(
    books: list[State],
    period: Period,
    *,
    department: str | None,
    now: datetime,
    rules: RepliesSettings,
) -> dict[str, Any]:
    """The figures of ``department`` (``None``: every department) for ``period``."""
    received = [
        b
        for b in books
        if is_message(b)
        and period.holds(_t(b["received_at"]))
        and (department is None or b["department"] == department)
    ]
    waits = sorted(
        (_t(b["replied_at"]) - _t(b["received_at"])).total_seconds()
        for b in received
        if b["replied_at"]
    )
    on_time = sum(w <= rules.on_time_days * 86_400 for w in waits)
    unanswered = [b for b in received if not b["replied_at"]]
    oldest = min(unanswered, key=lambda b: (_t(b["received_at"]), b["message_id"]), default=None)
    return {
        "received": len(received),
        "replied": len(waits),
        "reply_rate": _ratio(len(waits), len(received)),
        "on_time": on_time,
        "on_time_rate": _ratio(on_time, len(received)),
        "time_to_reply_s": _spread(waits),
        "unanswered": len(unanswered),
        "oldest_unanswered": oldest
        and {
            "message_id": oldest["message_id"],
            "title": oldest["title"],
            "received_at": oldest["received_at"],
            "days": (now - _t(oldest["received_at"])).days,
        },
    }


def by_department(
    books: list[State],
    period: Period,
    *,
    department: str | None,
    now: datetime,
    rules: RepliesSettings,
    name_of: Callable[[str], str],
) -> dict[str, Any]:
    """``GET /reply-rate``: one row per department (or only ``department``) and the total."""
    codes = (
        [department] if department else sorted({b["department"] for b in books if is_message(b)})
    )
    rows = [
        {"department": code, "name": name_of(code) if code else "（未分派）"}
        | tally(books, period, department=code, now=now, rules=rules)
        for code in codes
    ]
    return {
        "period": period.label,
        "from": period.start.isoformat() if period.start else None,
        "to": period.end.isoformat() if period.end else None,
        "departments": rows,
        "total": tally(books, period, department=department, now=now, rules=rules),
    }


def _t(text: str) -> datetime:
    return office_time.parse(text)


def _ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)


def _spread(waits: list[float]) -> dict[str, float] | None:
    """Mean, nearest-rank p50 and p90, max of sorted ``waits``; ``None`` when there are none."""
    if not waits:
        return None

    def rank(q: float) -> float:
        return waits[max(math.ceil(q * len(waits)) - 1, 0)]

    mean = round(sum(waits) / len(waits), 1)
    return {"mean": mean, "p50": rank(0.5), "p90": rank(0.9), "max": waits[-1]}


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
    event = AlertResolved(alert_id=alert_id(after["message_id"]), reason="replied")
    return Envelope.wrap(
        event,
        source=source,
        position=f"resolve/{envelope.id}",
        subject=event.alert_id,
        time=envelope.time,
        ingested_at=envelope.ingested_at,
    )


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


BOOK = Book(
    name="messages",
    reads={topic(PublicMessageReceived.topic).name: (PublicMessageReceived, PublicMessageReplied)},
    apply=decide,
    connector="messages",
    timers=(
        Timer(
            "reply-warnings",
            interval=lambda settings: settings.replies.check_interval_s,
            propose=_warnings,
            to=topic(AlertRaised.topic).name,
        ),
    ),
)
