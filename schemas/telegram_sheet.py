"""The cover sheet (电报封面) a telegram drop directory receives with each PDF: the input format
of the ``telegram`` source, exported as JSON Schema for the systems that write it.

Keys are English or the Chinese names on the paper form (``部门号`` = ``number`` …).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, NonNegativeInt

from schemas.envelope import Identifier
from schemas.events.telegram import TELEGRAM_EXAMPLE, TelegramGrade

__all__ = ["TelegramCoverSheet"]


def _names(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class TelegramCoverSheet(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                TELEGRAM_EXAMPLE
                | {"received_at": "2025-06-20T10:15:00+08:00", "classification": ""}
            ]
        },
    )

    number: Identifier = Field(validation_alias=_names("number", "部门号"))
    issuing_unit: str = Field(
        min_length=1, max_length=200, validation_alias=_names("issuing_unit", "发电单位")
    )
    addressees: tuple[str, ...] = Field((), validation_alias=_names("addressees", "发往"))
    approver: str = Field("", max_length=64, validation_alias=_names("approver", "签批"))
    grade: TelegramGrade = Field(validation_alias=_names("grade", "等级"))
    machine_number: str = Field(
        "", max_length=32, validation_alias=_names("machine_number", "机号")
    )
    title: str = Field(min_length=1, max_length=300, validation_alias=_names("title", "标题"))
    pages: NonNegativeInt = Field(0, validation_alias=_names("pages", "页数"))
    received_at: datetime | None = Field(
        None,
        validation_alias=_names("received_at", "收电时间"),
        description="When it came in; office time without an offset; default: when read.",
    )
    classification: str = Field(
        "",
        max_length=32,
        validation_alias=_names("classification", "密级"),
        description="Must be empty (or 无/非密): a classified telegram is withheld.",
    )
    body: str = Field(
        "",
        max_length=20_000,
        validation_alias=_names("body", "正文"),
        description="Optional summary; never leaves the office when withheld.",
    )
