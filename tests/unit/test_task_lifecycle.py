# ruff: noqa: E501  (the lifecycle table is data, one row per line)
"""The supervised task lifecycle, checked cell by cell against a table written out by hand.

Each row is a status before (``-``: no task yet), each column an event kind; a cell is the status
after, or ``!reason`` for a rejection. The table is the specification (DESIGN §5, NOTES.md
"Supervision tasks"); ``schemas.events.task_lifecycle.TRANSITIONS`` must agree with every cell.
"""

from __future__ import annotations

from datetime import date

import pytest

from schemas.events import task
from schemas.events.task_lifecycle import IllegalTransition, next_status

KINDS = [
    "created",
    "assigned",
    "signed",
    "progress",
    "completion",
    "accept",
    "send-back",
    "ext-req",
    "ext-ok",
    "ext-no",
    "closed",
    "reminded",
]

# fmt: off
TABLE = """
status       created       assigned     signed       progress     completion   accept       send-back    ext-req      ext-ok       ext-no       closed       reminded
-            created       !unknown     !unknown     !unknown     !unknown     !unknown     !unknown     !unknown     !unknown     !unknown     !unknown     !unknown
created      !exists       assigned     !illegal     !illegal     !illegal     !illegal     !illegal     created      created      created      !illegal     created
assigned     !exists       assigned     signed       !illegal     !illegal     !illegal     !illegal     assigned     assigned     assigned     !illegal     assigned
signed       !exists       !illegal     signed       in_progress  reported     !illegal     !illegal     signed       signed       signed       !illegal     signed
in_progress  !exists       !illegal     in_progress  in_progress  reported     !illegal     !illegal     in_progress  in_progress  in_progress  !illegal     in_progress
reported     !exists       !illegal     !illegal     !illegal     !illegal     reviewed     in_progress  reported     reported     reported     !illegal     reported
reviewed     !exists       !illegal     !illegal     !illegal     !illegal     !illegal     !illegal     reviewed     reviewed     reviewed     closed       reviewed
closed       !exists       !closed      !closed      !closed      !closed      !closed      !closed      !closed      !closed      !closed      !closed      !closed
"""
# fmt: on

_STATUS = {"-": None, "reported": task.TaskStatus.completion_reported} | {
    s.value: s for s in task.TaskStatus
}
_REASON = {
    "!unknown": "unknown-task",
    "!exists": "task-exists",
    "!illegal": "illegal-transition",
    "!closed": "task-closed",
}


def _event(kind: str) -> task.TaskEvent:
    common = {"task_id": "DC-1", "actor": "office"}
    return {
        "created": lambda: task.TaskCreated(
            **common, title="t", lead_department="edu", deadline=date(2025, 6, 30)
        ),
        "assigned": lambda: task.TaskAssigned(**common),
        "signed": lambda: task.TaskSigned(**common),
        "progress": lambda: task.TaskProgressReported(**common, percent=50, text="half"),
        "completion": lambda: task.TaskCompletionReported(**common, text="done"),
        "accept": lambda: task.TaskReviewed(**common, accepted=True),
        "send-back": lambda: task.TaskReviewed(**common, accepted=False, reason="no report"),
        "ext-req": lambda: task.TaskExtensionRequested(
            **common, deadline=date(2025, 7, 31), reason="rain"
        ),
        "ext-ok": lambda: task.TaskExtensionApproved(**common, deadline=date(2025, 7, 31)),
        "ext-no": lambda: task.TaskExtensionRejected(**common, reason="no"),
        "closed": lambda: task.TaskClosed(**common),
        "reminded": lambda: task.TaskReminded(
            **common, light="red", reason="late", departments=("edu",)
        ),
    }[kind]()


def _cells() -> list[tuple[str, str, str]]:
    header, *rows = [line.split() for line in TABLE.strip().splitlines()]
    assert header[1:] == KINDS
    return [(row[0], kind, cell) for row in rows for kind, cell in zip(KINDS, row[1:], strict=True)]


@pytest.mark.parametrize(("before", "kind", "expected"), _cells())
def test_lifecycle_cell(before: str, kind: str, expected: str) -> None:
    status = _STATUS[before]
    event = _event(kind)
    if expected.startswith("!"):
        with pytest.raises(IllegalTransition) as caught:
            next_status(status, event, extension_pending=True)
        assert caught.value.reason == _REASON[expected]
    else:
        assert next_status(status, event, extension_pending=True) is _STATUS[expected]


@pytest.mark.parametrize("kind", ["ext-ok", "ext-no"])
def test_extension_decision_without_a_request_is_rejected(kind: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_status(task.TaskStatus.in_progress, _event(kind), extension_pending=False)
    assert caught.value.reason == "no-extension-pending"


def test_sending_back_without_a_reason_is_invalid() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        task.TaskReviewed(task_id="DC-1", actor="office", accepted=False, reason=" ")


def test_lead_department_cannot_also_assist() -> None:
    with pytest.raises(ValueError, match="cannot also assist"):
        task.TaskCreated(
            task_id="DC-1",
            actor="office",
            title="t",
            lead_department="edu",
            assisting_departments=("edu",),
            deadline=date(2025, 6, 30),
        )
