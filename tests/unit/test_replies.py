"""Reply tallies (办复率) on hand-computed cases, and the early warning over a set clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from midfield.settings import RepliesSettings
from schemas.envelope import Envelope
from schemas.events.message import MessageChannel, PublicMessageReceived, PublicMessageReplied
from streams.books import alerts, replies, reply_tallies
from streams.books.period import Period
from tests.samples import nth_event

ZONE = ZoneInfo("Asia/Shanghai")
RULES = RepliesSettings(on_time_days=5, warning_days=(30, 60, 80), fail_days=91)
MARCH = datetime(2025, 3, 3, 10, 0, tzinfo=ZONE)
DAY = 86_400


def _received(mid: str, at: datetime, department: str = "edu", n: int = 0) -> Envelope:
    event = PublicMessageReceived(
        message_id=mid, channel=MessageChannel.board, title=f"t{mid}", department=department
    )
    return nth_event(event, mid, f"r{n}", at, source="midfield://board/test")


def _replied(mid: str, at: datetime, n: int = 0) -> Envelope:
    event = PublicMessageReplied(message_id=mid, department="edu", reply="已答复")
    return nth_event(event, mid, f"a{n}", at, source="midfield://board/test")


def _books(*envelopes: Envelope) -> list[replies.Book]:
    books: dict[str, replies.Book] = {}
    for envelope in envelopes:
        after = replies.apply(books.get(envelope.subject), envelope)
        if after is not None:
            books[envelope.subject] = after
    return list(books.values())


def _tally(books: list[replies.Book], period: str, department: str | None = None) -> dict:
    return reply_tallies.tally(
        books,
        Period.parse(period, ZONE),
        department=department,
        now=datetime(2025, 4, 15, tzinfo=ZONE),
        rules=RULES,
    )


MONTH = _books(
    _received("m1", MARCH),
    _replied("m1", MARCH + timedelta(days=1)),
    _received("m2", MARCH),
    _replied("m2", MARCH + timedelta(days=2)),
    _received("m3", MARCH),
    _replied("m3", MARCH + timedelta(days=10)),
    _received("m4", MARCH + timedelta(days=1)),
    _received("h1", MARCH, department="health"),
)


def test_reply_rate_is_replied_over_received() -> None:
    figures = _tally(MONTH, "2025-03", "edu")
    assert (figures["received"], figures["replied"], figures["reply_rate"]) == (4, 3, 0.75)


def test_on_time_rate_counts_replies_within_the_limit_over_received() -> None:
    figures = _tally(MONTH, "2025-03", "edu")
    assert (figures["on_time"], figures["on_time_rate"]) == (2, 0.5)


def test_time_to_reply_mean_nearest_rank_percentiles_and_max() -> None:
    spread = _tally(MONTH, "2025-03", "edu")["time_to_reply_s"]
    assert spread == {
        "mean": round(13 * DAY / 3, 1),
        "p50": 2 * DAY,
        "p90": 10 * DAY,
        "max": 10 * DAY,
    }


def test_oldest_unanswered_message_and_its_age() -> None:
    oldest = _tally(MONTH, "2025-03", "edu")["oldest_unanswered"]
    assert (oldest["message_id"], oldest["days"]) == ("m4", 41)  # 4 Mar 10:00 to 15 Apr 00:00


def test_all_departments_together() -> None:
    figures = _tally(MONTH, "2025-03")
    assert (figures["received"], figures["replied"], figures["unanswered"]) == (5, 3, 2)


def test_an_empty_period_has_no_rates_rather_than_zero_or_one_hundred_percent() -> None:
    figures = _tally(MONTH, "2025-02", "edu")
    assert figures["received"] == 0
    assert figures["reply_rate"] is None and figures["on_time_rate"] is None
    assert figures["time_to_reply_s"] is None and figures["oldest_unanswered"] is None


def test_a_period_ends_at_midnight_office_time() -> None:
    books = _books(
        _received("late", datetime(2025, 3, 31, 23, 59, 59, tzinfo=ZONE)),
        _received("early", datetime(2025, 4, 1, 0, 0, tzinfo=ZONE)),
        _received("utc", datetime(2025, 3, 31, 16, 30, tzinfo=ZoneInfo("UTC"))),
    )
    assert _tally(books, "2025-03")["received"] == 1  # 16:30 UTC is 00:30 on 1 April here
    assert _tally(books, "2025-04")["received"] == 2
    assert _tally(books, "2025-03-31")["received"] == 1
    assert _tally(books, "2025")["received"] == 3


def test_redelivered_events_and_a_reimported_message_count_once() -> None:
    books = _books(
        _received("m1", MARCH),
        _received("m1", MARCH),
        _received("m1", MARCH + timedelta(days=3), n=1),  # the same message re-imported
        _replied("m1", MARCH + timedelta(days=1)),
        _replied("m1", MARCH + timedelta(days=1)),
    )
    figures = _tally(books, "2025-03")
    assert (figures["received"], figures["replied"], figures["time_to_reply_s"]["max"]) == (
        1,
        1,
        DAY,
    )


def test_a_reply_that_arrives_before_its_message_is_kept() -> None:
    books = _books(_replied("m1", MARCH + timedelta(days=1)), _received("m1", MARCH))
    assert _tally(books, "2025-03")["replied"] == 1


@pytest.mark.parametrize("text", ["2025-13", "25", "2025-02-30", "March"])
def test_a_bad_period_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Period.parse(text, ZONE)


# -- early warning over a set clock ------------------------------------------------------------
def _warn(books: list[replies.Book], days: int) -> list[Envelope]:
    return replies.due_warnings(
        books, MARCH + timedelta(days=days, hours=1), RULES, source="midfield://worker/test"
    )


def test_unanswered_message_escalates_once_per_threshold_and_resolves_when_answered() -> None:
    books = _books(_received("m1", MARCH))
    alert = None
    seen = []
    for day in range(0, 100):  # the timer, once a day: 100 checks
        for envelope in _warn(books, day):
            after = alerts.apply(alert, envelope)
            if after is not None:
                alert = after
                seen.append((day, after["level"], after["severity"]))
    assert seen == [
        (30, 30, "warning"),
        (60, 60, "warning"),
        (80, 80, "critical"),
        (91, 91, "critical"),
    ]
    assert alert is not None and alert["open"] and "互动回应差" in alert["message"]

    before = books[0]
    reply = _replied("m1", MARCH + timedelta(days=100))
    after = replies.apply(before, reply)
    assert after is not None
    resolved = replies.resolution(before, after, reply, RULES, source="midfield://worker/test")
    assert resolved is not None
    closed = alerts.apply(alert, resolved)
    assert closed is not None and closed["open"] is False
    assert _warn([after], 120) == []


def test_a_message_answered_in_time_raises_and_resolves_nothing() -> None:
    reply = _replied("m1", MARCH + timedelta(days=2))
    [before] = _books(_received("m1", MARCH))
    after = replies.apply(before, reply)
    assert after is not None
    assert replies.resolution(before, after, reply, RULES, source="s") is None
    assert _warn([after], 95) == []


def test_oldest_unanswered_compares_instants_not_text() -> None:
    """m-utc arrived at 23:00Z on the 3rd (07:00 on the 4th in Shanghai), after m-local."""
    books = _books(
        _received("m-utc", datetime(2025, 3, 3, 23, 0, tzinfo=ZoneInfo("UTC"))),
        _received("m-local", datetime(2025, 3, 4, 6, 0, tzinfo=ZONE)),
    )
    assert _tally(books, "2025-03")["oldest_unanswered"]["message_id"] == "m-local"


def test_the_first_reply_is_the_earliest_instant_whatever_its_offset() -> None:
    books = _books(
        _received("m1", MARCH),
        _replied("m1", datetime(2025, 3, 4, 9, 0, tzinfo=ZONE), n=1),
        _replied("m1", datetime(2025, 3, 4, 1, 30, tzinfo=ZoneInfo("UTC")), n=2),  # 09:30 local
    )
    assert books[0]["replied_at"] == "2025-03-04T09:00:00+08:00"
