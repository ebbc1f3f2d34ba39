"""The dashboard's words (streams/views/labels.py: one table, codes in, Chinese out), the dead
letters it counts (streams/books/waiting_letters.py), its colour settings, and the page's
promise to stay self-contained."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from midfield.settings import RepliesSettings, SupervisionSettings
from schemas.deadletter import DeadLetter
from schemas.events.duty import EntryKind
from streams.books import lights, task_book, waiting_letters
from streams.views import labels
from streams.views.dashboard import PAGE

ZONE = ZoneInfo("Asia/Shanghai")
RULES = SupervisionSettings(warning_days=3, progress_lag=0.25)
CREATED = datetime(2025, 3, 1, 9, 0, tzinfo=ZONE)
DEPARTMENTS = {"edu": "教育局"}


def _task(deadline: date, percent: int = 0, status: str = "signed") -> task_book.State:
    return {
        "status": status,
        "deadline": deadline.isoformat(),
        "created_at": CREATED.isoformat(),
        "percent": percent,
    }


# -- light reasons: a code and figures, worded by the table --------------------------------------
def test_an_overdue_task_s_reason_is_a_code_with_its_days() -> None:
    book = _task(date(2025, 3, 20))
    colour, reason = lights.light_reason(book, datetime(2025, 3, 23, 10, tzinfo=ZONE), RULES, ZONE)
    assert colour is lights.Light.red
    assert reason == lights.Reason("overdue", (("days", 3),))


@pytest.mark.parametrize(
    ("at", "percent", "status", "english", "shown"),
    [
        (datetime(2025, 3, 21, 1, tzinfo=ZONE), 0, "signed", "overdue by 1 day", "逾期 1 天"),
        (datetime(2025, 4, 1, 1, tzinfo=ZONE), 0, "signed", "overdue by 12 days", "逾期 12 天"),
        (
            datetime(2025, 3, 20, 8, tzinfo=ZONE),
            0,
            "signed",
            "deadline in 0 days",
            "距完成时限 0 天",
        ),
        (
            datetime(2025, 3, 10, 9, tzinfo=ZONE),
            0,
            "signed",
            "progress 0% behind time elapsed by 46%",
            "进度 0%，落后时间进度 46%",
        ),
        (datetime(2025, 3, 2, 9, tzinfo=ZONE), 10, "signed", "on track", "正常"),
        (datetime(2025, 4, 2, 9, tzinfo=ZONE), 100, "closed", "closed", "已办结"),
    ],
)
def test_light_reason_reads_in_chinese_and_the_api_keeps_its_english(
    at: datetime, percent: int, status: str, english: str, shown: str
) -> None:
    book = _task(date(2025, 3, 20), percent, status)
    assert lights.light(book, at, RULES, ZONE)[1] == english  # what GET /ledger answers
    assert labels.light_reason(lights.light_reason(book, at, RULES, ZONE)[1]) == shown


def test_a_light_reason_code_the_table_lacks_shows_its_english() -> None:
    assert labels.light_reason(lights.Reason("something-new")) == "something-new"


# -- alerts: worded from their reason -------------------------------------------------------------
def _alert(**fields: Any) -> dict[str, Any]:
    return {"alert_id": "a/1", "kind": "security", "level": 0, "about": "", "actor": ""} | fields


@pytest.mark.parametrize(
    ("alert", "shown"),
    [
        pytest.param(
            _alert(
                kind="unanswered",
                reason="unanswered-60-days",
                level=60,
                about="board-0042",
                actor="edu",
                message="留言“路灯不亮”已 61 天未答复（60 天预警）",
            ),
            "留言 board-0042 已超过 60 天未答复（教育局）",
            id="unanswered-message-by-reason-and-level",
        ),
        pytest.param(
            _alert(
                reason="not-a-task-department",
                about="DC-2025-002",
                actor="edu",
                message="edu is not a department of DC-2025-002 (POST /tasks/DC-2025-002/progress)",
            ),
            "教育局 不是督办事项 DC-2025-002 的承办单位，操作被拒绝",
            id="english-alert-of-a-known-reason",
        ),
    ],
)
def test_an_alert_of_a_known_reason_is_worded_in_chinese_with_the_department_s_name(
    alert: dict[str, Any], shown: str
) -> None:
    assert labels.alert_text(alert, lambda c: DEPARTMENTS.get(c, c)) == shown


def test_an_alert_of_an_unknown_reason_shows_its_own_message() -> None:
    alert = _alert(reason="brand-new", message="某个新情况")
    assert labels.alert_text(alert, str) == "某个新情况"


def test_a_reason_with_another_number_than_the_level_is_not_taken_for_it() -> None:
    alert = _alert(reason="unanswered-30-days", level=60, message="原文")
    assert labels.alert_text(alert, str) == "原文"


@pytest.mark.parametrize(
    "reason", ["repeated-denials", "item-overdue", "check-failed", "star-term", "not-utf8"]
)
def test_every_reason_the_books_raise_has_a_text(reason: str) -> None:
    assert reason in labels.ALERT_TEXTS


@pytest.mark.parametrize("kind", ["security", "overdue", "quarantine", "connector", "unanswered"])
def test_every_alert_kind_has_a_label(kind: str) -> None:
    assert re.fullmatch(r"[\u4e00-\u9fff]+", labels.KINDS[kind])


@pytest.mark.parametrize(
    "channel", ["fax", "telegram", "emergency", "document", *(k.value for k in EntryKind)]
)
def test_every_duty_log_channel_has_a_label(channel: str) -> None:
    assert re.fullmatch(r"[\u4e00-\u9fff0-9]+", labels.CHANNELS[channel])


# -- dead letters waiting -------------------------------------------------------------------------
def _letter(position: str, reason: str, seen: datetime, **update: Any) -> DeadLetter:
    letter = DeadLetter.of(
        b"raw",
        reason=reason,
        error="the parser said no",
        source="midfield://fax-log/main",
        position=position,
        connector="fax-log",
        first_seen=seen,
    )
    return letter.model_copy(update=update)


def test_a_redriven_letter_no_longer_waits() -> None:
    first = _letter("line 1", "bad-field-count", CREATED)
    books = {first.id: waiting_letters.apply(first)}
    books[first.id] = waiting_letters.apply(first.model_copy(update={"resolved": "redriven"}))
    assert waiting_letters.waiting(books.values(), 5)["waiting"] == 0


def test_waiting_letters_are_counted_by_reason_newest_first_by_time() -> None:
    utc_later = _letter("line 2", "bad-time", (CREATED + timedelta(hours=1)).astimezone(UTC))
    earlier = _letter("line 1", "bad-field-count", CREATED)
    oldest = _letter("line 0", "bad-field-count", CREATED - timedelta(days=1))
    books = [waiting_letters.apply(x) for x in (oldest, earlier, utc_later)]
    found = waiting_letters.waiting(books, 2)
    assert found["waiting"] == 3
    assert found["by_reason"] == {"bad-field-count": 2, "bad-time": 1}
    assert [x["reason"] for x in found["latest"]] == ["bad-time", "bad-field-count"]
    assert "error" not in found["latest"][0] and "raw" not in found["latest"][0]


def test_a_record_that_is_no_dead_letter_is_not_taken_for_one() -> None:
    assert waiting_letters.parse(b'{"not": "a letter"}') is None


# -- colours from settings ------------------------------------------------------------------------
def test_yellow_threshold_below_red_is_refused() -> None:
    with pytest.raises(ValidationError):
        RepliesSettings(red_below=0.9, yellow_below=0.5)


def test_the_page_colours_rates_by_the_thresholds_it_is_given() -> None:
    """The on-time box was fixed green (0 % showed green): the class is computed now."""
    assert 'class="light green" id="on-time-box"' not in PAGE
    assert "rateColour(r.total.on_time_rate, c)" in PAGE and "c.yellow_below" in PAGE


def test_the_page_keeps_no_table_of_words_of_its_own() -> None:
    """Channels, kinds and severities come from streams/views/labels.py through /dashboard.json."""
    assert "传真" not in PAGE and "警告" not in PAGE and "d.labels" in PAGE


# -- the page stays self-contained and safe -------------------------------------------------------
def test_page_loads_nothing_from_elsewhere() -> None:
    """Offline office networks: no CDN, no external fonts or scripts."""
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", PAGE)
    assert "@import" not in PAGE and "url(" not in PAGE


def test_page_never_writes_data_as_markup() -> None:
    assert "innerHTML" not in PAGE and "insertAdjacentHTML" not in PAGE
    assert "document.write" not in PAGE
