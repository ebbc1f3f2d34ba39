"""The alerts book: one alert per alert id, counted when raised again, each event applied once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas.envelope import Envelope
from schemas.events.alert import AlertAcknowledged, AlertRaised, AlertResolved, Severity
from schemas.events.fax import FaxReceived
from streams.books import alerts
from tests.samples import nth_event

T0 = datetime(2025, 3, 14, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _raised(
    alert_id: str, n: int, severity: Severity = Severity.warning, level: int = 0
) -> Envelope:
    event = AlertRaised(
        alert_id=alert_id, kind="overdue", severity=severity, message=f"m{n}", level=level
    )
    return _at(event, alert_id, n)


def _at(event: AlertRaised | AlertResolved | AlertAcknowledged, alert_id: str, n: int) -> Envelope:
    return nth_event(event, alert_id, f"{n}/{event.type}", T0 + timedelta(minutes=n))


def _fold(*envelopes: Envelope) -> dict:
    book = None
    for envelope in envelopes:
        book = alerts.apply(book, envelope) or book
    assert book is not None
    return book


def test_first_raise_opens_the_alert() -> None:
    book = alerts.apply(None, _raised("a", 0))
    assert book is not None
    assert (book["open"], book["count"], book["message"]) == (True, 1, "m0")


def test_raised_again_at_the_same_level_is_one_alert_with_a_count() -> None:
    book = _fold(_raised("a", 0), _raised("a", 5))
    assert (book["count"], book["message"], book["open"]) == (2, "m0", True)
    assert book["last_raised_at"] == (T0 + timedelta(minutes=5)).isoformat()


def test_raised_at_a_higher_level_escalates() -> None:
    book = _fold(_raised("a", 0, Severity.warning, 30), _raised("a", 5, Severity.critical, 80))
    assert (book["level"], book["severity"], book["message"]) == (80, "critical", "m5")
    assert book["raised_at"] == T0.isoformat()


def test_resolution_closes_it_and_acknowledgement_keeps_it_open() -> None:
    acked = _fold(_raised("a", 0), _at(AlertAcknowledged(alert_id="a", by="李华"), "a", 1))
    assert (acked["open"], acked["acknowledged_by"]) == (True, "李华")
    resolved = alerts.apply(acked, _at(AlertResolved(alert_id="a", reason="replied"), "a", 2))
    assert resolved is not None
    assert (resolved["open"], resolved["resolution"]) == (False, "replied")


def test_a_raise_older_than_the_resolution_does_not_reopen_it() -> None:
    book = _fold(_raised("a", 0), _at(AlertResolved(alert_id="a"), "a", 5), _raised("a", 4))
    assert book["open"] is False


def test_a_raise_after_the_resolution_reopens_it() -> None:
    book = _fold(_raised("a", 0), _at(AlertResolved(alert_id="a"), "a", 5), _raised("a", 9))
    assert (book["open"], book["count"]) == (True, 2)


def test_a_resolution_before_any_raise_holds_against_an_older_raise() -> None:
    book = _fold(_at(AlertResolved(alert_id="a"), "a", 5), _raised("a", 4))
    assert not alerts.is_alert(book)
    assert alerts.open_first([book], only_open=False) == []


def test_the_same_event_again_changes_nothing() -> None:
    book = alerts.apply(None, _raised("a", 0))
    assert alerts.apply(book, _raised("a", 0)) is None


def test_another_event_type_is_a_bug_not_a_refusal() -> None:
    """The registry routes only the types a book declares: anything else reaching ``apply`` is
    a bug, and must stop the worker rather than become a dead letter."""
    fax = FaxReceived(
        commid="1", device="d", document="x", remote_station="s", pages=1, duration_s=1, connect_s=1
    )
    with pytest.raises(TypeError, match="does not take"):
        alerts.apply(None, Envelope.wrap(fax, source="s", position="1", subject="1", time=T0))


def test_open_alerts_list_critical_first_then_newest() -> None:
    books = [
        alerts.apply(None, _raised(name, n, severity))
        for name, n, severity in [
            ("old-warning", 1, Severity.warning),
            ("new-warning", 9, Severity.warning),
            ("critical", 0, Severity.critical),
        ]
    ]
    shown = alerts.open_first([b for b in books if b], only_open=True)
    assert [a["alert_id"] for a in shown] == ["critical", "new-warning", "old-warning"]
    assert all("applied" not in a for a in shown)


def test_open_alerts_list_newest_first_across_offsets() -> None:
    """An alert raised at 02:30Z (10:30 in Shanghai) is newer than one raised at 09:00+08:00."""
    fax_time = _fold(_raised("fax", 0))  # T0 = 09:00+08:00
    utc = Envelope.wrap(
        AlertRaised(alert_id="utc", kind="overdue", severity=Severity.warning, message="m"),
        source="midfield://test", position="utc", subject="utc",
        time=datetime(2025, 3, 14, 2, 30, tzinfo=ZoneInfo("UTC")),
    )  # fmt: skip
    shown = alerts.open_first([fax_time, _fold(utc)], only_open=True)
    assert [a["alert_id"] for a in shown] == ["utc", "fax"]


def test_raised_again_keeps_the_latest_instant_not_the_latest_text() -> None:
    def at(position: str, when: datetime) -> Envelope:
        event = AlertRaised(alert_id="a", kind="overdue", severity=Severity.warning, message="m")
        return Envelope.wrap(event, source="midfield://test", position=position, subject="a",
                             time=when)  # fmt: skip

    first = at("a/1", datetime(2025, 3, 14, 2, 30, tzinfo=ZoneInfo("UTC")))  # 10:30 in Shanghai
    older = at("a/2", T0)  # 09:00+08:00: sorts after "02:30+00:00" as text, yet is older
    assert _fold(first, older)["last_raised_at"] == first.time.isoformat()
