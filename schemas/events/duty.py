"""The duty system's own events: the report at the end of each shift and day (值班报告)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import ConfigDict, Field

from schemas.envelope import EventData, register_event

__all__ = ["DutyReportIssued"]


@register_event
class DutyReportIssued(EventData):
    """A shift or a day ended; its report in figures (the full report: ``GET /duty-report``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "date": "2025-03-14",
                    "shift": "白班",
                    "start": "2025-03-14T08:30:00+08:00",
                    "end": "2025-03-14T17:30:00+08:00",
                    "by_channel": {"fax": 6, "call": 3},
                    "new_items": 9,
                    "overdue_items": 1,
                    "open_emergencies": 0,
                    "alerts_raised": 2,
                }
            ]
        }
    )

    type = "cn.gov.county.office.duty.report.v1"
    topic = "office.duty.report.v1"

    date: date
    shift: str | None = Field(None, description="None: the whole day.")
    start: datetime
    end: datetime
    by_channel: dict[str, int] = Field(default_factory=dict)
    new_items: int = Field(ge=0)
    overdue_items: int = Field(ge=0)
    open_emergencies: int = Field(ge=0)
    alerts_raised: int = Field(ge=0)
