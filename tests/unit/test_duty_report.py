"""The duty report's windows: shifts end where the next begins, entries fall in exactly one."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from streams.views import duty_report

ZONE = ZoneInfo("Asia/Shanghai")
SHIFTS = {"白班": "08:30", "夜班": "17:30"}
DAY = date(2025, 3, 14)


def _entry(n: int, hh: int, mm: int, ss: int = 0, day: int = 14) -> dict:
    at = datetime(2025, 3, day, hh, mm, ss, tzinfo=ZONE)
    return {
        "id": f"e{n}",
        "received_at": at.isoformat(),
        "channel": "fax",
        "unit": "县公安局",
        "content": f"entry {n}",
    }


ENTRIES = [
    _entry(1, 8, 29, 59),
    _entry(2, 8, 30),
    _entry(3, 17, 29, 59),
    _entry(4, 17, 30),
    _entry(5, 8, 29, 59, day=15),
    _entry(6, 8, 30, day=15),
]


def _ids(shift: str | None, day: date = DAY) -> list[str]:
    win = duty_report.window(day, shift, SHIFTS, ZONE)
    rep = duty_report.report(
        win, entries=ENTRIES, overdue=[], alerts=[], now=datetime(2025, 3, 20, tzinfo=ZONE)
    )
    return [e["id"] for e in rep["new_items"]]


def test_day_shift_holds_exactly_the_entries_from_its_start_to_the_next_shift() -> None:
    assert _ids("白班") == ["e2", "e3"]


def test_night_shift_runs_past_midnight_to_the_next_day_shift() -> None:
    assert _ids("夜班") == ["e4", "e5"]


def test_whole_day_is_midnight_to_midnight() -> None:
    assert _ids(None) == ["e1", "e2", "e3", "e4"]


def test_every_entry_is_in_exactly_one_shift() -> None:
    seen = [
        *_ids("夜班", date(2025, 3, 13)),
        *_ids("白班"),
        *_ids("夜班"),
        *_ids("白班", date(2025, 3, 15)),
    ]
    assert sorted(seen) == [f"e{n}" for n in range(1, 7)]


def test_unknown_shift_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        duty_report.window(DAY, "中班", SHIFTS, ZONE)


def test_last_ended_is_the_latest_finished_shift_and_yesterday() -> None:
    now = datetime(2025, 3, 14, 18, 0, tzinfo=ZONE)
    shift, day = duty_report.last_ended(now, SHIFTS, ZONE)
    assert (shift.shift, shift.day, shift.end.hour) == ("白班", DAY, 17)
    assert (day.shift, day.day) == (None, date(2025, 3, 13))


def test_printable_page_escapes_what_it_shows() -> None:
    win = duty_report.window(DAY, "白班", SHIFTS, ZONE)
    hostile = {**_entry(9, 9, 0), "content": "<script>alert(1)</script>"}
    rep = duty_report.report(
        win, entries=[hostile], overdue=[], alerts=[], now=datetime(2025, 3, 14, 12, 0, tzinfo=ZONE)
    )
    page = duty_report.render_html(rep, "示范县人民政府办公室")
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "值班报告 2025-03-14 白班" in page and "本时段尚未结束" in page


def test_new_items_are_in_order_of_receipt_whatever_their_offset() -> None:
    utc = dict(_entry(9, 10, 30), id="e9", received_at="2025-03-14T02:30:04Z")  # 10:30:04 local
    win = duty_report.window(DAY, "白班", SHIFTS, ZONE)
    rep = duty_report.report(
        win, entries=[utc, *ENTRIES], overdue=[], alerts=[], now=datetime(2025, 3, 20, tzinfo=ZONE)
    )
    assert [e["id"] for e in rep["new_items"]] == ["e2", "e9", "e3"]
