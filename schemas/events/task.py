"""Supervised tasks (督查事项): one event type per step of the lifecycle, and the notice.

created (立项) -> assigned (交办) -> signed (签收) -> in progress (反馈) -> completion reported ->
reviewed (复核; may send back) -> closed (办结销号); an extension (延期) may be requested while the
task is open and is approved or refused by the office; reminders (催办) may come at any open step.

Which step may follow which is in :mod:`schemas.events.task_lifecycle` (the state machine as
data); this module holds only the events and the statuses they name.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, model_validator

from schemas.envelope import EventData, Identifier, examples

__all__ = [
    "OFFICE",
    "OfficeStep",
    "TaskAssigned",
    "TaskClosed",
    "TaskCompletionReported",
    "TaskCreated",
    "TaskEvent",
    "TaskExtensionApproved",
    "TaskExtensionRejected",
    "TaskExtensionRequested",
    "TaskNotice",
    "TaskOrigin",
    "TaskProgressReported",
    "TaskReminded",
    "TaskReviewed",
    "TaskSigned",
    "TaskStatus",
]

OFFICE = "office"
"""The actor code of the general office itself (departments have their own codes)."""

DepartmentCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,39}$", examples=["edu"])]
"""A department's code: lowercase, it names the department's outbox topic."""


class TaskStatus(StrEnum):
    created = "created"
    assigned = "assigned"
    signed = "signed"
    in_progress = "in_progress"
    completion_reported = "completion_reported"
    reviewed = "reviewed"
    closed = "closed"


class TaskOrigin(StrEnum):
    """Where a task comes from (督查事项来源)."""

    work_report = "work_report"  # 政府工作报告
    meeting = "meeting"  # 会议议定
    leader_instruction = "leader_instruction"  # 领导批示


class TaskEvent(EventData):
    """What every task event carries: the task and who acted."""

    topic = "office.supervision.task.v1"
    kind: ClassVar[str]
    """The step, as the lifecycle and the ledger name it: the type's next-to-last part
    (``….task.signed.v1``: ``signed``) unless the event names another."""
    office_only: ClassVar[bool] = False
    """Only the office may do this: see :class:`OfficeStep`."""

    task_id: Identifier = Field(examples=["DC-2025-017"])
    actor: str = Field(
        min_length=1, examples=["office", "edu"], description="'office' or a department code."
    )
    person: str = Field("", max_length=64, description="Who acted, as they signed.")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "type" in vars(cls) and "kind" not in vars(cls):
            cls.kind = cls.type.split(".")[-2]


class OfficeStep:
    """Mixed into a task event only the office may send (before :class:`TaskEvent`): create,
    assign, review, decide extensions, close, and remind (its worker's timer)."""

    office_only: ClassVar[bool] = True


_TEXT = 4000


def _example(fields: dict[str, Any]) -> ConfigDict:
    """The example AsyncAPI and JSON Schema show, with the fields every task event has."""
    common = {"task_id": "DC-2025-017", "actor": OFFICE, "person": "李华"}
    return examples(common | fields)


class TaskCreated(OfficeStep, TaskEvent):
    """立项: a task enters the ledger, with its lead and assisting departments."""

    model_config = _example(
        {
            "title": "城区学校扩容工程",
            "content": "新建教学楼两栋",
            "goal": "9月开学前投用",
            "category": "重点项目",
            "origin": "work_report",
            "lead_department": "edu",
            "assisting_departments": ["housing", "finance"],
            "deadline": "2025-08-31",
            "focus": True,
            "subtasks": ["完成立项审批", "主体封顶"],
        }
    )

    type = "cn.gov.county.office.supervision.task.created.v1"

    title: str = Field(min_length=1, max_length=200, examples=["城区学校扩容工程"])
    content: str = Field("", max_length=_TEXT)
    goal: str = Field("", max_length=_TEXT)
    category: str = Field("", max_length=64, examples=["重点项目"])
    origin: TaskOrigin = TaskOrigin.work_report
    lead_department: DepartmentCode
    assisting_departments: tuple[DepartmentCode, ...] = ()
    deadline: date = Field(description="Last day (office time) on which the task is on time.")
    focus: bool = Field(False, description="A focus task (重点督办).")
    subtasks: tuple[Annotated[str, Field(max_length=500)], ...] = ()

    @model_validator(mode="after")
    def _lead_not_assisting(self) -> TaskCreated:
        if self.lead_department in self.assisting_departments:
            raise ValueError("the lead department cannot also assist")
        return self


class TaskAssigned(OfficeStep, TaskEvent):
    """交办: handed to the departments (which may differ from those named at creation)."""

    model_config = _example({"instruction": "请于5个工作日内签收"})

    type = "cn.gov.county.office.supervision.task.assigned.v1"

    lead_department: DepartmentCode | None = Field(None, description="None: as created.")
    assisting_departments: tuple[DepartmentCode, ...] | None = None
    instruction: str = Field("", max_length=_TEXT)


class TaskSigned(TaskEvent):
    """签收: a department confirms it has the task."""

    model_config = _example({"actor": "edu", "person": "王明"})

    type = "cn.gov.county.office.supervision.task.signed.v1"


class TaskProgressReported(TaskEvent):
    """反馈: a progress report, with the share done."""

    model_config = _example(
        {"actor": "edu", "person": "王明", "percent": 40, "text": "主体结构完成四成"}
    )

    type = "cn.gov.county.office.supervision.task.progress.v1"

    percent: Annotated[int, Field(ge=0, le=100)]
    text: str = Field(min_length=1, max_length=_TEXT)


class TaskCompletionReported(TaskEvent):
    """The lead department reports the task done and asks for review."""

    model_config = _example({"actor": "edu", "text": "两栋教学楼已竣工验收"})

    type = "cn.gov.county.office.supervision.task.completion-reported.v1"
    kind = "completion"

    text: str = Field(min_length=1, max_length=_TEXT)


class TaskReviewed(OfficeStep, TaskEvent):
    """复核: the office accepts the completion or sends the task back with a reason."""

    model_config = _example({"accepted": False, "reason": "缺少竣工验收报告"})

    type = "cn.gov.county.office.supervision.task.reviewed.v1"

    accepted: bool
    reason: str = Field("", max_length=_TEXT)

    @model_validator(mode="after")
    def _sent_back_says_why(self) -> TaskReviewed:
        if not self.accepted and not self.reason.strip():
            raise ValueError("sending a task back needs a reason")
        return self


class TaskExtensionRequested(TaskEvent):
    """延期申请: a department asks for a later deadline."""

    model_config = _example({"actor": "edu", "deadline": "2025-09-30", "reason": "雨季停工"})

    type = "cn.gov.county.office.supervision.task.extension-requested.v1"

    deadline: date
    reason: str = Field(min_length=1, max_length=_TEXT)


class TaskExtensionApproved(OfficeStep, TaskEvent):
    """The office approves the pending extension (possibly to another day than asked)."""

    model_config = _example({"deadline": "2025-09-20"})

    type = "cn.gov.county.office.supervision.task.extension-approved.v1"

    deadline: date


class TaskExtensionRejected(OfficeStep, TaskEvent):
    model_config = _example({"reason": "时间节点不可调整"})
    type = "cn.gov.county.office.supervision.task.extension-rejected.v1"

    reason: str = Field(min_length=1, max_length=_TEXT)


class TaskClosed(OfficeStep, TaskEvent):
    """办结销号: the office closes an accepted task."""

    model_config = _example({"note": "办结销号"})

    type = "cn.gov.county.office.supervision.task.closed.v1"

    note: str = Field("", max_length=_TEXT)


class TaskReminded(OfficeStep, TaskEvent):
    """催办: the worker chased the departments (emitted by its reminder timer)."""

    model_config = _example(
        {"light": "red", "reason": "overdue by 3 days", "departments": ["edu", "housing"]}
    )

    type = "cn.gov.county.office.supervision.task.reminded.v1"

    light: str = Field(examples=["yellow", "red"])
    reason: str = Field(examples=["deadline in 2 days", "overdue by 3 days"])
    departments: tuple[DepartmentCode, ...]


class TaskNotice(EventData):
    """What a department's system receives (its outbox, delivered by the department sink): the
    step that happened and the task as it now stands, so the message is work on its own."""

    model_config = examples(
        {
            "task_id": "DC-2025-017",
            "step": "reminded",
            "title": "城区学校扩容工程",
            "deadline": "2025-08-31",
            "status": "in_progress",
            "lead_department": "edu",
            "assisting_departments": ["housing"],
            "light": "red",
            "message": "overdue by 3 days",
        }
    )

    type = "cn.gov.county.office.supervision.task.notice.v1"
    topic = "office.outbox.<department>.v1"

    task_id: str = Field(min_length=1)
    step: str = Field(examples=["assigned", "reminded", "reviewed", "extension-approved"])
    title: str
    deadline: date
    status: TaskStatus
    lead_department: DepartmentCode
    assisting_departments: tuple[DepartmentCode, ...] = ()
    light: str = Field("", description="For reminders: the light that caused it.")
    message: str = Field("", description="Instruction, reason or reminder text.")
