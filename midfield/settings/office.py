"""Settings the office decides: its time zone, the supervision deadlines, the reply tallies'
thresholds, the hotline's time limits and the duty shifts (docs/metrics.md).

No constants for these in the code (STYLE: things the office may change are settings); apart
from the machinery (:mod:`midfield.settings.pipeline`) because the office's staff, not the
operators, say what they are.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings

from midfield.settings.declaring import settings_config

__all__ = [
    "DutySettings",
    "HotlineSettings",
    "OfficeSettings",
    "RepliesSettings",
    "SupervisionSettings",
]


class OfficeSettings(BaseSettings):
    """Facts about the office itself."""

    model_config = settings_config("MIDFIELD_OFFICE_")

    timezone: str = Field("Asia/Shanghai", description="IANA zone of local times in inputs.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SupervisionSettings(BaseSettings):
    """The supervision ledger's traffic lights and reminders (conventions differ by county)."""

    model_config = settings_config("MIDFIELD_SUPERVISION_")

    warning_days: NonNegativeInt = Field(
        3, description="Yellow when the deadline is this many days away or fewer."
    )
    progress_lag: Annotated[float, Field(ge=0, le=1)] = Field(
        0.25,
        description=(
            "Yellow when the reported share done lags the share of time elapsed by more than "
            "this (0.25: 25 percentage points)."
        ),
    )
    reminder_window_hours: PositiveFloat = Field(
        24.0, description="At most one reminder per task in this window."
    )
    reminder_check_interval_s: PositiveFloat = Field(
        60.0, description="How often the worker looks for yellow and red tasks to remind."
    )


class RepliesSettings(BaseSettings):
    """Public-message reply tallies (办复率) and the early warning (docs/metrics.md)."""

    model_config = settings_config("MIDFIELD_REPLIES_")

    on_time_days: PositiveFloat = Field(
        5, description="A reply within this many days of receipt is on time (calendar days)."
    )
    warning_days: tuple[int, ...] = Field(
        (30, 60, 80),
        min_length=1,
        description="Unanswered this many days: an alert, escalating at each (JSON list).",
    )
    fail_days: PositiveInt = Field(
        91,
        description="Unanswered this long fails the national website check (3 months, 互动回应差).",
    )
    check_interval_s: PositiveFloat = Field(
        300.0, description="How often the worker looks for unanswered messages."
    )
    red_below: Annotated[float, Field(ge=0, le=1)] = Field(
        0.8,
        description="The dashboard shows a reply rate or on-time reply rate below this red.",
    )
    yellow_below: Annotated[float, Field(ge=0, le=1)] = Field(
        0.95,
        description="...and below this (but not below red_below) yellow; green from here up.",
    )

    @field_validator("warning_days")
    @classmethod
    def _ascending(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if list(value) != sorted(set(value)) or value[0] <= 0:
            raise ValueError("warning days must be positive and ascending")
        return value

    @model_validator(mode="after")
    def _colours_in_order(self) -> RepliesSettings:
        if self.yellow_below < self.red_below:
            raise ValueError("MIDFIELD_REPLIES_YELLOW_BELOW must not be below RED_BELOW")
        return self


def _close_days() -> dict[str, int]:
    return {
        "consultation": 1,
        "help": 5,
        "complaint": 15,
        "report": 15,
        "suggestion": 15,
        "other": 5,
    }


class HotlineSettings(BaseSettings):
    """Hotline (12345) time limits; counties set their own (docs/metrics.md)."""

    model_config = settings_config("MIDFIELD_HOTLINE_")

    sign_for_hours: PositiveFloat = Field(
        2.0, description="A unit signs for a dispatched order within this many hours to be on time."
    )
    close_days: dict[str, PositiveInt] = Field(
        default_factory=_close_days,
        description="Days from acceptance to close, per category (JSON object).",
    )
    at_risk_hours: NonNegativeFloat = Field(
        24.0,
        description=(
            "The dashboard lists an open order as at risk when it is due within this many "
            "hours (and when it is overdue)."
        ),
    )
    secret: SecretStr = Field(
        SecretStr(""),
        description=(
            "Standard Webhooks secret of the hotline webhook: whsec_ + base64 of the key "
            "(docs/hotline.md says how to convert an old secret)."
        ),
    )


class DutySettings(BaseSettings):
    """The duty system (值班): its shifts, for the duty report (值班报告)."""

    model_config = settings_config("MIDFIELD_DUTY_")

    shifts: dict[str, str] = Field(
        default_factory=lambda: {"白班": "08:30", "夜班": "17:30"},
        description=(
            "Shift name -> start time (HH:MM, office time); each shift runs until the next "
            "one starts, the last one past midnight (JSON object)."
        ),
    )
    report_check_interval_s: PositiveFloat = Field(
        60.0, description="How often the worker looks for a shift that has ended."
    )
    item_days: dict[str, PositiveInt] = Field(
        default_factory=lambda: {"特提": 1, "特急": 3, "加急": 5, "平急": 10, "平件": 15},
        description="Days to handle an incoming item by urgency (JSON object).",
    )

    @field_validator("shifts")
    @classmethod
    def _times(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("at least one shift")
        for name, start in value.items():
            try:
                time.fromisoformat(start)
            except ValueError as exc:
                raise ValueError(f"shift {name!r}: start {start!r} is not HH:MM") from exc
        if len(set(value.values())) != len(value):
            raise ValueError("two shifts start at the same time")
        return value
