"""The task list's layout: which headers name which fields, where the header row is, and how a
cell reads (pure; the reading of the workbook is :mod:`connectors.sources.task_sheet`).

Real ledgers have a title row or two above the header, so the header is the first row among the
first ten with a 任务编号 or 督办事项 column, and a second header row under it (责任单位 merged
over 牵头单位 | 协办单位) names the columns it fills. Headers are matched through :data:`ALIASES`
(whitespace, ``*`` marks and bracketed notes such as ``完成时限（月底前）`` ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from itertools import chain, zip_longest
from typing import Any

from openpyxl.utils import get_column_letter

from midfield.errors import StoreError

__all__ = ["ALIASES", "FIELD_OF", "REQUIRED", "Rows", "cell_text", "header", "plain", "row_cells"]

Rows = Iterator[tuple[int, tuple[Any, ...]]]
ALIASES: dict[str, tuple[str, ...]] = {
    "task_id": ("任务编号", "编号"),
    "title": ("督办事项", "督查事项", "任务名称", "事项"),
    "content": ("具体内容", "工作内容", "内容"),
    "goal": ("工作目标", "目标"),
    "category": ("类别", "分类"),
    "origin": ("来源", "任务来源"),
    "lead_department": ("牵头单位", "责任单位", "主办单位"),
    "assisting_departments": ("协办单位", "配合单位"),
    "deadline": ("完成时限", "办结时限", "时限"),
    "focus": ("重点", "是否重点"),
    "subtasks": ("子任务",),
}
"""Field -> the sheet headers accepted for it (序号 and unknown headers are ignored)."""
REQUIRED = ("task_id", "title", "lead_department", "deadline")
FIELD_OF = {alias: field for field, aliases in ALIASES.items() for alias in aliases}
_HEADER_ROWS = 10
_NOTE = re.compile(r"[（(][^）)]*[）)]|[\s*＊]+")


def header(rows: Rows, where: str) -> tuple[list[str], Rows]:
    """The column keys, and the rows after the header row (or rows)."""
    for n, values in rows:
        texts = [cell_text(v) for v in values]
        if {"task_id", "title"} & _fields(texts):
            texts, rows = _sub_header(texts, rows)
            missing = [f for f in REQUIRED if f not in _fields(texts)]
            if missing:
                raise StoreError(f"{where} is not a task list: no column {_columns(missing)}",
                                 reason="not-a-task-list")  # fmt: skip
            return _keys(texts), rows
        if n >= _HEADER_ROWS:
            break
    raise StoreError(f"{where} is not a task list: no header row with {_columns(REQUIRED)} "
                     f"in its first {_HEADER_ROWS} rows", reason="not-a-task-list")  # fmt: skip


def _sub_header(texts: list[str], rows: Rows) -> tuple[list[str], Rows]:
    """A second header row (责任单位 merged over 牵头单位 | 协办单位) names the columns it fills;
    any other row is handed back as the first row after the header."""
    following = next(rows, None)
    if following is None:
        return texts, rows
    below = [cell_text(v) for v in following[1]]
    if not any(below) or not all(plain(t) in FIELD_OF for t in below if t):
        return texts, chain([following], rows)
    return [b or t for t, b in zip_longest(texts, below, fillvalue="")], rows


def _fields(texts: Iterable[str]) -> set[str | None]:
    return {FIELD_OF.get(plain(t)) for t in texts}


def _columns(fields: Iterable[str]) -> str:
    return ", ".join(f"{ALIASES[f][0]} (or {'/'.join(ALIASES[f][1:])})" for f in fields)


def _keys(headers: list[str]) -> list[str]:
    """JSON keys for the columns: the header text, or ``(H)`` for an empty or repeated one."""
    keys: list[str] = []
    for i, header in enumerate(headers, start=1):
        keys.append(header if header and header not in keys else f"({get_column_letter(i)})")
    return keys


def row_cells(keys: list[str], texts: list[str]) -> dict[str, str]:
    row = dict(zip(keys, texts, strict=False))
    row |= {f"({get_column_letter(i)})": t for i, t in enumerate(texts, 1) if i > len(keys) and t}
    return row


def cell_text(value: object) -> str:
    """A cell as the office reads it: dates in ISO form, whole numbers without ``.0``."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def plain(header: str) -> str:
    """A header (or a department name) without whitespace, ``*`` marks and bracketed notes."""
    return _NOTE.sub("", header)
