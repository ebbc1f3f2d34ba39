"""A supervised task's traffic light (亮灯): red overdue, yellow near its deadline or behind
schedule, green otherwise.

Lights are not stored in a task's book (streams/books/task_book.py): they depend on the time, so
:func:`light` computes them for a given ``now``, with the office's windows
(:class:`~midfield.settings.SupervisionSettings`). The ledger's reminders, its views, the
dashboard and the duty report all read them here. They take a book, or its :class:`Timing`: the
four fields a light depends on, parsed (the ledger's summary keeps those, not the book).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from midfield.settings import SupervisionSettings
from schemas.events.task import TaskStatus
from streams.books.task_state import TaskState

__all__ = [
    "Light",
    "Reason",
    "Timing",
    "changes_after",
    "due_at",
    "light",
    "light_reason",
    "timing",
]


class Light(StrEnum):
    green = "green"
    yellow = "yellow"
    red = "red"


class Timing(NamedTuple):
    """What a task's light depends on besides ``now``: its book's ``status``, ``deadline``,
    ``created_at`` and ``percent``, the times parsed."""

    status: str
    deadline: date
    created: datetime
    percent: int


def timing(book: TaskState | Timing) -> Timing:
    if isinstance(book, Timing):
        return book
    return Timing(book["status"], date.fromisoformat(book["deadline"]),
                  datetime.fromisoformat(book["created_at"]), book["percent"])  # fmt: skip


def due_at(book: TaskState | Timing, zone: ZoneInfo) -> datetime:
    """The moment a task becomes overdue: the end of its deadline day, office time."""
    last_day = book.deadline if isinstance(book, Timing) else date.fromisoformat(book["deadline"])
    return _due(last_day, zone)


def _due(last_day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(last_day + timedelta(days=1), time(0), zone)


@dataclass(frozen=True)
class Reason:
    """Why a task has its light, as a code and its figures; :mod:`streams.views.labels` words it for
    the office, :attr:`english` keeps the text the JSON API has always answered."""

    code: str
    """``closed``, ``overdue`` (``days``), ``deadline-near`` (``days``), ``behind-schedule``
    (``percent``, ``behind``: percentage points) or ``on-track``."""
    figures: tuple[tuple[str, int], ...] = ()

    @property
    def english(self) -> str:
        f = dict(self.figures)
        match self.code:
            case "overdue":
                return f"overdue by {f['days']} day{'s' if f['days'] > 1 else ''}"
            case "deadline-near":
                return f"deadline in {f['days']} day{'s' if f['days'] != 1 else ''}"
            case "behind-schedule":
                return f"progress {f['percent']}% behind time elapsed by {f['behind']}%"
            case "on-track":
                return "on track"
        return self.code


def light(
    book: TaskState | Timing, now: datetime, rules: SupervisionSettings, zone: ZoneInfo
) -> tuple[Light, str]:
    """The task's light at ``now`` and why, in English (:func:`light_reason` gives the code)."""
    colour, reason = light_reason(book, now, rules, zone)
    return colour, reason.english


def light_reason(
    book: TaskState | Timing, now: datetime, rules: SupervisionSettings, zone: ZoneInfo
) -> tuple[Light, Reason]:
    """The task's light at ``now`` and why: red overdue, yellow near the deadline or behind
    schedule, green otherwise (and once closed)."""
    t = timing(book)
    if t.status == TaskStatus.closed:
        return Light.green, Reason("closed")
    due = _due(t.deadline, zone)
    if now >= due:
        return Light.red, Reason("overdue", (("days", (now - due).days + 1),))
    days_left = (t.deadline - now.astimezone(zone).date()).days
    if days_left <= rules.warning_days:
        return Light.yellow, Reason("deadline-near", (("days", days_left),))
    behind = _behind_schedule(t, now, due)
    if behind > rules.progress_lag:
        points = int(format(behind * 100, ".0f"))  # as ``{behind:.0%}`` rounds it
        return Light.yellow, Reason("behind-schedule", (("percent", t.percent), ("behind", points)))
    return Light.green, Reason("on-track")


def _behind_schedule(t: Timing, now: datetime, due: datetime) -> float:
    if t.status in (TaskStatus.completion_reported, TaskStatus.reviewed):
        return 0.0
    span = (due - t.created).total_seconds()
    if span <= 0:
        return 0.0
    elapsed = min(max((now - t.created).total_seconds() / span, 0.0), 1.0)
    return elapsed - t.percent / 100


def changes_after(
    book: TaskState | Timing, now: datetime, rules: SupervisionSettings, zone: ZoneInfo
) -> datetime | None:
    """The first moment after ``now`` at which the task's light may change with no event
    (``None``: never): its deadline window opening, its due time, the moment its progress falls
    behind the time elapsed. A light computed at ``now`` holds until then (the ledger's summary,
    streams/books/ledger_summary.py, recomputes it only then)."""
    t = timing(book)
    if t.status == TaskStatus.closed:
        return None
    due = _due(t.deadline, zone)
    if now >= due:
        return None
    window = t.deadline - timedelta(days=rules.warning_days)
    moments = [due, datetime.combine(window, time(0), zone)]
    if t.status not in (TaskStatus.completion_reported, TaskStatus.reviewed):
        start, share = t.created, t.percent / 100 + rules.progress_lag
        if due > start and share < 1:  # behind once elapsed > share: a microsecond after
            moments.append(start + (due - start) * share)
    later = [m for m in moments if m >= now]
    return min(later) if later else None
