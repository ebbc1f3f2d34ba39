"""The one source of "now": a function returning an aware UTC datetime, passed in wherever time
matters (lights, reminders, dead-letter stamps), so tests can set it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "utc_now"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
