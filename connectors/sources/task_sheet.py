"""The office's task list (督查台账) from an .xlsx workbook: one ``TaskCreated`` per row.

Real ledgers have a title row or two above the header, so the header is the first row among the
first ten with a 任务编号 or 督办事项 column, and a second header row under it (责任单位 merged
over 牵头单位 | 协办单位) names the columns it fills. Headers are matched through :data:`ALIASES`
(whitespace, ``*`` marks and bracketed notes such as ``完成时限（月底前）`` ignored). A sheet
without the columns for the task id, title, lead department and deadline is not a task list:
``read`` raises :class:`StoreError` (``not-a-task-list``) naming the missing columns, before
anything is produced, as the source contract says of input that cannot be read.

Each row after the header becomes a :class:`RawRecord` whose raw is the row as JSON
(``{header: cell text}``), so a dead letter stays readable and can be re-parsed. Blank rows are
skipped (``blank-row``); blank rows after the last filled one are formatting, not rows, and are
not read. Departments are named by code (edu) or by name (县教育局) from the department
directory; of several in the lead cell, the first leads and the others assist. The position is
the file's SHA-256, the sheet and the last row read: a file with another digest is a new version
of the list, read from the top; when following, each new version is read as it appears.

Idempotent on re-import: a task's event id is ``event_id(source, "<task id>/created")``, so
importing the same list again, or a new version of it, produces the same ids and the ledger
applies each once. A row whose content changed in a later version is therefore *not* applied:
the task exists, and changes go through the tasks API (assignment, extensions, closing). The id
depends on the connector's ``--instance``: import every version under the same instance. The
event's time is the import time, which the ledger takes as the task's creation time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Generator, Iterable, Iterator, Mapping
from datetime import date, datetime
from io import BytesIO
from itertools import chain, zip_longest
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from pydantic import Field, ValidationError

from connectors.runtime.exports import WORKBOOK_ERRORS
from connectors.runtime.source import (
    NO_INPUT,
    Clock,
    Position,
    RawRecord,
    ReadOnceOptions,
    Skip,
    Source,
    SourceOptions,
    utc_now,
)
from midfield.departments import load_directory
from midfield.errors import ConfigError, ParseError, StoreError
from midfield.settings import Settings
from schemas.envelope import Envelope
from schemas.errors import parse_error
from schemas.events.task import OFFICE, TaskCreated, TaskOrigin

__all__ = ["ALIASES", "REQUIRED", "TaskSheetOptions", "TaskSheetSource"]

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
_FIELD_OF = {alias: field for field, aliases in ALIASES.items() for alias in aliases}
_HEADER_ROWS = 10
_NOTE = re.compile(r"[（(][^）)]*[）)]|[\s*＊]+")
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
_OLE = b"\xd0\xcf\x11\xe0"  # an .xls (BIFF) workbook, which openpyxl cannot read
_Reading = Generator[RawRecord | None, None, None]
_Rows = Iterator[tuple[int, tuple[Any, ...]]]


class TaskSheetOptions(ReadOnceOptions):
    xlsx: Path = Field(
        description="The office's task list, .xlsx.", examples=["2025年督查台账.xlsx"]
    )
    sheet: str | None = Field(None, description="The sheet to read; default: the first sheet.")


class TaskSheetSource(Source):
    """Import the office's task list (督查台账, .xlsx): each row creates one supervised task."""

    name: ClassVar[str] = "task-sheet"
    version: ClassVar[str] = "1"
    options: ClassVar[type[SourceOptions]] = TaskSheetOptions

    @classmethod
    def reparser(cls, instance: str, settings: Settings) -> TaskSheetSource:
        directory = load_directory(settings.departments)
        names = {code: d.name for code, d in directory.departments.items()}
        return cls(path=NO_INPUT, departments=names, instance=instance, zone=settings.office.zone)

    @classmethod
    def from_options(cls, options: TaskSheetOptions, settings: Settings) -> TaskSheetSource:
        directory = load_directory(settings.departments)
        if not directory.departments:
            raise ConfigError("the task list names departments: set MIDFIELD_DEPARTMENTS_FILE "
                              "to the department directory", reason="no-departments")  # fmt: skip
        return cls(path=options.xlsx, sheet=options.sheet, instance=options.instance,
                   departments={c: d.name for c, d in directory.departments.items()},
                   zone=settings.office.zone,
                   poll_interval_s=settings.connect.poll_interval_s)  # fmt: skip

    def __init__(
        self,
        *,
        path: Path,
        departments: Mapping[str, str],
        instance: str,
        zone: ZoneInfo,
        sheet: str | None = None,
        clock: Clock = utc_now,
        poll_interval_s: float = 0.2,
    ) -> None:
        """``departments``: code -> name; a cell may name a department either way."""
        super().__init__(instance=instance, zone=zone, clock=clock)
        self.path = path
        self.sheet = sheet
        self.poll_interval_s = poll_interval_s
        self._codes = {_plain(name): code for code, name in departments.items()}
        self._codes |= {code.lower(): code for code in departments}

    # -- parse ---------------------------------------------------------------------------------
    def parse(self, record: RawRecord) -> Envelope | Skip:
        row = _decode(record.raw)
        if not any(text.strip() for text in row.values()):
            return Skip(reason="blank-row")
        data = self._task(_by_field(row))
        now = self.clock()
        try:
            return Envelope.wrap(data, source=self.uri, position=f"{data.task_id}/created",
                                 subject=data.task_id, time=now, ingested_at=now,
                                 connector_version=self.version)  # fmt: skip
        except ValidationError as exc:
            raise parse_error(exc, "invalid-event") from exc

    def _task(self, cells: dict[str, str]) -> TaskCreated:
        task_id = _required(cells)
        # Several lead departments in one cell: the first leads, the others assist.
        lead, *co_leads = self._departments(cells["lead_department"]) or [""]
        assisting = co_leads + self._departments(cells.get("assisting_departments", ""))
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

    def _departments(self, cell: str) -> list[str]:
        """The codes of the departments a cell names, by code or by name."""
        codes = []
        for word in filter(None, _DEPARTMENTS.split(cell)):
            code = self._codes.get(word.lower()) or self._codes.get(_plain(word))
            if code is None:
                raise ParseError("unknown-department", f"{_show(word)} is not in the directory")
            codes.append(code)
        return codes

    # -- read ----------------------------------------------------------------------------------
    def read(self, position: Position | None, *, follow: bool) -> _Reading:
        """Read the list; when following, read each new version of the file from the top."""
        try:
            yield from self._versions(position, follow)
        except OSError as exc:
            raise StoreError(f"task list {self.path}: {exc}", reason="input-unreadable") from exc

    def _versions(self, position: Position | None, follow: bool) -> _Reading:
        stamp: tuple[int, int, int] | None = None
        done = None  # the digest of the version read to its end
        while True:
            current = self._stamp()
            if current is None and not follow:
                raise StoreError(f"task list {self.path} does not exist", reason="input-missing")
            if current is not None and current != stamp:
                stamp, content = current, self.path.read_bytes()
                digest = hashlib.sha256(content).hexdigest()
                if digest != done:
                    yield from self._rows(content, digest, position)
                    done, position = digest, None
            if not follow:
                return
            yield None
            time.sleep(self.poll_interval_s)

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def _rows(self, content: bytes, digest: str, position: Position | None) -> _Reading:
        book = self._open(content)
        try:
            yield from self._sheet_rows(book, digest, position)
        except WORKBOOK_ERRORS as exc:  # openpyxl reads the sheet's XML lazily, row by row
            raise StoreError(
                f"task list {self.path} is not a readable .xlsx workbook: {type(exc).__name__}",
                reason="not-an-xlsx",
            ) from exc
        finally:
            book.close()

    def _sheet_rows(self, book: Any, digest: str, position: Position | None) -> _Reading:
        sheet = self._sheet(book)
        sheet.reset_dimensions()  # some writers store a wrong <dimension>; read every row
        rows: _Rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        keys, rows = _header(rows, f"{self.path.name} sheet {sheet.title}")
        after = _resume_row(position, digest, sheet.title)
        resume = {"sha256": digest, "sheet": sheet.title}
        meta = {"file": str(self.path), "sheet": sheet.title}
        blanks: list[RawRecord] = []  # yielded only if a filled row follows
        for n, values in rows:
            if n <= after:
                continue
            texts = [_text(v) for v in values]
            raw = json.dumps(_row(keys, texts), ensure_ascii=False).encode()
            record = RawRecord(raw, f"{self.path.name} row {n}", resume | {"row": n}, meta)
            blanks.append(record)
            if any(texts):
                yield from blanks
                blanks.clear()

    def _open(self, content: bytes) -> Any:
        try:
            return load_workbook(BytesIO(content), read_only=True, data_only=True)
        except WORKBOOK_ERRORS as exc:
            hint = ": an old .xls workbook, save it as .xlsx" if content[:4] == _OLE else ""
            raise StoreError(f"task list {self.path} is not an .xlsx workbook{hint}",
                             reason="not-an-xlsx") from exc  # fmt: skip

    def _sheet(self, book: Any) -> Any:
        if self.sheet is None:
            return book.worksheets[0]
        if self.sheet not in book.sheetnames:
            raise StoreError(f"task list {self.path} has no sheet {self.sheet!r} (it has "
                             f"{', '.join(book.sheetnames)})", reason="no-such-sheet")  # fmt: skip
        return book[self.sheet]


def _header(rows: _Rows, where: str) -> tuple[list[str], _Rows]:
    """The column keys, and the rows after the header row (or rows)."""
    for n, values in rows:
        texts = [_text(v) for v in values]
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


def _sub_header(texts: list[str], rows: _Rows) -> tuple[list[str], _Rows]:
    """A second header row (责任单位 merged over 牵头单位 | 协办单位) names the columns it fills;
    any other row is handed back as the first row after the header."""
    following = next(rows, None)
    if following is None:
        return texts, rows
    below = [_text(v) for v in following[1]]
    if not any(below) or not all(_plain(t) in _FIELD_OF for t in below if t):
        return texts, chain([following], rows)
    return [b or t for t, b in zip_longest(texts, below, fillvalue="")], rows


def _fields(texts: Iterable[str]) -> set[str | None]:
    return {_FIELD_OF.get(_plain(t)) for t in texts}


def _columns(fields: Iterable[str]) -> str:
    return ", ".join(f"{ALIASES[f][0]} (or {'/'.join(ALIASES[f][1:])})" for f in fields)


def _keys(headers: list[str]) -> list[str]:
    """JSON keys for the columns: the header text, or ``(H)`` for an empty or repeated one."""
    keys: list[str] = []
    for i, header in enumerate(headers, start=1):
        keys.append(header if header and header not in keys else f"({get_column_letter(i)})")
    return keys


def _row(keys: list[str], texts: list[str]) -> dict[str, str]:
    row = dict(zip(keys, texts, strict=False))
    row |= {f"({get_column_letter(i)})": t for i, t in enumerate(texts, 1) if i > len(keys) and t}
    return row


def _resume_row(position: Position | None, digest: str, sheet: str) -> int:
    """The last row read of this version of the list; 0 for another version or sheet."""
    if position is None or position.get("sha256") != digest or position.get("sheet") != sheet:
        return 0
    row = position.get("row")
    return row if isinstance(row, int) else 0


def _text(value: object) -> str:
    """A cell as the office reads it: dates in ISO form, whole numbers without ``.0``."""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _plain(header: str) -> str:
    return _NOTE.sub("", header)


def _decode(raw: bytes) -> dict[str, str]:
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
        field = _FIELD_OF.get(_plain(header))
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
