"""The office's task list (督查台账) from an .xlsx workbook: one ``TaskCreated`` per row.

The sheet's layout (the header row or rows, found through its aliases) is
:mod:`connectors.sources.task_sheet_layout`; a row's cells to the task it makes,
:mod:`connectors.sources.task_sheet_row` (both pure). A sheet without the columns for the task
id, title, lead department and deadline is not a task list: ``read`` raises :class:`StoreError`
(``not-a-task-list``) naming the missing columns, before anything is produced, as the source
contract says of input that cannot be read.

Each row after the header becomes a :class:`RawRecord` whose raw is the row as JSON
(``{header: cell text}``), so a dead letter stays readable and can be re-parsed. Blank rows are
skipped (``blank-row``); blank rows after the last filled one are formatting, not rows, and are
not read. The position is the file's SHA-256, the sheet and the last row read: a file with
another digest is a new version of the list, read from the top; when following, each new
version is read as it appears.

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
import time
from collections.abc import Mapping
from io import BytesIO
from pathlib import Path
from typing import Any, ClassVar, Unpack

from openpyxl import load_workbook
from pydantic import Field, ValidationError

from connectors.runtime import source as contract
from connectors.runtime.exports import WORKBOOK_ERRORS
from connectors.sources.task_sheet_layout import (
    Rows,
    cell_text,
    header,
    plain,
    row_cells,
)
from connectors.sources.task_sheet_row import decode_row, task_created
from midfield.departments import load_directory
from midfield.errors import ConfigError, StoreError
from midfield.settings import Settings
from schemas.envelope import Envelope
from schemas.errors import parse_error

__all__ = ["TaskSheetOptions", "TaskSheetSource"]

_OLE = b"\xd0\xcf\x11\xe0"  # an .xls (BIFF) workbook, which openpyxl cannot read


class TaskSheetOptions(contract.ReadOnceOptions):
    xlsx: Path = Field(
        description="The office's task list, .xlsx.", examples=["2025年督查台账.xlsx"]
    )
    sheet: str | None = Field(None, description="The sheet to read; default: the first sheet.")


class TaskSheetSource(contract.Source):
    """Import the office's task list (督查台账, .xlsx): each row creates one supervised task."""

    name: ClassVar[str] = "task-sheet"
    version: ClassVar[str] = "1"
    options = TaskSheetOptions

    @classmethod
    def reparser(cls, instance: str, settings: Settings) -> TaskSheetSource:
        directory = load_directory(settings.departments)
        names = {code: d.name for code, d in directory.departments.items()}
        return cls(
            path=contract.NO_INPUT, departments=names, **contract.at_office(instance, settings)
        )

    @classmethod
    def from_options(cls, options: TaskSheetOptions, settings: Settings) -> TaskSheetSource:
        directory = load_directory(settings.departments)
        if not directory.departments:
            raise ConfigError("the task list names departments: set MIDFIELD_DEPARTMENTS_FILE "
                              "to the department directory", reason="no-departments")  # fmt: skip
        return cls(path=options.xlsx, sheet=options.sheet,
                   departments={c: d.name for c, d in directory.departments.items()},
                   poll_interval_s=settings.connect.poll_interval_s,
                   **contract.at_office(options.instance, settings))  # fmt: skip

    def __init__(
        self,
        *,
        path: Path,
        departments: Mapping[str, str],
        sheet: str | None = None,
        poll_interval_s: float = 0.2,
        **place: Unpack[contract.Place],
    ) -> None:
        """``departments``: code -> name; a cell may name a department either way."""
        super().__init__(**place)
        self.path = path
        self.sheet = sheet
        self.poll_interval_s = poll_interval_s
        self._codes = {plain(name): code for code, name in departments.items()}
        self._codes |= {code.lower(): code for code in departments}

    # -- parse ---------------------------------------------------------------------------------
    def parse(self, record: contract.RawRecord) -> Envelope | contract.Skip:
        row = decode_row(record.raw)
        if not any(text.strip() for text in row.values()):
            return contract.Skip(reason="blank-row")
        data = task_created(row, self._codes)
        now = self.clock()
        try:
            return self.envelope(data, position=f"{data.task_id}/created",
                                 subject=data.task_id, time=now, ingested_at=now)  # fmt: skip
        except ValidationError as exc:
            raise parse_error(exc, "invalid-event") from exc

    # -- read ----------------------------------------------------------------------------------
    def read(self, position: contract.Position | None, *, follow: bool) -> contract.Reading:
        """Read the list; when following, read each new version of the file from the top."""
        return contract.unreadable_stops(self._versions(position, follow), f"task list {self.path}")

    def _versions(self, position: contract.Position | None, follow: bool) -> contract.Reading:
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

    def _rows(
        self, content: bytes, digest: str, position: contract.Position | None
    ) -> contract.Reading:
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

    def _sheet_rows(
        self, book: Any, digest: str, position: contract.Position | None
    ) -> contract.Reading:
        sheet = self._sheet(book)
        sheet.reset_dimensions()  # some writers store a wrong <dimension>; read every row
        rows: Rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        keys, rows = header(rows, f"{self.path.name} sheet {sheet.title}")
        after = _resume_row(position, digest, sheet.title)
        resume = {"sha256": digest, "sheet": sheet.title}
        meta = {"file": str(self.path), "sheet": sheet.title}
        blanks: list[contract.RawRecord] = []  # yielded only if a filled row follows
        for n, values in rows:
            if n <= after:
                continue
            texts = [cell_text(v) for v in values]
            raw = json.dumps(row_cells(keys, texts), ensure_ascii=False).encode()
            record = contract.RawRecord(raw, f"{self.path.name} row {n}", resume | {"row": n}, meta)
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


def _resume_row(position: contract.Position | None, digest: str, sheet: str) -> int:
    """The last row read of this version of the list; 0 for another version or sheet."""
    if position is None or position.get("sha256") != digest or position.get("sheet") != sheet:
        return 0
    row = position.get("row")
    return row if isinstance(row, int) else 0
