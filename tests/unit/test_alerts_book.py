"""The alerts book: one alert per alert id, counted when raised again, each event applied once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.fax import FaxReceived
from streams import alerts

T0 = datetime(2025, 3, 14, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _raised(alert_id: str, n: int, severity: Severity = Severity.warning) -> Envelope:
    event = AlertRaised(alert_id=alert_id, kind="overdue", severity=severity, message=f"m{n}")
    return Envelope.wrap(
        event,
        source="midfield://test",
        position=f"{alert_id}/{n}",
        subject=alert_id,
        time=T0 + timedelta(minutes=n),
    )


def test_first_raise_opens_the_alert() -> None:
    book = alerts.apply(None, _raised("a", 0))
    assert book is not None
    assert (book["open"], book["count"], book["message"]) == (True, 1, "m0")


def test_raised_again_is_one_alert_with_a_count() -> None:
    book = alerts.apply(alerts.apply(None, _raised("a", 0)), _raised("a", 5))
    assert book is not None
    assert (book["count"], book["message"]) == (2, "m5")
    assert book["last_raised_at"] == (T0 + timedelta(minutes=5)).isoformat()


def test_the_same_event_again_changes_nothing() -> None:
    book = alerts.apply(None, _raised("a", 0))
    assert alerts.apply(book, _raised("a", 0)) is None


def test_other_event_types_are_refused() -> None:
    fax = FaxReceived(
        commid="1", device="d", document="x", remote_station="s", pages=1, duration_s=1, connect_s=1
    )
    with pytest.raises(ValueError, match="does not take"):
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
