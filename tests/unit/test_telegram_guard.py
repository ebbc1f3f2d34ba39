"""The telegram guard and cover sheets: what is withheld, what passes, what a sheet becomes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.runtime.documents import DocumentStore
from connectors.runtime.source import RawRecord
from connectors.sources.telegram import TelegramSettings, TelegramSource, withheld_by
from midfield.errors import ParseError
from schemas.events.alert import AlertRaised
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


def test_a_utf8_sheet_is_read_as_utf8_only() -> None:
    """Its bytes read as GB18030 would show a ``★`` (``乡，``: E4 B9 A1 EF BC 8C, A1EF is ★ in
    GB2312): a guard reading every encoding would withhold every such sheet."""
    sheet = json.dumps({"from": "城关乡，通知", "number": "皖明电〔2025〕12号"}, ensure_ascii=False)
    assert "★" in sheet.encode().decode("gb18030", "ignore")
    assert withheld_by(sheet.encode(), MARKERS) is None


@given(st.binary(max_size=400))
def test_the_guard_answers_for_any_bytes(data: bytes) -> None:
    rules = (None, "declared-classification", "star-term", "marker", "classification-term",
             "not-utf8")  # fmt: skip
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
        "sheet_digest": "sha256:" + "0" * 64,
        "read_at": datetime(2025, 6, 20, tzinfo=UTC).isoformat(),
    }
    made = _source(tmp_path).parse(_record(json.dumps(meta).encode(), withheld="marker"))
    assert isinstance(made, list)
    held, alert = made
    assert isinstance(held.data, ItemQuarantined) and held.topic == "office.quarantine.v1"
    assert isinstance(alert.data, AlertRaised)
    assert (alert.topic, alert.data.severity) == ("office.alerts.v1", "critical")


def _withheld_events(tmp_path: Path, digest: str, rule: str, read_at: datetime) -> list[Any]:
    meta = {"item_id": "×政办明电〔2025〕13号", "sheet_digest": digest,
            "read_at": read_at.isoformat()}  # fmt: skip
    made = _source(tmp_path).parse(_record(json.dumps(meta).encode(), withheld=rule))
    assert isinstance(made, list)
    return made


def test_two_withheld_sheets_with_one_number_are_two_events_and_one_sheet_read_twice_is_one(
    tmp_path: Path,
) -> None:
    """An event id names what happened: a second sheet under a number already withheld (another
    rule, another file) must not share the first one's id, or a book would drop it as applied;
    the same file read again after a crash must."""
    first, again, other = (
        _withheld_events(
            tmp_path, "sha256:" + "1" * 64, "marker", datetime(2025, 6, 20, tzinfo=UTC)
        ),
        _withheld_events(
            tmp_path, "sha256:" + "1" * 64, "marker", datetime(2025, 6, 21, tzinfo=UTC)
        ),
        _withheld_events(
            tmp_path, "sha256:" + "2" * 64, "star-term", datetime(2025, 6, 21, tzinfo=UTC)
        ),
    )
    assert [e.id for e in first] == [e.id for e in again]
    assert {e.id for e in first}.isdisjoint(e.id for e in other)
    assert first[1].data.alert_id == other[1].data.alert_id  # one alert per item, raised again


# -- issue 18: every field is checked, and a withheld sheet's free text goes nowhere ------------
FREE_TEXT = ("number", "issuing_unit", "addressees", "approver", "machine_number", "title", "body")
"""Every free-text field of :class:`schemas.telegram_sheet.TelegramCoverSheet`."""


def _with(field: str, text: str) -> bytes:
    return _bytes(**{field: [text] if field == "addressees" else text})


@pytest.mark.parametrize("field", FREE_TEXT)
@pytest.mark.parametrize("term", ["绝密", "机密", "秘密"])
def test_a_classification_term_in_any_field_withholds_whatever_the_markers_say(
    field: str, term: str
) -> None:
    assert withheld_by(_with(field, f"县公安局{term}：收网行动"), ("涉密",)) is not None


@pytest.mark.parametrize("field", FREE_TEXT)
def test_a_configured_marker_in_any_field_withholds(field: str) -> None:
    assert withheld_by(_with(field, "县局工作秘要"), ("工作秘要",)) == "marker"


@pytest.mark.parametrize(
    "sheet",
    [
        b'{"number": "1", "title": "\\u7edd\\u5bc6 broken json',  # escaped, and no JSON to decode
        _bytes(title="绝\u200b密：收网行动"),  # a zero-width space between the two characters
        _bytes(issuing_unit="县公安局 机 密 收网"),
        _bytes(body="ＳＯＡＫ 内部 资料"),
    ],
)
def test_a_term_hidden_by_escapes_or_spacing_still_withholds(sheet: bytes) -> None:
    assert withheld_by(sheet, MARKERS) is not None


SECRET = "SECRET-7731 12月8日凌晨收网行动"


def _drop_classified(tmp_path: Path, sheet: dict[str, object]) -> bytes:
    raw = json.dumps(sheet, ensure_ascii=False).encode()
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4 " + SECRET.encode())
    (tmp_path / "x.json").write_bytes(raw)
    return raw


def _withheld(tmp_path: Path) -> list[Any]:
    """What the source makes of the one sheet in ``tmp_path``: read as the connector reads."""
    source = _source(tmp_path)
    [record] = [r for r in source.read(None, follow=False) if r is not None]
    made = source.parse(record)
    assert isinstance(made, list)
    return made


def _everywhere(secret: str) -> dict[str, object]:
    """A sheet with ``secret`` in every free-text field, declared 机密."""
    texts = {field: f"{secret}-{field}" for field in FREE_TEXT}
    return SHEET | texts | {"addressees": [texts["addressees"]], "classification": "机密"}


def test_a_withheld_sheet_puts_none_of_its_text_on_the_bus(tmp_path: Path) -> None:
    raw = _drop_classified(tmp_path, _everywhere("SECRET-7731"))
    envelopes = _withheld(tmp_path)
    assert [e.topic for e in envelopes] == ["office.quarantine.v1", "office.alerts.v1"]
    for envelope in envelopes:
        wire = envelope.value() + b"".join(v for _, v in envelope.headers())
        assert b"SECRET-7731" not in wire and envelope.key() is not None
        assert b"SECRET-7731" not in envelope.key()
    held = envelopes[0].data
    digest = hashlib.sha256(raw).hexdigest()
    assert (held.item_id, held.sheet_digest) == (f"sheet-{digest[:16]}", f"sha256:{digest}")


def test_the_alert_names_no_issuing_unit_and_says_only_what_is_true(tmp_path: Path) -> None:
    sheet = SHEET | {"number": "×政办明电〔2025〕13号", "classification": "机密",
                     "issuing_unit": "县公安局 绝密：12月8日凌晨收网行动"}  # fmt: skip
    _drop_classified(tmp_path, sheet)
    held, alert = _withheld(tmp_path)
    assert "县公安局" not in alert.data.message and "收网" not in alert.value().decode()
    assert "收网" not in held.value().decode() and held.data.model_dump()["issuing_unit"] == ""


@pytest.mark.parametrize(
    ("number", "kept"),
    [
        ("×政办明电〔2025〕13号", True),
        ("县公安局明电〔2025〕7号", True),
        ("内部资料〔2025〕1号", False),  # a configured marker
        ("12月8日凌晨收网〔2025〕1号", False),  # not the standard form (a date is no organ)
        ("县公安局-收网行动", False),
        ("S1", False),
    ],
)
def test_a_withheld_sheet_keeps_its_number_only_in_the_standard_form_without_markers(
    tmp_path: Path, number: str, kept: bool
) -> None:
    _drop_classified(tmp_path, SHEET | {"number": number, "classification": "秘密"})
    held, _ = _withheld(tmp_path)
    assert (held.data.item_id == number) is kept
    assert kept or held.data.item_id.startswith("sheet-")
