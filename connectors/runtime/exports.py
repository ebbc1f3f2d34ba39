"""Reading an office system's export (CSV or XLSX) row by row, for the import sources (board,
hotline): the file's digest and the last row read are the position, so a second run of the same
file reads nothing new and a changed file (a new export) is read from the top."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from connectors.runtime.source import Position, RawRecord, Reading
from midfield.errors import StoreError

__all__ = ["Rows", "read_export", "table"]

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
    """Every row of an XLSX (first sheet) or UTF-8 CSV (a BOM allowed), header row included."""
    if path.suffix.lower() == ".xlsx":
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    text = content.decode("utf-8-sig", errors="replace")
    return [list(r) for r in csv.reader(io.StringIO(text))]
