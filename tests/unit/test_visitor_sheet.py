"""The reception's visitor sign-in sheet (connectors/sources/visitor_sheet.py); what every source
does is checked by the contract suite, on the sample in tests/source_samples.py."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.runtime.source import RawRecord
from connectors.sources.visitor_sheet import VisitorSheetSource
from midfield.errors import ParseError, StoreError
from schemas.envelope import Envelope
from schemas.events.duty import DutyEntryRecorded, EntryKind

ZONE = ZoneInfo("Asia/Shanghai")
SOURCE = VisitorSheetSource(path=Path("unused.csv"), instance="reception", zone=ZONE)


def _row(**cells: str) -> RawRecord:
    return RawRecord(json.dumps(cells, ensure_ascii=False).encode(), "row 2", {})


def test_a_row_is_a_visit_at_its_local_time_received_by_the_reception_if_no_one_is_named() -> None:
    envelope = SOURCE.parse(_row(time="2025/6/20 14:05", person="张敏", content="咨询低保"))
    assert isinstance(envelope, Envelope) and isinstance(envelope.data, DutyEntryRecorded)
    assert envelope.data.kind is EntryKind.visit
    assert (envelope.data.person, envelope.data.recorder) == ("张敏", "前台登记")
    assert envelope.time == datetime(2025, 6, 20, 14, 5, tzinfo=ZONE)


def test_a_row_without_a_time_is_refused_as_bad_time() -> None:
    with pytest.raises(ParseError) as caught:
        SOURCE.parse(_row(time="下午", content="咨询"))
    assert caught.value.reason == "bad-time"


def test_a_file_without_a_reason_column_is_not_a_sign_in_sheet(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("姓名,电话\n王强,1\n", encoding="utf-8")
    source = VisitorSheetSource(path=tmp_path / "x.csv", instance="r", zone=ZONE)
    with pytest.raises(StoreError) as caught:
        list(source.read(None, follow=False))
    assert caught.value.reason == "not-a-visitor-sheet"
