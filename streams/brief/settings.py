"""The weekly brief's settings (``MIDFIELD_BRIEF_*``): how a burst is told from the usual,
how much each part lists, who signs the document and when the worker sends it."""

from __future__ import annotations

from datetime import time
from typing import Annotated

from pydantic import Field, PositiveFloat, PositiveInt
from pydantic_settings import BaseSettings

from midfield.settings import settings_config, settings_part

__all__ = ["BriefSettings"]


@settings_part
class BriefSettings(BaseSettings):
    """The weekly brief (docs/brief.md)."""

    model_config = settings_config("MIDFIELD_BRIEF_")

    history_weeks: PositiveInt = Field(
        8, description="A topic's or place's usual weekly count is its mean over this many weeks."
    )
    min_count: PositiveInt = Field(
        5, description="A hotspot has at least this many messages and work orders in the week."
    )
    min_score: Annotated[float, Field(gt=0)] = Field(
        3.0,
        description=(
            "A hotspot's count is at least this many standard deviations above its usual one "
            "(the deviation at least that of a Poisson count, and at least 1)."
        ),
    )
    hotspots: PositiveInt = Field(8, description="At most this many hotspots.")
    examples: PositiveInt = Field(3, description="Example messages per hotspot.")
    listed: PositiveInt = Field(
        20, description="At most this many entries of each kind (the totals count them all)."
    )
    places: tuple[str, ...] = Field(
        (),
        description=(
            "The county's townships and streets (城关镇, 新华街道…): always read as one place. "
            "Other names ending in 镇, 乡 or 街道 are found too."
        ),
    )
    stopwords: tuple[str, ...] = Field(
        (), description="Words that are never a topic, besides the built-in ones (请问, 咨询…)."
    )
    due_soon_days: PositiveInt = Field(
        1, description="A work order due within this many days is at risk (重点)."
    )
    early_days: PositiveInt = Field(
        1, description="A task closed this many days or more before its deadline is a 亮点."
    )
    min_replies: PositiveInt = Field(
        3, description="A department at 100 % on-time replies received at least this many."
    )
    satisfaction_points: Annotated[float, Field(gt=0, le=1)] = Field(
        0.05, description="Satisfaction is up when its rate rose by this much (0.05: 5 points)."
    )
    min_callbacks: PositiveInt = Field(
        5, description="Satisfaction is compared only over at least this many callbacks."
    )
    issuer: str = Field("县人民政府办公室", description="发文机关: who signs the brief.")
    send_weekday: Annotated[int, Field(ge=0, le=7)] = Field(
        0,
        description=(
            "The worker sends the week's brief to the leaders' outbox on this ISO weekday "
            "(1 Monday … 7 Sunday); 0: never."
        ),
    )
    send_at: time = Field(time(17, 0), description="…at this office time.")
    outbox: str = Field(
        "leaders", description="The directory's department code whose outbox gets the brief."
    )
    check_interval_s: PositiveFloat = Field(
        60.0, description="How often the worker looks whether the week's brief is due."
    )
