"""The telegram guard and cover sheets: what is withheld, what passes, what a sheet becomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.runtime.documents import DocumentStore
from connectors.runtime.source import RawRecord
from connectors.sources.telegram import TelegramSource, withheld_by
from midfield.errors import ParseError
from midfield.settings import TelegramSettings
from schemas.events.quarantine import ItemQuarantined
from schemas.events.telegram import TelegramReceived

MARKERS = TelegramSettings().markers
SHEET = {
    "number": "×政办明电〔2025〕12号",
    "issuing_unit": "×市人民政府办公室",
    "grade": "特急",
    "title": "关于做好近期防汛工作的紧急通知",
    "pages": 3,
}


def _bytes(**changes: object) -> bytes:
    return json.dumps(SHEET | changes, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("sheet", "rule"),
    [
        (_bytes(classification="机密"), "declared-classification"),
        (_bytes(密级="绝密"), "declared-classification"),
        (_bytes(classification="秘密★1年"), "declared-classification"),
        (_bytes(title="关于××的通知（秘密★6个月）"), "star-term"),
        (_bytes(body="本件为内部资料，注意保管"), "marker"),
        ('{"number": "1", "title": "绝密 broken json'.encode(), "marker"),
        (_bytes(), None),
        (_bytes(classification="无"), None),
    ],
)
def test_the_guard_withholds_declared_starred_and_marked_sheets(sheet: bytes, rule: str) -> None:
    assert withheld_by(sheet, MARKERS) == rule


@given(st.binary(max_size=400))
def test_the_guard_answers_for_any_bytes(data: bytes) -> None:
    rules = (None, "declared-classification", "star-term", "marker", "not-utf8")
    assert withheld_by(data, MARKERS) in rules


def _source(tmp_path: Path) -> TelegramSource:
    return TelegramSource(
        directory=tmp_path,
        documents=DocumentStore(tmp_path / "docs"),
        rules=TelegramSettings(),
        instance="t",
        zone=ZoneInfo("Asia/Shanghai"),
    )


def _record(raw: bytes, **meta: str) -> RawRecord:
    return RawRecord(
        raw,
        where="file x.json",
        resume={},
        meta={"read_at": datetime(2025, 6, 20, 2, tzinfo=UTC).isoformat()} | meta,
    )


def test_a_sheet_with_chinese_keys_becomes_a_telegram_event(tmp_path: Path) -> None:
    sheet = {
        "部门号": "×政办明电〔2025〕12号",
        "发电单位": "×市人民政府办公室",
        "等级": "特提",
        "标题": "紧急通知",
        "页数": 2,
        "收电时间": "2025-06-20T10:15:00",
    }
    envelope = _source(tmp_path).parse(
        _record(json.dumps(sheet).encode(), pdf="sha256:" + "a" * 64)
    )
    assert not isinstance(envelope, list) and isinstance(envelope.data, TelegramReceived)  # type: ignore[union-attr]
    assert envelope.subject == "×政办明电〔2025〕12号"  # type: ignore[union-attr]
    assert envelope.time.isoformat() == "2025-06-20T10:15:00+08:00"  # type: ignore[union-attr]


def test_an_invalid_sheet_is_a_parse_error_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(ParseError) as caught:
        _source(tmp_path).parse(_record(_bytes(grade="很急"), pdf="sha256:" + "a" * 64))
    assert caught.value.reason == "invalid-sheet" and "grade" in caught.value.detail


def test_a_withheld_sheet_becomes_metadata_and_an_alert_only(tmp_path: Path) -> None:
    meta = {
        "item_id": "×政办明电〔2025〕13号",
        "issuing_unit": "×市政府办",
        "read_at": datetime(2025, 6, 20, tzinfo=UTC).isoformat(),
    }
    held, alert = _source(tmp_path).parse(_record(json.dumps(meta).encode(), withheld="marker"))  # type: ignore[misc]
    assert isinstance(held.data, ItemQuarantined) and held.topic == "office.quarantine.v1"
    assert (alert.topic, alert.data.severity) == ("office.alerts.v1", "critical")  # type: ignore[attr-defined]
