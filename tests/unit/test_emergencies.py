"""Emergencies: a first report, numbered follow-ups, a close; and their duty-log lines."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.envelope import Envelope, EventData
from schemas.events.duty import DutyEntryRecorded, EmergencyClosed, EmergencyReported, EntryKind
from streams.books import duty_log, emergencies
from tests.samples import nth_event

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 7, 2, 14, 5, tzinfo=ZONE)


def _wrap(event: EventData, subject: str, n: int) -> Envelope:
    return nth_event(
        event, subject, n, T0 + timedelta(minutes=30 * n), source="midfield://duty/test"
    )


def _report(sequence: int, content: str = "积水 50 厘米") -> Envelope:
    event = EmergencyReported(
        report_id="EM-1",
        sequence=sequence,
        title="城东内涝",
        unit="应急局",
        content=content,
        recorder="李华",
    )
    return _wrap(event, "EM-1", sequence)


def _fold(*envelopes: Envelope) -> dict:
    book = None
    for envelope in envelopes:
        out = emergencies.apply(book, envelope)
        book = out.book if isinstance(out, emergencies.Refused) else (out or book)
    assert book is not None
    return book


def test_follow_ups_are_numbered_and_the_emergency_stays_open_until_closed() -> None:
    book = _fold(_report(0), _report(2), _report(1))
    assert [r["name"] for r in book["reports"]] == ["首报", "续报一", "续报二"]
    assert emergencies.is_open(book)
    assert emergencies.summary(book)["latest"] == "续报二"
    closed = _fold(
        _report(0), _report(1), _wrap(EmergencyClosed(report_id="EM-1", recorder="李华"), "EM-1", 9)
    )
    assert not emergencies.is_open(closed)


def test_a_follow_up_before_the_first_report_is_refused_and_remembered() -> None:
    out = emergencies.apply(None, _report(1))
    assert isinstance(out, emergencies.Refused) and out.reason == "no-first-report"
    assert emergencies.apply(out.book, _report(1)) is None


def test_a_follow_up_number_given_twice_keeps_the_first() -> None:
    again = _wrap(
        EmergencyReported(
            report_id="EM-1", sequence=1, title="城东内涝", content="另一份续报一", recorder="李华"
        ),
        "EM-1",
        7,
    )
    book = _fold(_report(0), _report(1, "第一份续报一"), again)
    assert [r["content"] for r in book["reports"]] == ["积水 50 厘米", "第一份续报一"]


def test_duty_log_lines_name_the_report() -> None:
    entry = duty_log.entry_for(_report(1, "水位回落"))
    assert (entry.channel, entry.content) == ("emergency", "【续报一】城东内涝：水位回落")
    call = DutyEntryRecorded(
        entry_id="D-1",
        kind=EntryKind.call,
        unit="城关镇",
        person="张伟",
        phone="0551-1",
        content="水管爆裂",
        recorder="李华",
    )
    line = duty_log.entry_for(_wrap(call, "D-1", 0))
    assert (line.channel, line.unit, line.recorder, line.content) == (
        "call",
        "城关镇",
        "李华",
        "水管爆裂",
    )
