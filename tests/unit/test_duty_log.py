"""The duty-log book: one entry per event id, whatever the delivery order or repetition."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.envelope import Envelope
from streams import duty_log
from tests.samples import fax_envelope

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _fax(commid: str, when: datetime) -> Envelope:
    return fax_envelope(commid, when, pages=2)


T0 = datetime(2025, 3, 14, 9, 41, tzinfo=SHANGHAI)


def test_fax_becomes_an_entry_with_channel_unit_and_document() -> None:
    book = duty_log.apply(None, _fax("123", T0))
    assert book is not None
    [entry] = book["entries"]
    assert (entry["channel"], entry["unit"], entry["document"]) == (
        "fax",
        "+86 551 2345678",
        "recvq/fax123.tif",
    )
    assert "2 页" in entry["content"]


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
