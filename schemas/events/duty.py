"""The duty system (值班): calls and visits, emergency reports and follow-ups, and the report at
the end of each shift and day (值班报告)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, NonNegativeInt

from schemas.envelope import EventData, Identifier, examples

__all__ = [
    "DocumentRegistered",
    "DutyEntryRecorded",
    "DutyIntakeEvent",
    "DutyReportIssued",
    "EmergencyClosed",
    "EmergencyReported",
    "EntryKind",
    "ItemHandled",
    "ItemStep",
    "Urgency",
    "sequence_name",
]


class DutyReportIssued(EventData):
    """A shift or a day ended; its report in figures (the full report: ``GET /duty-report``)."""

    model_config = examples(
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


class DutyIntakeEvent(EventData):
    """An event the duty officer registers (the duty connector's intake topic)."""

    topic = "office.intake.duty.v1"


class EntryKind(StrEnum):
    call = "call"  # 来电
    visit = "visit"  # 来访


class DutyEntryRecorded(DutyIntakeEvent):
    """The duty officer registered a call or a visit (值班记录); the envelope's time is when it
    came in."""

    model_config = examples(
        {
            "entry_id": "D-20250314-0003",
            "kind": "call",
            "unit": "城关镇人民政府",
            "person": "张伟",
            "phone": "0551-6234567",
            "content": "城关镇东街水管爆裂，已组织抢修",
            "instruction": "请县水利局协助",
            "actions": "已电话通知县水利局值班室",
            "notified": "县水利局",
            "recorder": "李华",
        }
    )

    type = "cn.gov.county.office.duty.entry.recorded.v1"

    entry_id: Identifier
    kind: EntryKind
    unit: str = Field("", max_length=200, description="Caller's or visitor's unit.")
    person: str = Field("", max_length=64)
    phone: str = Field("", max_length=40)
    content: str = Field(min_length=1, max_length=8000)
    instruction: str = Field("", max_length=4000, description="Leader's instruction (批示).")
    actions: str = Field("", max_length=4000, description="What was done.")
    notified: str = Field("", max_length=1000, description="Who was notified.")
    recorder: str = Field(min_length=1, max_length=64, description="The duty officer.")


class EmergencyReported(DutyIntakeEvent):
    """An emergency's first report (首报, ``sequence`` 0) or a numbered follow-up (续报一 = 1 …)."""

    model_config = examples(
        {
            "report_id": "EM-2025-003",
            "sequence": 1,
            "title": "城东片区内涝",
            "unit": "县应急管理局",
            "content": "积水已退至20厘米，无人员伤亡",
            "recorder": "李华",
        }
    )

    type = "cn.gov.county.office.duty.emergency.reported.v1"

    report_id: Identifier = Field(description="Names the emergency.")
    sequence: Annotated[int, Field(ge=0, le=99)] = Field(
        description="0: the first report; 1, 2 …: follow-ups (续报一, 续报二 …)."
    )
    title: str = Field(min_length=1, max_length=200)
    unit: str = Field("", max_length=200, description="Who reported.")
    content: str = Field(min_length=1, max_length=8000)
    recorder: str = Field(min_length=1, max_length=64)


class EmergencyClosed(DutyIntakeEvent):
    """The emergency is over (终报); it leaves the open list."""

    model_config = examples({"report_id": "EM-2025-003", "note": "险情解除", "recorder": "李华"})

    type = "cn.gov.county.office.duty.emergency.closed.v1"

    report_id: Identifier
    note: str = Field("", max_length=4000)
    recorder: str = Field(min_length=1, max_length=64)


def sequence_name(sequence: int) -> str:
    """首报, 续报一, 续报二 … 续报十二 … (Chinese numerals, as the office writes them)."""
    if sequence == 0:
        return "首报"
    digits = "零一二三四五六七八九"
    tens, ones = divmod(sequence, 10)
    words = (
        ("" if tens < 2 else digits[tens]) + ("十" if tens else "") + (digits[ones] if ones else "")
    )
    return "续报" + words


class Urgency(StrEnum):
    """紧急程度: telegrams 特提/特急/加急/平急, documents 特急/加急, everything else 平件."""

    immediate = "特提"
    very_urgent = "特急"
    urgent = "加急"
    ordinary_urgent = "平急"
    ordinary = "平件"


class ItemStep(StrEnum):
    signed = "signed"  # 签阅: read and signed off, urgency set
    handling = "handling"  # 办理: handed to whoever handles it
    closed = "closed"  # 办结


class ItemHandled(DutyIntakeEvent):
    """A step in the handling of an incoming item (来件: a fax, a telegram, a document), recorded
    by the duty officer. ``item_id`` is the item's subject on its intake topic (the fax's comm
    id, the telegram's number), so the item's events share a partition."""

    model_config = examples(
        {
            "item_id": "000000123",
            "step": "signed",
            "urgency": "特急",
            "by": "王主任",
            "to": "",
            "note": "请县应急局阅办",
        },
        {
            "item_id": "000000123",
            "step": "handling",
            "by": "李华",
            "to": "县应急管理局",
            "note": "",
        },
    )

    type = "cn.gov.county.office.duty.item.handled.v1"

    item_id: Identifier
    step: ItemStep
    urgency: Urgency | None = Field(None, description="Signed: sets the deadline.")
    by: str = Field(min_length=1, max_length=64, description="Who signed, handed on or closed.")
    to: str = Field("", max_length=200, description="Handling: the unit or person it went to.")
    note: str = Field("", max_length=4000, description="Instruction (批示) or result.")


class DocumentRegistered(DutyIntakeEvent):
    """The duty officer registered an incoming official document (收文登记, GB/T 9704 elements)."""

    model_config = examples(
        {
            "number": "×政发〔2025〕7号",
            "title": "关于印发2025年重点工作任务分工的通知",
            "issuer": "×市人民政府",
            "urgency": "加急",
            "copy_number": "000123",
            "pages": 12,
            "by": "李华",
        }
    )

    type = "cn.gov.county.office.duty.document.registered.v1"

    number: Identifier = Field(
        description="发文字号: the document's id.",
    )
    title: str = Field(min_length=1, max_length=300)
    issuer: str = Field(min_length=1, max_length=200, description="发文机关")
    urgency: Urgency = Urgency.ordinary
    copy_number: str = Field("", max_length=16, description="份号")
    pages: NonNegativeInt = 0
    by: str = Field(min_length=1, max_length=64, description="Who registered it.")
