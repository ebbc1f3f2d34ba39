"""Clear-text telegrams (明传电报). Only cover sheets that passed the classification guard become
this event: a telegram that declares a classification never reaches the bus (DESIGN §4)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, NonNegativeInt

from schemas.envelope import EventData, Identifier, examples

__all__ = ["TELEGRAM_EXAMPLE", "TelegramGrade", "TelegramReceived"]

TELEGRAM_EXAMPLE: dict[str, Any] = {
    "number": "×政办明电〔2025〕12号",
    "issuing_unit": "×市人民政府办公室",
    "addressees": ["各县（区）人民政府"],
    "approver": "张明",
    "grade": "特急",
    "machine_number": "0423",
    "title": "关于做好近期防汛工作的紧急通知",
    "pages": 3,
}
"""One telegram as the documentation shows it, in its event and on its cover sheet alike
(schemas/telegram_sheet.py)."""


class TelegramGrade(StrEnum):
    """等级: how urgent; it sets the handling deadline."""

    immediate = "特提"
    very_urgent = "特急"
    urgent = "加急"
    ordinary_urgent = "平急"


class TelegramReceived(EventData):
    """A clear-text telegram registered from its cover sheet; the PDF is kept by digest."""

    model_config = examples(TELEGRAM_EXAMPLE | {"document": "sha256:5f1c…"})

    type = "cn.gov.county.office.telegram.received.v1"
    topic = "office.intake.telegram.v1"

    number: Identifier = Field(
        description="部门号, e.g. ×政办明电〔2025〕12号: the telegram's id.",
    )
    issuing_unit: str = Field(min_length=1, max_length=200, description="发电单位")
    addressees: tuple[str, ...] = Field((), description="发往")
    approver: str = Field("", max_length=64, description="签批")
    grade: TelegramGrade
    machine_number: str = Field("", max_length=32, description="机号")
    title: str = Field(min_length=1, max_length=300)
    pages: NonNegativeInt = 0
    document: str = Field("", description="The PDF in the document store: sha256:<digest>.")
