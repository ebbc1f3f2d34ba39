"""Information tallies (信息工作统计): what the office proposed, submitted, had adopted and saw
endorsed in a period. Pure logic, computed from the report books (streams/books/info_reports.py)
for any period, as the reply tallies are from the message books.

Definitions (docs/information.md): each count is of the steps *dated* in the period —
``proposed``, ``drafted``, ``submitted``, ``adopted`` and ``endorsed`` count reports by their
first such step (a report adopted twice in the period counts once); ``adoptions`` (采用条次)
and ``endorsements`` (批示, by the leader's level) count every one. ``adoption_rate`` is of the
reports first *submitted* in the period, the share adopted since (so far): a cohort, as the
reply rate is; ``None`` when none was submitted, never 0 % or 100 %.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.events.info import InfoStatus, LeaderLevel
from streams.books import office_time
from streams.books.info_reports import InfoReportState
from streams.books.period import Period

__all__ = ["by_drafter_and_department", "tally"]


def tally(books: list[InfoReportState], period: Period) -> dict[str, Any]:
    """The figures of ``books`` for ``period``."""

    def first(field: str) -> list[InfoReportState]:
        return [b for b in books if _in(period, b[field])]  # type: ignore[literal-required]

    submitted = first("submitted_at")
    adopted_since = sum(b["adopted_at"] is not None for b in submitted)
    endorsements = sorted(
        (
            {
                "leader": e["leader"],
                "post": e["post"],
                "level": e["level"],
                "at": e["at"],
                "report_id": b["report_id"],
                "title": b["title"],
            }
            for b in books
            for e in b["endorsements"]
            if _in(period, e["at"])
        ),
        key=lambda e: (office_time.parse(e["at"]), e["report_id"]),
    )
    closed = first("closed_at")
    return {
        "proposed": len(first("proposed_at")),
        "drafted": len(first("drafted_at")),
        "submitted": len(submitted),
        "adopted": len(first("adopted_at")),
        "adoptions": sum(_in(period, a["at"]) for b in books for a in b["adoptions"]),
        "endorsed": len(first("endorsed_at")),
        "endorsements": {
            level.value: sum(e["level"] == level.value for e in endorsements)
            for level in LeaderLevel
        },
        "withdrawn": sum(b["status"] == InfoStatus.withdrawn.value for b in closed),
        "not_adopted": sum(b["status"] == InfoStatus.not_adopted.value for b in closed),
        "adopted_of_submitted": adopted_since,
        "adoption_rate": None if not submitted else round(adopted_since / len(submitted), 4),
        "endorsed_by": endorsements,
    }


def by_drafter_and_department(
    books: list[InfoReportState], period: Period, *, name_of: Callable[[str], str]
) -> dict[str, Any]:
    """``GET /info-reports/tallies``: the total, a row per department (whose report it is: the
    office's own or a department's) and a row per drafter (the latest draft's)."""
    departments = sorted({b["department"] for b in books})
    drafters = sorted({(b["drafter"], b["drafter_name"]) for b in books if b["drafter"]})
    return {
        "period": period.label,
        "from": period.start.isoformat() if period.start else None,
        "to": period.end.isoformat() if period.end else None,
        "total": tally(books, period),
        "departments": [
            {"department": code, "name": name_of(code)}
            | tally([b for b in books if b["department"] == code], period)
            for code in departments
        ],
        "drafters": [
            {"drafter": who, "name": name}
            | tally([b for b in books if (b["drafter"], b["drafter_name"]) == (who, name)], period)
            for who, name in drafters
        ],
    }


def _in(period: Period, at: str | None) -> bool:
    return at is not None and period.holds(office_time.parse(at))
