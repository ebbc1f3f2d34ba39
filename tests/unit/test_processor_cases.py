"""Reading processor cases and comparing books with them (streams/replay/cases.py), without a
broker; tests/integration/test_processor_cases.py runs them through the processors."""

from __future__ import annotations

from pathlib import Path

import pytest

from midfield.errors import ConfigError
from streams.replay.cases import check, load_cases
from tests.harness import REPO

CASE = """\
name: one task
at: 2025-03-20T10:00:00+08:00
events:
  - {type: TaskCreated, time: 2025-03-18T09:00:00+08:00,
     data: {task_id: T-1, actor: office, title: 修路, lead_department: edu, deadline: 2025-03-22}}
  - {type: cn.gov.county.office.supervision.task.assigned.v1, position: again,
     data: {task_id: T-1, actor: office}}
expect:
  ledger:
    T-1: {status: assigned, deadline: 2025-03-22, history.1.kind: assigned}
    T-2: null
"""


def _case(tmp_path: Path, text: str = CASE) -> Path:
    (tmp_path / "one.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_case_is_read_into_events_by_class_or_cloudevents_type(tmp_path: Path) -> None:
    (case,) = load_cases(_case(tmp_path))
    created, assigned = case.events
    assert created.subject == "T-1" and created.time.isoformat() == "2025-03-18T09:00:00+08:00"
    assert assigned.type.endswith("task.assigned.v1") and assigned.time == case.at
    assert created.source == "midfield://cases/one"


def test_only_the_named_fields_are_compared_and_null_means_absent(tmp_path: Path) -> None:
    (case,) = load_cases(_case(tmp_path))
    book = {"status": "assigned", "deadline": "2025-03-22", "title": "anything",
            "history": [{"kind": "created"}, {"kind": "assigned"}]}  # fmt: skip
    assert check(case, {"ledger": {"T-1": book}}).passed
    wrong = check(case, {"ledger": {"T-1": book | {"status": "signed"}, "T-2": {}}})
    assert wrong.mismatches == [
        "ledger T-1: status 'signed', expected 'assigned'",
        "ledger T-2: expected absent, found",
    ]
    assert check(case, {"ledger": {}}).mismatches == ["ledger T-1: expected, absent"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (CASE.replace("TaskCreated", "TaskInvented"), "unknown type 'TaskInvented'"),
        (CASE.replace("deadline: 2025-03-22}}", "deadline: soon}}"), "event 0 (TaskCreated)"),
        (CASE.replace("  ledger:", "  ledgers:"), "unknown books ['ledgers']"),
        (CASE.replace("+08:00\nevents", "\nevents"), "has no UTC offset"),
        ("name: [unclosed", "case"),
    ],
)
def test_a_bad_case_file_is_refused_with_its_name(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_cases(_case(tmp_path, text))
    assert caught.value.reason == "bad-case" and "one.yaml" in str(caught.value)
    assert says in str(caught.value)


def test_the_repository_cases_all_load() -> None:
    cases = load_cases(REPO / "tests" / "cases")
    ids = [(book, key) for case in cases for book, keys in case.expect.items() for key in keys]
    assert len(ids) == len(set(ids)), "entity ids must be unique across cases"
