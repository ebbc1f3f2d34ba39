"""The alerts book: every alert raised on ``office.alerts.v1``, by alert id. Pure logic.

An alert raised again under the same id (the same condition seen again) stays one alert with a
count; an event id seen before changes nothing. Alerts stay open until they are resolved; the
books that raise alerts (incoming items, reply tallies) resolve them when their cause goes away.
"""

from __future__ import annotations

from typing import Any

from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised

__all__ = ["apply", "open_first"]

Book = dict[str, Any]

_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def apply(book: Book | None, envelope: Envelope) -> Book | None:
    """The alert after ``envelope``; ``None`` if the event was applied already."""
    event = envelope.data
    if not isinstance(event, AlertRaised):
        raise ValueError(f"the alerts book does not take {envelope.type}")
    if book is not None and envelope.id in book["applied"]:
        return None
    at = envelope.time.isoformat()
    if book is None:
        fields = event.model_dump(mode="json")
        return fields | {
            "open": True,
            "count": 1,
            "raised_at": at,
            "last_raised_at": at,
            "source": envelope.source,
            "applied": [envelope.id],
        }
    return book | {
        "count": book["count"] + 1,
        "last_raised_at": max(book["last_raised_at"], at),
        "message": event.message,
        "applied": [*book["applied"], envelope.id],
    }


def open_first(books: list[Book], *, only_open: bool) -> list[dict[str, Any]]:
    """Alerts for display: open before closed, critical first, newest first; without ids."""
    shown = [
        {k: v for k, v in b.items() if k != "applied"} for b in books if b["open"] or not only_open
    ]
    shown.sort(key=lambda a: a["last_raised_at"], reverse=True)
    shown.sort(key=lambda a: (not a["open"], _SEVERITY_ORDER.get(a["severity"], 9)))
    return shown
