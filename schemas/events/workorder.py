"""Hotline work orders (12345 / 县长热线): one event per step of an order's flow record (流转记录).

The hotline platform reports every step in one shape — order number, step, acting unit, when —
so one event type carries them all, with the step as a closed set; :func:`next_status` is the
lifecycle of DESIGN §5 as data: accepted (受理) -> dispatched (派单, one or more units) -> signed
for (签收) -> handling (办理) -> replied (答复) -> callback (回访) -> closed (办结); branches:
returned (退单) and re-dispatched, extension (延期) requested and approved, reopened (重办).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from schemas.envelope import EventData, examples
from schemas.errors import RuleError

__all__ = [
    "Satisfaction",
    "WorkOrderCategory",
    "WorkOrderStatus",
    "WorkOrderStep",
    "WorkOrderStepped",
    "WrongStep",
    "next_status",
]

Unit = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")]


class WorkOrderStep(StrEnum):
    accepted = "accepted"
    dispatched = "dispatched"
    signed = "signed"
    handling = "handling"
    replied = "replied"
    callback = "callback"
    closed = "closed"
    returned = "returned"
    extension_requested = "extension_requested"
    extension_approved = "extension_approved"
    reopened = "reopened"


class WorkOrderStatus(StrEnum):
    accepted = "accepted"
    dispatched = "dispatched"
    returned = "returned"
    signed = "signed"
    handling = "handling"
    replied = "replied"
    callback = "callback"
    closed = "closed"


class WorkOrderCategory(StrEnum):
    consultation = "consultation"  # 咨询
    help = "help"  # 求助
    complaint = "complaint"  # 投诉
    report = "report"  # 举报
    suggestion = "suggestion"  # 建议
    other = "other"


class Satisfaction(StrEnum):
    satisfied = "satisfied"  # 满意
    basically_satisfied = "basically_satisfied"  # 基本满意
    dissatisfied = "dissatisfied"  # 不满意


class WorkOrderStepped(EventData):
    """One step of a work order's flow; the envelope's time is when the step happened."""

    model_config = examples(
        {
            "order_number": "12345-20250314-0007",
            "step": "dispatched",
            "category": "help",
            "units": ["water", "housing"],
            "unit": "",
            "note": "城东路积水，请水利局牵头处置",
        },
        {
            "order_number": "12345-20250314-0007",
            "step": "callback",
            "unit": "",
            "satisfaction": "basically_satisfied",
        },
    )

    type = "cn.gov.county.office.hotline.workorder.step.v1"
    topic = "office.hotline.workorder.v1"

    order_number: str = Field(min_length=1, max_length=64)
    step: WorkOrderStep
    category: WorkOrderCategory | None = Field(None, description="Set when accepted.")
    units: tuple[Unit, ...] = Field((), description="Dispatched: the units, the lead first.")
    unit: str = Field("", max_length=40, description="The unit that acted (sign, reply, …).")
    satisfaction: Satisfaction | None = Field(None, description="Callback: the caller's verdict.")
    deadline: date | None = Field(None, description="Extension approved: the new last day.")
    note: str = Field("", max_length=4000)

    @model_validator(mode="after")
    def _step_fields(self) -> WorkOrderStepped:
        if self.step is WorkOrderStep.dispatched and not self.units:
            raise ValueError("a dispatch names its units")
        if self.step is WorkOrderStep.callback and self.satisfaction is None:
            raise ValueError("a callback records the caller's satisfaction")
        if self.step is WorkOrderStep.extension_approved and self.deadline is None:
            raise ValueError("an approved extension names the new deadline")
        return self


class WrongStep(RuleError):
    """A step the order's status does not allow."""


S, T = WorkOrderStatus, WorkOrderStep
_OPEN = tuple(s for s in S if s is not S.closed)
_WORKING = (S.signed, S.handling)

TRANSITIONS: dict[tuple[WorkOrderStatus | None, WorkOrderStep], WorkOrderStatus] = {
    (None, T.accepted): S.accepted,
    (S.accepted, T.dispatched): S.dispatched,
    (S.returned, T.dispatched): S.dispatched,  # re-dispatched after a return
    (S.dispatched, T.dispatched): S.dispatched,  # more units added
    (S.dispatched, T.returned): S.returned,
    (S.dispatched, T.signed): S.signed,
    **{(s, T.signed): s for s in _WORKING},  # another unit signs too
    (S.signed, T.handling): S.handling,
    **{(s, T.replied): S.replied for s in _WORKING},
    (S.replied, T.callback): S.callback,
    **{(s, T.closed): S.closed for s in (S.replied, S.callback)},
    **{(s, T.reopened): S.handling for s in (S.replied, S.callback, S.closed)},
    **{(s, step): s for s in _OPEN for step in (T.extension_requested, T.extension_approved)},
}
"""``(status before, step) -> status after``; a pair not listed is refused."""


def next_status(status: WorkOrderStatus | None, step: WorkOrderStep) -> WorkOrderStatus:
    after = TRANSITIONS.get((status, step))
    if after is None:
        reason = "unknown-order" if status is None else "illegal-step"
        raise WrongStep(reason, f"{step.value} when {status.value if status else 'not accepted'}")
    return after
