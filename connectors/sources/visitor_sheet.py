"""Visits from the reception desk's sign-in sheet (来访登记表), a CSV or XLSX export: each row is a
visit for the duty log, a ``DutyEntryRecorded`` of kind ``visit``.

A one-off import, run with ``--once`` at the end of a day. The file's digest and the row are the
position (connectors/runtime/exports.py); a row without a 登记编号 gets an id made of its cells, so
importing the same sheet again registers nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError

from connectors.runtime.exports import read_export, row_of, table
from connectors.runtime.invalid import parse_error
from connectors.runtime.source import (
    NO_INPUT,
    Clock,
    Position,
    RawRecord,
    Reading,
    ReadOnceOptions,
    Skip,
    Source,
    utc_now,
)
from midfield.errors import ParseError, StoreError
from midfield.settings import Settings
from schemas.envelope import Envelope
from schemas.events.duty import DutyEntryRecorded, EntryKind

__all__ = ["VisitorSheetSource"]

HEADERS = {"登记编号": "entry_id", "来访时间": "time", "来访单位": "unit", "来访人": "person",
           "联系电话": "phone", "来访事由": "content", "接待人": "recorder"}  # fmt: skip
_TIME = re.compile(r"(\d{4})\D(\d{1,2})\D(\d{1,2})\D+(\d{1,2}):(\d\d)", re.ASCII)


class VisitorSheetOptions(ReadOnceOptions):
    path: Path = Field(description="The sign-in sheet's export (.csv in UTF-8, or .xlsx).")


class VisitorSheetSource(Source):
    """Import the reception's visitor sign-in sheet (来访登记表) into the duty log."""

    name: ClassVar[str] = "visitor-sheet"
    options = VisitorSheetOptions

    @classmethod
    def from_options(cls, options: VisitorSheetOptions, settings: Settings) -> VisitorSheetSource:
        return cls(path=options.path, instance=options.instance, zone=settings.office.zone)

    @classmethod
    def reparser(cls, instance: str, settings: Settings) -> VisitorSheetSource:
        return cls(path=NO_INPUT, instance=instance, zone=settings.office.zone)

    def __init__(
        self, *, path: Path, instance: str, zone: ZoneInfo, clock: Clock = utc_now
    ) -> None:
        super().__init__(instance=instance, zone=zone, clock=clock)
        self.path = Path(path)

    def parse(self, record: RawRecord) -> Envelope | Skip:
        fields = {k: str(v).strip() for k, v in row_of(record.raw).items() if v is not None}
        if not any(fields.values()):
            return Skip("blank-row")
        when = self._time(fields.pop("time", ""))
        made = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]
        entry_id = fields.pop("entry_id", "") or f"V-{made}"
        try:
            event = DutyEntryRecorded.model_validate(
                {"recorder": "前台登记"} | {k: v for k, v in fields.items() if v}
                | {"entry_id": entry_id, "kind": EntryKind.visit}
            )  # fmt: skip
        except ValidationError as exc:
            raise parse_error(exc, "invalid-visit") from exc
        return Envelope.wrap(event, source=self.uri, position=f"visit/{entry_id}",
                             subject=entry_id, time=when, ingested_at=self.clock(),
                             connector_version=self.version)  # fmt: skip

    def read(self, position: Position | None, *, follow: bool) -> Reading:
        return read_export(self.path, position, self._rows)

    def _time(self, text: str) -> datetime:
        found = _TIME.search(text)
        if found is None:
            raise ParseError("bad-time", f"来访时间 {text[:40]!r} is not YYYY-MM-DD HH:MM")
        try:
            year, month, day, hour, minute = (int(part) for part in found.groups())
            return datetime(year, month, day, hour, minute, tzinfo=self.zone)
        except ValueError as exc:
            raise ParseError("bad-time", f"来访时间 {text[:40]!r}: {exc}") from exc

    def _rows(self, content: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
        rows = table(self.path, content)
        keys = [HEADERS.get(re.sub(r"\s+", "", str(h or "")), "") for h in rows[0]] if rows else []
        if "content" not in keys:
            raise StoreError(f"{self.path.name} has no 来访事由 column: not a sign-in sheet",
                             reason="not-a-visitor-sheet")  # fmt: skip
        for number, row in enumerate(rows[1:], start=2):
            yield number, {k: v for k, v in zip(keys, row, strict=False) if k}
