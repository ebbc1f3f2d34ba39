"""Times in views: every aware time shown in the office's zone, the same instant as on the wire."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from streams.books import office_time

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_utc_time_is_shown_in_office_time() -> None:
    shown = office_time.shown({"received_at": "2026-12-06T02:30:04.512284Z"}, SHANGHAI)
    assert shown == {"received_at": "2026-12-06T10:30:04.512284+08:00"}


def test_nested_times_in_lists_and_maps_are_shown_in_office_time() -> None:
    book = {
        "history": [{"at": "2026-12-06T01:00:00+00:00"}],
        "signed_by": {"edu": "2026-12-06T01:00:00Z"},
    }
    shown = office_time.shown(book, SHANGHAI)
    assert shown["history"][0]["at"] == shown["signed_by"]["edu"] == "2026-12-06T09:00:00+08:00"


def test_dates_naive_times_and_text_stay_as_they_are() -> None:
    view = {"deadline": "2026-12-06", "content": "收到传真 2 页", "naive": "2026-12-06T10:00:00"}
    assert office_time.shown(view, SHANGHAI) == view


def test_latest_compares_instants_not_text() -> None:
    telegram, fax = "2026-12-06T02:30:04Z", "2026-12-06T09:00:00+08:00"
    assert office_time.latest(telegram, fax) == telegram


def test_a_naive_time_in_a_book_is_refused() -> None:
    with pytest.raises(ValueError, match="no offset"):
        office_time.parse(datetime(2026, 12, 6, 10).isoformat())


def test_parse_keeps_the_instant() -> None:
    assert office_time.parse("2026-12-06T02:30:04Z") == datetime(2026, 12, 6, 2, 30, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-06T02:30Z", "2026-12-06T10:30:00+08:00"),  # the shortest aware time
        ("2026-12-06T02:30:04.123456+00:00", "2026-12-06T10:30:04.123456+08:00"),  # the longest
        ("2026-12-06T10:30:04+08:00", "2026-12-06T10:30:04+08:00"),
        ("2026-12-06T02:30:04", "2026-12-06T02:30:04"),  # naive: as it is
        ("2026-12-06", "2026-12-06"),
        ("abcdefghijT-looks-like-one", "abcdefghijT-looks-like-one"),
        ("2026-12-06T02:30:04+00:00 and more text", "2026-12-06T02:30:04+00:00 and more text"),
    ],
)
def test_shown_converts_exactly_the_aware_times_however_often_asked(
    text: str, expected: str
) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    for _ in range(2):  # the second answer comes from the memory of the first
        assert office_time.shown({"a": [text, {"b": text}]}, zone) == {
            "a": [expected, {"b": expected}]
        }
