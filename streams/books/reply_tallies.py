"""Reply tallies (办复率): the figures of the public messages received in a period. Pure logic.

Computed from the message books (streams/books/replies.py) for any department and period, so
every figure — percentiles included — is exact for any period, not merged from per-day summaries.

Definitions (docs/metrics.md): of the messages *received* in the period —
reply rate = replied ÷ received; on-time reply rate = replied within ``on_time_days`` ÷ received;
time to reply = first reply − receipt, over the replied ones (mean, nearest-rank p50/p90, max).
An empty period has no rates (``None``), never 0 % or 100 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from midfield.settings import RepliesSettings
from streams.books import office_time
from streams.books.book import State
from streams.books.period import Period
from streams.books.replies import is_message

__all__ = [
    "aged",
    "by_department",
    "figures",
    "mean",
    "micros",
    "nearest_rank",
    "report",
    "spread",
    "tally",
]


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
    unanswered = [b for b in received if not b["replied_at"]]
    oldest = min(unanswered, key=lambda b: (_t(b["received_at"]), b["message_id"]), default=None)
    return figures(
        received=len(received),
        replied=len(waits),
        on_time=sum(w <= rules.on_time_days * 86_400 for w in waits),
        time_to_reply=spread(waits),
        unanswered=len(unanswered),
        oldest=oldest and {k: oldest[k] for k in ("message_id", "title", "received_at")},
        now=now,
    )


def figures(
    *,
    received: int,
    replied: int,
    on_time: int,
    time_to_reply: dict[str, float] | None,
    unanswered: int,
    oldest: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """The figures of a period's messages: ``time_to_reply`` as :func:`spread` gives it,
    ``oldest`` the oldest unanswered message's id, title and receipt (or ``None``)."""
    return {
        "received": received,
        "replied": replied,
        "reply_rate": _ratio(replied, received),
        "on_time": on_time,
        "on_time_rate": _ratio(on_time, received),
        "time_to_reply_s": time_to_reply,
        "unanswered": unanswered,
        "oldest_unanswered": aged(oldest, now),
    }


def aged(oldest: dict[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    """The oldest unanswered message as the figures show it: with the days it has waited."""
    return oldest and oldest | {"days": (now - _t(oldest["received_at"])).days}


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
    codes = sorted({b["department"] for b in books if is_message(b)})
    return report(
        period,
        [department] if department else codes,
        lambda code: tally(books, period, department=code, now=now, rules=rules),
        total=department,
        name_of=name_of,
    )


def report(
    period: Period,
    codes: list[str],
    tally_of: Callable[[str | None], dict[str, Any]],
    *,
    total: str | None,
    name_of: Callable[[str], str],
) -> dict[str, Any]:
    """A period's figures per department of ``codes`` (``tally_of(code)``) and in total
    (``tally_of(total)``: ``None`` for every department)."""
    rows = [
        {"department": code, "name": name_of(code) if code else "（未分派）"} | tally_of(code)
        for code in codes
    ]
    return {
        "period": period.label,
        "from": period.start.isoformat() if period.start else None,
        "to": period.end.isoformat() if period.end else None,
        "departments": rows,
        "total": tally_of(total),
    }


def _t(text: str) -> datetime:
    return office_time.parse(text)


def _ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)


def spread(waits: list[float]) -> dict[str, float] | None:
    """Mean, nearest-rank p50 and p90, max of sorted ``waits``; ``None`` when there are none."""
    if not waits:
        return None
    n = len(waits)
    return {
        "mean": mean(sum(micros(w) for w in waits), n),
        "p50": waits[nearest_rank(0.5, n)],
        "p90": waits[nearest_rank(0.9, n)],
        "max": waits[-1],
    }


def nearest_rank(q: float, n: int) -> int:
    """Where the ``q`` quantile of ``n`` sorted waits is, by the nearest-rank method: the
    index of the ⌈q·n⌉-th smallest."""
    return max(math.ceil(q * n) - 1, 0)


def micros(wait: float) -> int:
    """A wait in seconds (``timedelta.total_seconds()``: its microseconds ÷ 10⁶, rounded to a
    float) as those microseconds again: exact while the wait is under 2⁵¹ µs (71 years), where
    the two roundings together stay under half a microsecond."""
    return round(wait * 1_000_000)


def mean(total_micros: int, n: int) -> float:
    """The mean of ``n`` waits adding up to ``total_micros``, in seconds to a tenth: exact
    integer arithmetic, so it is the same whatever order the waits were added in (a float sum
    is not: the summary adds a period's days, the books its messages)."""
    return round(total_micros / (n * 1_000_000), 1)
