"""The ledger as the office files it (督查事项台账): an .xlsx with one row per task.

Pure: books in, workbook bytes out, for ``GET /ledger.xlsx``. A title row with the date, the
header (:data:`COLUMNS`), then the tasks by task id. The light is the colour of the 亮灯 cell,
the only filled cell of a row, and also its text (绿/黄/红), so a black-and-white print still
says it. Dates are date cells; the header is bold, frozen and has an autofilter, and the sheet
prints landscape, one page wide, the header repeated on every page. Every value goes through
:func:`midfield.spreadsheet.safe_cell`: no text becomes a formula.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from midfield.settings import SupervisionSettings
from midfield.spreadsheet import safe_cell
from schemas.events.task import TaskOrigin, TaskStatus
from streams.books.lights import Light, light
from streams.books.task_book import is_task
from streams.books.task_state import TaskState

__all__ = ["COLUMNS", "LIGHT_COLOURS", "LIGHT_TEXT", "ORIGINS", "STATUSES", "workbook"]

COLUMNS = ("序号", "任务编号", "督办事项", "工作目标", "类别", "来源", "牵头单位", "协办单位",
           "立项时间", "完成时限", "进展情况", "完成比例", "状态", "延期次数", "延期天数",
           "延期原因", "办结时间", "重点", "亮灯")  # fmt: skip
"""The header row, in order."""
LIGHT_COLOURS = {Light.green: "00B050", Light.yellow: "FFFF00", Light.red: "FF0000"}
"""The fill of the 亮灯 cell (RGB; Excel's standard green, yellow and red)."""
LIGHT_TEXT = {Light.green: "绿", Light.yellow: "黄", Light.red: "红"}
ORIGINS: dict[str, str] = {TaskOrigin.work_report: "政府工作报告", TaskOrigin.meeting: "会议议定",
                           TaskOrigin.leader_instruction: "领导批示"}  # fmt: skip
STATUSES: dict[str, str] = {TaskStatus.created: "已立项", TaskStatus.assigned: "已交办",
                            TaskStatus.signed: "已签收", TaskStatus.in_progress: "办理中",
                            TaskStatus.completion_reported: "已报办结",
                            TaskStatus.reviewed: "已复核", TaskStatus.closed: "已办结"}  # fmt: skip

_WIDTHS = dict(zip(COLUMNS, (6, 14, 28, 28, 10, 12, 14, 20, 11, 11, 36, 9, 9, 8, 8, 24, 11, 6, 6),
                   strict=True))  # fmt: skip
_WRAPPED = frozenset({"督办事项", "工作目标", "协办单位", "进展情况", "延期原因"})
_DATE_FORMAT = "yyyy-mm-dd"
_FORMATS = {"立项时间": _DATE_FORMAT, "完成时限": _DATE_FORMAT, "办结时间": _DATE_FORMAT,
            "完成比例": "0%"}  # fmt: skip
_TITLE_ROW, _HEADER_ROW = 1, 2
_LIGHT_COLUMN = COLUMNS.index("亮灯") + 1


def workbook(books: Sequence[Mapping[str, Any]], now: datetime, rules: SupervisionSettings,
             zone: ZoneInfo, names: Mapping[str, str]) -> bytes:  # fmt: skip
    """The ledger at ``now`` as .xlsx bytes; ``names`` maps department codes to display names
    (a code without a name is shown as the code)."""
    xlsx = Workbook()
    sheet = xlsx.active
    sheet.title = "督查台账"
    _title(sheet, now.astimezone(zone).date())
    sheet.append(list(COLUMNS))
    tasks = sorted((b for b in books if is_task(b)), key=lambda b: str(b["task_id"]))
    for n, task in enumerate(tasks, start=1):
        colour = light(task, now, rules, zone)[0]
        sheet.append(_values(n, task, colour, zone, names))
        sheet.cell(sheet.max_row, _LIGHT_COLUMN).fill = _fill(colour)
    _layout(sheet, rows=len(tasks))
    out = BytesIO()
    xlsx.save(out)
    return out.getvalue()


def _title(sheet: Any, today: date) -> None:
    sheet.append([f"督查事项台账（截至{today.year}年{today.month}月{today.day}日）"])
    sheet.merge_cells(start_row=_TITLE_ROW, start_column=1, end_row=_TITLE_ROW,
                      end_column=len(COLUMNS))  # fmt: skip
    cell = sheet.cell(_TITLE_ROW, 1)
    cell.font = Font(bold=True, size=16)
    cell.alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[_TITLE_ROW].height = 30


def _layout(sheet: Any, *, rows: int) -> None:
    """Widths, formats and wrapping per column; the header bold, frozen and filterable."""
    last = _HEADER_ROW + rows
    for i, header in enumerate(COLUMNS, start=1):
        letter = get_column_letter(i)
        sheet.column_dimensions[letter].width = _WIDTHS[header]
        head = sheet.cell(_HEADER_ROW, i)
        head.font = Font(bold=True)
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for (cell,) in sheet.iter_rows(min_row=_HEADER_ROW + 1, max_row=last, min_col=i, max_col=i):
            cell.alignment = Alignment(vertical="top", wrap_text=header in _WRAPPED)
            cell.number_format = _FORMATS.get(header, cell.number_format)
    sheet.freeze_panes = sheet.cell(_HEADER_ROW + 1, 1)
    sheet.auto_filter.ref = f"A{_HEADER_ROW}:{get_column_letter(len(COLUMNS))}{last}"
    sheet.print_title_rows = f"{_HEADER_ROW}:{_HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _values(n: int, task: TaskState, colour: Light, zone: ZoneInfo,
            names: Mapping[str, str]) -> list[object]:  # fmt: skip
    """One task's cells, in :data:`COLUMNS` order, each made safe (a title or report starting
    with ``=`` must not become a live formula in the office's Excel)."""
    return [safe_cell(v) for v in (
        n, task["task_id"], task["title"], task["goal"], task["category"],
        ORIGINS.get(task["origin"], task["origin"]),
        names.get(task["lead_department"], task["lead_department"]),
        "、".join(names.get(code, code) for code in task["assisting_departments"]),
        _day(task["created_at"], zone), date.fromisoformat(task["deadline"]), task["progress"],
        task["percent"] / 100, STATUSES.get(task["status"], task["status"]), task["delay_count"],
        task["extension_days"], "；".join(task["delay_reasons"]), _day(task["closed_at"], zone),
        "是" if task["focus"] else "否", LIGHT_TEXT[colour],
    )]  # fmt: skip


def _day(moment: str | None, zone: ZoneInfo) -> date | None:
    """The office-time day of a stored ISO moment (Excel cells hold no time zone)."""
    return datetime.fromisoformat(moment).astimezone(zone).date() if moment else None


def _fill(colour: Light) -> PatternFill:
    rgb = "FF" + LIGHT_COLOURS[colour]  # ARGB, opaque
    return PatternFill(fill_type="solid", fgColor=rgb, bgColor=rgb)
