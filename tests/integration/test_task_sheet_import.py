"""`midfield connect task-sheet --xlsx FILE --once`: a real task list (.xlsx) through a real
subprocess into the real broker, and imported again without its saved position."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.envelope import event_id
from schemas.events.task import TaskCreated
from tests.harness import Broker, dead_letters, midfield_env, read_topic, run_cli
from tests.unit.test_task_sheet import (
    BLANK,
    DEPARTMENTS_FILE,
    HOUSING,
    SCHOOLS,
    UNKNOWN_DEPARTMENT,
    write_sheet,
)

TASK_TOPIC = "office.supervision.task.v1"


def _import(broker: Broker, workdir: Path, sheet: Path, instance: str, state: str) -> dict:
    env = midfield_env(broker, workdir, MIDFIELD_DEPARTMENTS_FILE=str(DEPARTMENTS_FILE),
                       MIDFIELD_CONNECT_STATE_DIR=str(workdir / state))  # fmt: skip
    args = ["connect", "task-sheet", "--xlsx", str(sheet), "--instance", instance, "--once"]
    result = run_cli(args, env, cwd=workdir)
    stats: dict = json.loads(result.stdout)
    return stats


def _created(broker: Broker, source: str) -> list[tuple[bytes | None, bytes, bytes]]:
    """(key, ce_id, ce_type) of every task event this import produced, in topic order."""
    return [(r.key, r.headers["ce_id"], r.headers["ce_type"])
            for r in read_topic(broker, TASK_TOPIC)
            if r.headers.get("ce_source") == source.encode()]  # fmt: skip


def test_each_task_row_becomes_one_created_event_keyed_by_its_task_id(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    sheet = write_sheet(workdir / "台账.xlsx", [SCHOOLS, BLANK, HOUSING])

    stats = _import(catalog_topics, workdir, sheet, unique, "state")

    source = f"midfield://task-sheet/{unique}"
    assert (stats["events"], stats["dead_letters"], stats["skipped"]) == (2, 0, {"blank-row": 1})
    created = TaskCreated.type.encode()
    assert sorted(_created(catalog_topics, source)) == [
        (task.encode(), event_id(source, f"{task}/created").encode(), created)
        for task in ("DC-2025-001", "DC-2025-002")
    ]


def test_importing_the_list_again_without_its_position_repeats_the_same_ids(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    sheet = write_sheet(workdir / "台账.xlsx", [SCHOOLS, HOUSING])
    source = f"midfield://task-sheet/{unique}"
    _import(catalog_topics, workdir, sheet, unique, "state-1")
    first = _created(catalog_topics, source)

    _import(catalog_topics, workdir, sheet, unique, "state-2")

    records = _created(catalog_topics, source)
    assert len(records) == 4
    assert sorted(records) == sorted(first * 2)


def test_row_naming_an_unknown_department_is_a_readable_dead_letter(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    sheet = write_sheet(workdir / "台账.xlsx", [SCHOOLS, UNKNOWN_DEPARTMENT])

    stats = _import(catalog_topics, workdir, sheet, unique, "state")

    assert stats["dead_by_reason"] == {"unknown-department": 1}
    source = f"midfield://task-sheet/{unique}"
    [letter] = dead_letters(catalog_topics, source)
    assert (letter.reason, letter.position) == ("unknown-department", "台账.xlsx row 4")
    assert json.loads(letter.raw_bytes())["牵头单位"] == "县卫健局"


def test_a_workbook_that_is_not_a_task_list_stops_the_import_with_a_clear_error(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    sheet = write_sheet(workdir / "名单.xlsx", [["张三", "138"]], header=["姓名", "电话"])
    env = midfield_env(catalog_topics, workdir, MIDFIELD_DEPARTMENTS_FILE=str(DEPARTMENTS_FILE))

    result = run_cli(["connect", "task-sheet", "--xlsx", str(sheet), "--once"], env, cwd=workdir,
                     check=False)  # fmt: skip

    assert result.returncode == 1
    assert "error [not-a-task-list]: 名单.xlsx sheet 台账 is not a task list" in result.stderr
