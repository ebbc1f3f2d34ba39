"""The envelope on the wire: CloudEvents binary mode, deterministic ids, strict decoding."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.envelope import DecodeError, Envelope, event_id
from schemas.events.fax import FaxReceived
from tests.samples import fax_received

T0 = datetime(2025, 3, 14, 9, 41, tzinfo=timezone(timedelta(hours=8)))


def _fax(commid: str = "000000123") -> FaxReceived:
    return fax_received(commid)


def _envelope(position: str = "RECV 000000123") -> Envelope:
    return Envelope.wrap(
        _fax(),
        source="midfield://fax-log/main",
        position=position,
        subject="000000123",
        time=T0,
        ingested_at=T0,
    )


def test_same_source_and_position_give_the_same_id() -> None:
    assert _envelope().id == _envelope().id == event_id("midfield://fax-log/main", "RECV 000000123")


def test_another_position_gives_another_id() -> None:
    assert _envelope("RECV 1").id != _envelope("RECV 2").id


def test_headers_are_cloudevents_binary_mode() -> None:
    headers = dict(_envelope().headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"cn.gov.county.office.fax.received.v1"
    assert headers["ce_subject"] == b"000000123"
    assert headers["ce_time"] == b"2025-03-14T09:41:00+08:00"
    assert headers["content-type"] == b"application/json"
    assert all(k.islower() for k in headers)


def test_record_round_trips() -> None:
    envelope = _envelope()
    assert Envelope.from_record(envelope.headers(), envelope.value()) == envelope
    assert envelope.key() == b"000000123"
    assert envelope.topic == "office.intake.fax.v1"


def test_value_is_the_json_of_data_only() -> None:
    assert FaxReceived.model_validate_json(_envelope().value()) == _fax()


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Envelope.wrap(
            _fax(),
            source="s",
            position="p",
            subject="x",
            time=datetime(2025, 1, 1),
            ingested_at=datetime.now(UTC),
        )


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        ([], b"{}", "not-cloudevent"),
        ([("ce_specversion", b"1.0"), ("ce_type", b"nope")], b"{}", "unknown-type"),
        (
            [("ce_specversion", b"1.0"), ("ce_type", FaxReceived.type.encode())],
            b"{x",
            "invalid-event",
        ),
    ],
)
def test_unfit_records_raise_decode_error_with_reason(
    headers: list[tuple[str, bytes]], value: bytes, reason: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        Envelope.from_record(headers, value)
    assert caught.value.reason == reason


def test_unknown_data_fields_are_refused() -> None:
    envelope = _envelope()
    with pytest.raises(DecodeError, match="invalid-event"):
        Envelope.from_record(envelope.headers(), envelope.value()[:-1] + b',"extra":1}')


@given(st.text(), st.text())
def test_event_id_is_exactly_uuid5_of_source_and_position(source: str, position: str) -> None:
    expected = uuid.uuid5(
        uuid.UUID("6b1d5a0e-3c2f-5d8e-9a41-0f7c2b6d9e15"), f"{source}\n{position}"
    )
    assert event_id(source, position) == str(expected)


def test_a_local_mean_time_offset_travels_as_utc_and_reads_back() -> None:
    """Asia/Shanghai before 1901 is +08:05:43; RFC 3339 has no seconds in an offset (found by
    hypothesis on a board export dated 1900-01-01)."""
    from zoneinfo import ZoneInfo

    from schemas.events.fax import FaxReceived

    when = datetime(1900, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    data = FaxReceived.model_validate(FaxReceived.model_json_schema()["examples"][0])
    envelope = Envelope.wrap(
        data, source="midfield://fax-log/t", position="1", subject="1", time=when
    )
    assert envelope.time == when and envelope.time.utcoffset() == timedelta(0)
    back = Envelope.from_record(envelope.headers(), envelope.value())
    assert back.time == when
