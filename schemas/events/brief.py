"""The weekly brief (每周工作简报) as the leaders' system receives it, in its outbox."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from schemas.envelope import EventData, examples

__all__ = ["BriefIssued"]


class BriefIssued(EventData):
    """The week's brief, one line per entry as the document words it, and where the worker
    serves the document itself (``GET /brief.docx?week=``, director or supervision)."""

    model_config = examples(
        {
            "week": "2026-W49",
            "title": "2026年第49周工作简报",
            "issuer": "县人民政府办公室",
            "start": "2026-11-30T00:00:00+08:00",
            "end": "2026-12-07T00:00:00+08:00",
            "totals": {"messages": 74, "red-task": 1},
            "hotspots": ["学区划分（话题）：本周涉及该话题的留言和工单24件……"],
            "focus": ["《汛前病险水库除险加固》（县水利局）：逾期 9 天。"],
            "highlights": ["县教育局：本周25条留言全部按时答复。"],
            "document": "/brief.docx?week=2026-W49",
        }
    )

    type = "cn.gov.county.office.brief.issued.v1"
    topic = "office.outbox.<department>.v1"

    week: str = Field(pattern=r"^\d{4}-W\d{2}$")
    title: str
    issuer: str
    start: datetime
    end: datetime
    totals: dict[str, int | float | None] = Field(description="The week's figures and counts.")
    hotspots: tuple[str, ...] = ()
    focus: tuple[str, ...] = ()
    highlights: tuple[str, ...] = ()
    document: str = Field(description="The path of the .docx on the worker.")
