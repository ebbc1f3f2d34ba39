"""The duty-log book: one entry per event id, whatever the delivery order or repetition."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.envelope import Envelope
from schemas.events.telegram import TelegramGrade, TelegramReceived
from streams.books import duty_log
from tests.samples import fax_envelope, fax_received

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _fax(commid: str, when: datetime) -> Envelope:
    return fax_envelope(commid, when, pages=2)


T0 = datetime(2025, 3, 14, 9, 41, tzinfo=SHANGHAI)


def test_fax_becomes_an_entry_with_channel_station_and_document() -> None:
    book = duty_log.apply(None, _fax("123", T0))
    assert book is not None
    [entry] = book["entries"]
    assert (entry["channel"], entry["station"], entry["document"]) == (
        "fax",
        "+86 551 2345678",
        "recvq/fax123.tif",
    )
    assert "2 页" in entry["content"]


def _caller_fax() -> Envelope:
    data = fax_received("7").model_copy(
        update={"caller_name": "县公安局", "caller_number": "05512345678", "line": "05511234567"}
    )
    return Envelope.wrap(data, source="midfield://fax-log/main", position="RECV 7",
                         subject="7", time=T0)  # fmt: skip


def test_a_fax_names_no_unit_the_directory_does_not_know() -> None:
    """The TSI and caller id are what the sender's machine and the telephone network said, not
    a unit: the entry says the unit is unknown and keeps them in their own fields."""
    entry = duty_log.entry_for(_caller_fax())
    assert (entry.unit, entry.person) == ("", "")
    assert (entry.station, entry.phone) == ("+86 551 2345678", "05512345678")
    assert "来电名称 县公安局" in entry.content


def test_a_fax_entry_names_the_line_that_rang() -> None:
    entry = duty_log.entry_for(_caller_fax())
    assert entry.line == "05511234567"
    assert "05511234567" in entry.content


def test_an_event_applied_twice_changes_nothing() -> None:
    event = _fax("123", T0)
    book = duty_log.apply(None, event)
    assert duty_log.apply(book, event) is None


@settings(max_examples=50)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=30))
def test_any_order_of_duplicate_deliveries_yields_one_entry_per_id(order: list[int]) -> None:
    events = [_fax(str(i), T0 + timedelta(minutes=i)) for i in range(6)]
    books: dict[str, dict] = {}
    for i in order:
        event = events[i]
        new = duty_log.apply(books.get(event.subject), event)
        if new is not None:
            books[event.subject] = new
    ids = [e["id"] for b in books.values() for e in b["entries"]]
    assert sorted(ids) == sorted({events[i].id for i in order})


def test_entries_on_uses_office_time_for_the_day() -> None:
    late = datetime(2025, 3, 14, 23, 30, tzinfo=UTC)  # 07:30 on the 15th in Shanghai
    books = [
        b for b in (duty_log.apply(None, _fax("1", T0)), duty_log.apply(None, _fax("2", late))) if b
    ]
    assert [e["subject"] for e in duty_log.entries_on(books, date(2025, 3, 14), SHANGHAI)] == ["1"]
    assert [e["subject"] for e in duty_log.entries_on(books, date(2025, 3, 15), SHANGHAI)] == ["2"]


def _telegram(number: str, when: datetime) -> Envelope:
    event = TelegramReceived(
        number=number, issuing_unit="×市人民政府办公室", grade=TelegramGrade.very_urgent,
        title="关于做好防汛工作的紧急通知", pages=1,
    )  # fmt: skip
    return Envelope.wrap(event, source="midfield://telegram/drop", position=number,
                         subject=number, time=when)  # fmt: skip


def test_a_utc_telegram_sorts_after_an_earlier_fax_in_office_time() -> None:
    """The telegram's 02:30:04Z is 10:30:04 in Shanghai, after the fax's 09:00+08:00, although
    its text sorts first."""
    fax = duty_log.apply(None, _fax("1", datetime(2026, 12, 6, 9, 0, tzinfo=SHANGHAI)))
    telegram = duty_log.apply(
        None, _telegram("明电1号", datetime(2026, 12, 6, 2, 30, 4, 512284, tzinfo=UTC))
    )
    entries = duty_log.entries_on([b for b in (telegram, fax) if b], date(2026, 12, 6), SHANGHAI)
    assert [e["channel"] for e in entries] == ["fax", "telegram"]
