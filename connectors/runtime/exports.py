"""Reading an office system's export (CSV or XLSX) row by row, for the import sources (board,
hotline): the file's digest and the last row read are the position, so a second run of the same
file reads nothing new and a changed file (a new export) is read from the top.
:class:`ExportSource` is what those imports share."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zlib
from abc import abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Unpack
from zipfile import BadZipFile

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from connectors.runtime.source import Place, Position, RawRecord, Reading, Skip, Source
from midfield.departments import Directory
from midfield.errors import ParseError, StoreError
from midfield.settings import Settings
from schemas.envelope import Envelope

__all__ = [
    "WORKBOOK_ERRORS",
    "ExportSource",
    "Rows",
    "header_keys",
    "keyed_rows",
    "read_export",
    "row_of",
    "table",
]

WORKBOOK_ERRORS: tuple[type[Exception], ...] = (
    *(BadZipFile, InvalidFileException, KeyError, OSError, EOFError, zlib.error),
    *(NotImplementedError, SyntaxError, ValueError, TypeError, IndexError, AttributeError),
    OverflowError,
)
"""What openpyxl raises on a damaged workbook (a broken zip, a part missing, XML that does not
parse — ElementTree's ParseError is a SyntaxError — or values of the wrong kind): found by
tests/unit/test_fuzz_parsers.py."""

Rows = Callable[[bytes], Iterator[tuple[int, dict[str, Any]]]]
"""The file's bytes -> ``(row number, {field: cell})`` for each data row."""


def read_export(path: Path, position: Position | None, rows: Rows) -> Reading:
    """Records of the rows after ``position``; ``StoreError`` when the file cannot be read."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}", reason="input-missing") from exc
    digest = hashlib.sha256(content).hexdigest()
    start = position["row"] if position and position.get("sha256") == digest else 0
    for number, fields in rows(content):
        if number > start:
            yield RawRecord(
                json.dumps(fields, ensure_ascii=False, default=str).encode(),
                where=f"{path.name} row {number}",
                resume={"sha256": digest, "row": number},
            )


def table(path: Path, content: bytes) -> list[list[Any]]:
    """Every row of an XLSX (first sheet) or UTF-8 CSV (a BOM allowed), header row included;
    ``StoreError`` for a file that is neither (``not-utf8``: a CSV in GB18030, say)."""
    if path.suffix.lower() == ".xlsx":
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
            return [list(r) for r in sheet.iter_rows(values_only=True)]
        except WORKBOOK_ERRORS as exc:
            raise StoreError(
                f"{path.name} is not a readable .xlsx workbook: {type(exc).__name__}",
                reason="not-an-xlsx",
            ) from exc
    try:  # strictly: a replacement character would reach the bus in place of the citizen's text
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise StoreError(
            f"{path.name} is not UTF-8 (line {line}, byte {exc.start}): export it as CSV UTF-8",
            reason="not-utf8",
        ) from exc
    try:
        return [list(r) for r in csv.reader(io.StringIO(text))]
    except csv.Error as exc:  # e.g. a field over csv.field_size_limit()
        raise StoreError(f"{path.name} is not a readable CSV: {exc}", reason="not-a-csv") from exc


def row_of(raw: bytes) -> dict[str, Any]:
    """A row as :func:`read_export` wrote it (``{field: cell}`` JSON); ``ParseError`` for
    anything else (a dead letter re-driven by hand, say)."""
    try:
        row = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ParseError("bad-row", f"not the JSON of an export row: {exc}") from exc
    if not isinstance(row, dict):
        raise ParseError("bad-row", "not an object of field: cell")
    return row


def header_keys(headers: dict[str, str], header_row: list[Any]) -> list[str]:
    """The field of each column of ``header_row`` (white space ignored; ``""`` for a column
    that is none of ``headers``)."""
    return [headers.get(re.sub(r"\s+", "", str(h or "")), "") for h in header_row]


def keyed_rows(rows: list[list[Any]], keys: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(row number, {field: cell})`` of each row under the header row."""
    for number, row in enumerate(rows[1:], start=2):
        yield number, {k: v for k, v in zip(keys, row, strict=False) if k}


class ExportSource(Source):
    """An import of an office system's export, a row each (position: file digest and row). The
    webhook source of the same system makes it; a subclass says what a row makes
    (:meth:`row_events`) and which rows a file has (:meth:`rows`)."""

    def __init__(self, *, path: Path, directory: Directory, **place: Unpack[Place]) -> None:
        super().__init__(**place)
        self.path, self.directory = Path(path), directory

    @classmethod
    def from_options(cls, options: Any, settings: Settings) -> Source:
        raise NotImplementedError(f"made by the {cls.name} webhook's from_options")

    @abstractmethod
    def row_events(self, row: dict[str, Any]) -> list[Envelope]:
        """The events of one row that is not blank; ``ParseError`` for one that cannot be read."""

    @abstractmethod
    def rows(self, content: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
        """The file's data rows (:data:`Rows`); ``StoreError`` when it is not this export."""

    def parse(self, record: RawRecord) -> Envelope | list[Envelope] | Skip:
        row = row_of(record.raw)
        if not any(row.values()):
            return Skip("blank-row")
        return self.row_events(row)

    def read(self, position: Position | None, *, follow: bool) -> Reading:
        return read_export(self.path, position, self.rows)
