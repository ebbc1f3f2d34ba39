"""The brief as data: what ``GET /brief`` answers and what the .docx is laid out from.

Every entry says what it is, its figures and, in words, why it is in the brief (``reason``), so
the JSON and the document read the same. Frozen pydantic models: the brief crosses HTTP and
files (STYLE: pydantic is how data crosses a boundary).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Brief", "Count", "Entry", "Example", "Hotspot"]

Figure = bool | int | float | str | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Count(_Model):
    """A word or place and how many of a hotspot's messages name it."""

    name: str
    count: int


class Example(_Model):
    """One message or work order of a hotspot, personal data masked (streams/views/masking.py)."""

    id: str
    kind: Literal["message", "work_order"]
    at: datetime
    department: str
    text: str
    """Title and content (a work order: its notes), masked and cut short."""


class Hotspot(_Model):
    """热点: a topic or a place named far more often this week than in the weeks before."""

    kind: Literal["topic", "place"]
    label: str
    count: int
    """Messages and work orders of the week that name it."""
    usual: float
    """Their mean count per week over the weeks before (``history_weeks`` of them)."""
    spread: float
    """The standard deviation of those weekly counts."""
    score: float
    """(count − usual) ÷ max(spread, √usual, 1): how many deviations above the usual."""
    history_weeks: int
    places: list[Count]
    """A topic: the places its messages name most; a place: empty."""
    words: list[Count]
    """The words its messages use most besides its own."""
    examples: list[Example]
    reason: str


class Entry(_Model):
    """One line of 重点 or 亮点: a task, an item, a work order, a department or a rate."""

    kind: str
    """``red-task``, ``yellow-task``, ``overdue-item``, ``overdue-order``, ``order-due-soon``,
    ``replies-behind`` (重点); ``closed-early``, ``on-time-replies``, ``satisfaction-up``
    (亮点)."""
    id: str
    """The task id, item id, order number or department code; empty for the county's total."""
    label: str
    department: str
    """The department's code (the lead one), if the entry has one."""
    department_name: str
    figures: dict[str, Figure]
    reason: str


class Brief(_Model):
    """The week's brief: 热点 (hotspots), 重点 (focus) and 亮点 (highlights)."""

    week: str
    start: datetime
    end: datetime
    as_of: datetime
    """The moment the lights, due times and unanswered messages are judged at."""
    issuer: str
    totals: dict[str, Figure]
    """The week's messages, work orders and the like, for the opening paragraph."""
    hotspots: list[Hotspot]
    focus: list[Entry]
    highlights: list[Entry]
