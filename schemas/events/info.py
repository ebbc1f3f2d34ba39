"""Information reports (信息, 政务信息): what the office finds, writes up and sends to the offices
above, and what becomes of it there.

A candidate (信息线索) is proposed — from a hotspot (热点), a duty-log entry (值班信息) or by hand —
then drafted (编写; revised as often as needed), submitted (报送) to higher offices or their
publications (市委办, 市政府办, 省政府办…), adopted (采用) in a publication's issue, and endorsed
(批示) by a named leader; or withdrawn (撤回) before it is adopted, or recorded as not adopted
(未采用) after submission. Which step may follow which, and who may take it, is
:mod:`schemas.events.info_lifecycle`; this module holds only the events.

Every event carries who recorded it: ``actor`` (``office`` or a department code) and ``by``, the
authenticated principal (``person:<login>``, ``office``, ``department:<code>``), with ``by_name``
for people to read. The intake sets all three from the caller's key or dashboard session, never
from the body (connectors/sources/info.py).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from schemas.envelope import EventData, Identifier, examples

__all__ = [
    "InfoEvent",
    "InfoReportAdopted",
    "InfoReportDrafted",
    "InfoReportEndorsed",
    "InfoReportNotAdopted",
    "InfoReportProposed",
    "InfoReportSubmitted",
    "InfoReportWithdrawn",
    "InfoSource",
    "InfoStatus",
    "LeaderLevel",
]


class InfoSource(StrEnum):
    """Where a candidate comes from (信息线索来源)."""

    hotspot = "hotspot"  # 热点: a development, a leader's focus, the public's concern
    duty_entry = "duty_entry"  # 值班信息: an entry of the duty log
    by_hand = "by_hand"  # 自行采编


class LeaderLevel(StrEnum):
    """The level of the leader who endorsed (批示) a report."""

    city = "city"  # 市领导
    province = "province"  # 省领导
    national = "national"  # 国家领导


class InfoStatus(StrEnum):
    candidate = "candidate"  # 线索
    drafted = "drafted"  # 已编写
    submitted = "submitted"  # 已报送
    adopted = "adopted"  # 已采用
    endorsed = "endorsed"  # 获批示
    withdrawn = "withdrawn"  # 撤回
    not_adopted = "not_adopted"  # 未采用


Office = Annotated[str, Field(min_length=1, max_length=100, examples=["市政府办"])]
"""A higher office or its information desk, as the office writes it (市委办, 省政府办…)."""

_TEXT = 4000


class InfoEvent(EventData):
    """What every information-report event carries: the report and who recorded the step."""

    topic = "office.info.report.v1"
    kind: ClassVar[str]
    office_only: ClassVar[bool] = False
    """Only the office may take this step (submit, adopted, endorsed, not adopted)."""

    report_id: Identifier = Field(examples=["XX-2025-031"])
    actor: str = Field(
        pattern=r"^[a-z][a-z0-9-]{0,39}$",
        examples=["office", "edu"],
        description="'office' or the department code of the caller: from its key or session.",
    )
    by: str = Field(
        min_length=1,
        max_length=100,
        examples=["person:lihua", "office", "department:edu"],
        description="The authenticated principal that recorded the step (never the body's).",
    )
    by_name: str = Field("", max_length=64, description="Their name, for people to read.")


def _example(fields: dict[str, Any]) -> ConfigDict:
    common = {
        "report_id": "XX-2025-031",
        "actor": "office",
        "by": "person:lihua",
        "by_name": "李华",
    }
    return examples(common | fields)


class InfoReportProposed(InfoEvent):
    """信息线索: a candidate, with where it comes from."""

    model_config = _example(
        {
            "source": "duty_entry",
            "reference": "D-20250314-0003",
            "title": "城关镇快速处置供水管道爆裂",
            "note": "处置及时，可报市政府办",
        }
    )

    type = "cn.gov.county.office.info.report.proposed.v1"
    kind = "proposed"

    source: InfoSource
    reference: str = Field(
        "",
        max_length=200,
        validate_default=True,
        description="The hotspot in a phrase, or the duty-log entry's id; optional by hand.",
    )
    title: str = Field(min_length=1, max_length=200, description="The working title.")
    note: str = Field("", max_length=_TEXT)

    @field_validator("reference")
    @classmethod
    def _referenced(cls, reference: str, info: ValidationInfo) -> str:
        source = info.data.get("source")  # absent when it failed: that is the error then
        if source not in (None, InfoSource.by_hand) and not reference.strip():
            raise ValueError(f"a candidate from a {source.value} names it here")
        return reference


class InfoReportDrafted(InfoEvent):
    """编写: the report written (again: each draft replaces the last); the drafter is ``by``."""

    model_config = _example(
        {"title": "XX县“三快”机制处置城区供水突发事件", "text": "3月14日9时，城关镇东街……"}
    )

    type = "cn.gov.county.office.info.report.drafted.v1"
    kind = "drafted"

    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20_000)


class InfoReportSubmitted(InfoEvent):
    """报送: sent to one or more higher offices (again later: to more of them)."""

    model_config = _example({"to": ["市委办", "市政府办"], "note": "快报"})

    type = "cn.gov.county.office.info.report.submitted.v1"
    kind = "submitted"
    office_only = True

    to: tuple[Office, ...] = Field(min_length=1, max_length=20)
    note: str = Field("", max_length=_TEXT)


class InfoReportAdopted(InfoEvent):
    """采用: a higher office printed it in a publication's issue (one event per adoption)."""

    model_config = _example(
        {"office": "市政府办", "publication": "《XX政务信息》", "issue": "2025年第12期"}
    )

    type = "cn.gov.county.office.info.report.adopted.v1"
    kind = "adopted"
    office_only = True

    office: Office = Field(description="Who adopted it.")
    publication: str = Field(min_length=1, max_length=200, examples=["《XX政务信息》"])
    issue: str = Field("", max_length=64, examples=["2025年第12期"])


class InfoReportEndorsed(InfoEvent):
    """批示: a named leader wrote an instruction on it (one event per leader's instruction)."""

    model_config = _example(
        {
            "leader": "张明",
            "post": "市长",
            "level": "city",
            "instruction": "此做法很好，请各县区借鉴。",
        }
    )

    type = "cn.gov.county.office.info.report.endorsed.v1"
    kind = "endorsed"
    office_only = True

    leader: str = Field(min_length=1, max_length=64)
    post: str = Field(min_length=1, max_length=100, examples=["市长", "副省长"])
    level: LeaderLevel
    instruction: str = Field(min_length=1, max_length=_TEXT)


class InfoReportWithdrawn(InfoEvent):
    """撤回: given up before any office adopted it."""

    model_config = _example({"reason": "情况已变化，不再报送"})

    type = "cn.gov.county.office.info.report.withdrawn.v1"
    kind = "withdrawn"

    reason: str = Field(min_length=1, max_length=_TEXT)


class InfoReportNotAdopted(InfoEvent):
    """未采用: submitted, and no office took it (recorded once its publications are out)."""

    model_config = _example({"office": "市政府办", "reason": "同类信息已编发"})

    type = "cn.gov.county.office.info.report.not-adopted.v1"
    kind = "not-adopted"
    office_only = True

    office: str = Field("", max_length=100, description="Who declined it, when known.")
    reason: str = Field("", max_length=_TEXT)
