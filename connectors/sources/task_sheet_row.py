"""A task list's row, as JSON ``{header: cell text}``, to the :class:`TaskCreated` it makes: pure.

Departments are named by code (edu) or by name (县教育局) from the department directory; of
several in the lead cell, the first leads and the others assist. Apart from the reading of the
workbook (:mod:`connectors.sources.task_sheet`) so that the cell rules read, and are tested, on
their own; a dead letter's row is parsed again with them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date

from pydantic import ValidationError

from connectors.sources.task_sheet_layout import ALIASES, FIELD_OF, REQUIRED, plain
from midfield.errors import ParseError
from schemas.errors import parse_error
from schemas.events.task import OFFICE, TaskCreated, TaskOrigin

__all__ = ["decode_row", "task_created"]

_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?)?"
)
_DEPARTMENTS = re.compile(r"[、,，;；\s]+")
_LINES = re.compile(r"[\r\n;；]+")
# Substrings of the 来源 cell: "2025年县政府工作报告", "县政府第12次常务会议", "县长批示".
_ORIGINS = (("工作报告", TaskOrigin.work_report), ("会议", TaskOrigin.meeting),
            ("批示", TaskOrigin.leader_instruction))  # fmt: skip
_YES = frozenset({"是", "√", "✓", "✔", "★", "重点", "y", "yes", "true", "1"})
_NO = frozenset({"否", "×", "✗", "n", "no", "false", "0"})


def task_created(row: dict[str, str], codes: Mapping[str, str]) -> TaskCreated:
    """The task a row creates. ``codes``: a department's plain name or lower-case code -> code."""
    cells = _by_field(row)
    task_id = _required(cells)
    # Several lead departments in one cell: the first leads, the others assist.
    lead, *co_leads = _departments(cells["lead_department"], codes) or [""]
    assisting = co_leads + _departments(cells.get("assisting_departments", ""), codes)
    try:
        return TaskCreated(
            task_id=task_id, actor=OFFICE, person="", title=cells["title"],
            content=cells.get("content", ""), goal=cells.get("goal", ""),
            category=cells.get("category", ""), origin=_origin(cells.get("origin", "")),
            lead_department=lead, assisting_departments=_unique(assisting, but=lead),
            deadline=_deadline(cells["deadline"]), focus=_focus(cells.get("focus", "")),
            subtasks=_lines(cells.get("subtasks", "")),
        )  # fmt: skip
    except ValidationError as exc:
        raise parse_error(exc, "invalid-event") from exc


def _departments(cell: str, known: Mapping[str, str]) -> list[str]:
    """The codes of the departments a cell names, by code or by name."""
    codes = []
    for word in filter(None, _DEPARTMENTS.split(cell)):
        code = known.get(word.lower()) or known.get(plain(word))
        if code is None:
            raise ParseError("unknown-department", f"{_show(word)} is not in the directory")
        codes.append(code)
    return codes


def decode_row(raw: bytes) -> dict[str, str]:
    try:
        row = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ParseError("bad-row", f"not the JSON of a sheet row: {exc}") from exc
    if not isinstance(row, dict) or not all(isinstance(v, str) for v in row.values()):
        raise ParseError("bad-row", "not an object of column: cell text")
    return row


def _by_field(row: dict[str, str]) -> dict[str, str]:
    """Field -> the first non-empty cell under one of its headers."""
    cells: dict[str, str] = {}
    for header, text in row.items():
        field = FIELD_OF.get(plain(header))
        if field and text.strip() and field not in cells:
            cells[field] = text.strip()
    return cells


def _required(cells: dict[str, str]) -> str:
    """The task id, once every required field has a value."""
    task_id = cells.get("task_id", "")
    if not task_id:
        raise ParseError("missing-task-id", f"no 任务编号 (事项 {_show(cells.get('title'))})")
    for field in REQUIRED[1:]:
        if not _DEPARTMENTS.sub("", cells.get(field, "")):
            reason = "missing-" + field.replace("_", "-")
            raise ParseError(reason, f"task {task_id}: no {ALIASES[field][0]}")
    return task_id


def _origin(text: str) -> TaskOrigin:
    if not text:
        return TaskOrigin.work_report  # the event's default
    for part, origin in _ORIGINS:
        if part in text or text == origin.value:
            return origin
    raise ParseError("unknown-origin", f"来源 {_show(text)}: not 政府工作报告, 会议 or 领导批示")


def _deadline(text: str) -> date:
    match = _DATE.fullmatch(text)
    if match is None:
        raise ParseError("bad-deadline", f"完成时限 {_show(text)}: not a date like 2025-06-30")
    try:
        return date(*map(int, match.groups()))
    except ValueError as exc:
        raise ParseError("bad-deadline", f"完成时限 {_show(text)}: {exc}") from exc


def _focus(text: str) -> bool:
    if text.lower() in _YES:
        return True
    if not text or text.lower() in _NO:
        return False
    raise ParseError("bad-focus", f"重点 {_show(text)}: not 是 or 否")


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in _LINES.split(text) if line.strip())


def _unique(codes: list[str], *, but: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for c in codes if c != but))


def _show(value: str | None) -> str:
    value = value or ""
    return repr(value[:60]) + ("..." if len(value) > 60 else "")
