"""The summaries that are one ranking of a book's entities (streams/books/ranked.py
``Ranking``): the alerts, the open emergencies and the dead letters waiting. After any sequence
of writes, deletions and resets, each lists and counts what a scan of every book finds, in the
order the views showed before they had a summary."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from midfield.settings import Settings
from streams.books import alerts, emergencies, waiting_letters
from streams.books.book import State
from streams.books.ranked import keys
from tests.summary_feed import feed, writes_and_resets

UTC, ZONE = ZoneInfo("UTC"), ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 3, 14, 9, 0, tzinfo=ZONE)
SETTINGS = Settings()
KEYS = [f"k{n}" for n in range(8)]


def _at(minutes: int, utc: bool) -> str:
    """A time as a book keeps it, with the offset its event carried (the same instant written
    in UTC and in +08:00 does not sort as text)."""
    when = T0 + timedelta(minutes=minutes)
    return (when.astimezone(UTC) if utc else when).isoformat()


TIMES = st.builds(_at, st.integers(0, 5), st.booleans())  # few: ties happen


def _ids(key: str) -> State:
    """The fields that carry an entity's key in the alerts', emergencies' and letters' books."""
    return {"alert_id": key, "report_id": key, "id": key}


# -- alerts --------------------------------------------------------------------------------------
def _alert(severity: str, is_open: bool, raised: str, stub: bool) -> State:
    return {"severity": severity, "open": is_open and not stub, "last_raised_at": raised,
            "raised_at": None if stub else raised, "message": "m", "applied": ["e1"]}  # fmt: skip


ALERTS = st.builds(_alert, st.sampled_from(["critical", "warning", "info", "odd"]),
                   st.booleans(), TIMES, st.booleans())  # fmt: skip


def _alerts_scanned(books: list[State], only_open: bool) -> list[str]:
    """The order the views had: open first, critical first, the last raised first (as
    instants); ties by id."""
    found = [b for b in books if b["raised_at"] and (b["open"] or not only_open)]
    found.sort(key=lambda b: b["alert_id"])
    found.sort(key=lambda b: datetime.fromisoformat(b["last_raised_at"]), reverse=True)
    severity = {"critical": 0, "warning": 1, "info": 2}
    found.sort(key=lambda b: (not b["open"], severity.get(b["severity"], 9)))
    return [b["alert_id"] for b in found]


@settings(max_examples=300, deadline=None)
@given(writes_and_resets(KEYS, ALERTS), st.integers(1, 4))
def test_the_alerts_summary_lists_the_alerts_a_scan_finds_in_order(steps: list, limit: int) -> None:
    summary = alerts.BOOK.summary(SETTINGS)  # type: ignore[misc]
    books = list(feed(summary, steps, _ids).values())
    ranked = summary.ranked
    every, still_open = _alerts_scanned(books, False), _alerts_scanned(books, True)
    assert keys(ranked.first(len(books))) == every
    assert ranked.below(alerts.OPEN_BELOW) == len(still_open)
    listed, last = ranked.page(None, limit, before=alerts.OPEN_BELOW)
    assert keys(listed) == still_open[:limit]
    assert (last is None) == (len(still_open) <= limit)
    assert [a["alert_id"] for a in alerts.open_first(books, only_open=True)] == still_open
    assert [a["alert_id"] for a in alerts.open_first(books, only_open=False)] == every
    by_severity = {s: 0 for s in ("critical", "warning", "info")} | Counter(
        b["severity"] for b in books if b["raised_at"] and b["open"] and b["severity"] != "odd"
    )  # the metric's labels: an unknown severity is counted under none
    assert alerts.open_by_severity(ranked) == by_severity


# -- emergencies ---------------------------------------------------------------------------------
def _emergency(reports: list[str], closed: bool, first: bool) -> State:
    lines = [{"sequence": n, "at": at, "name": "", "content": ""} for n, at in enumerate(reports)]
    return {"title": "内涝" if first else None, "reports": lines,
            "closed_at": lines[-1]["at"] if closed else None}  # fmt: skip


EMERGENCIES = st.builds(_emergency, st.lists(TIMES, min_size=1, max_size=3), st.booleans(),
                        st.booleans())  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(writes_and_resets(KEYS, EMERGENCIES))
def test_the_emergencies_summary_lists_the_open_ones_last_followed_up_first(steps: list) -> None:
    summary = emergencies.BOOK.summary(SETTINGS)  # type: ignore[misc]
    books = list(feed(summary, steps, _ids).values())
    found = [b for b in books if emergencies.is_open(b)]
    found.sort(key=lambda b: b["report_id"], reverse=True)  # ties: the greater id first
    found.sort(key=lambda b: datetime.fromisoformat(b["reports"][-1]["at"]), reverse=True)
    assert keys(summary.ranked.last(len(books))) == [b["report_id"] for b in found]
    assert len(summary.ranked) == len(found)


# -- dead letters ----------------------------------------------------------------------------------
def _letter(reason: str, seen: str, resolved: str | None) -> State:
    return {"reason": reason, "connector": "fax-log", "source": "midfield://fax-log/main",
            "first_seen": seen, "attempts": 1, "resolved": resolved}  # fmt: skip


LETTERS = st.builds(_letter, st.sampled_from(["bad-time", "bad-field-count", "unknown"]), TIMES,
                    st.sampled_from([None, None, "redriven", "skipped"]))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(writes_and_resets(KEYS, LETTERS), st.integers(1, 6))
def test_the_letters_summary_counts_and_lists_what_the_scan_does(steps: list, listed: int) -> None:
    summary = waiting_letters.INDEX.summary(SETTINGS)  # type: ignore[misc]
    books = feed(summary, steps, _ids)
    scanned = waiting_letters.waiting(books.values(), listed)
    found = waiting_letters.waiting_in(summary.ranked, listed)
    assert found["waiting"] == scanned["waiting"]
    assert list(found["by_reason"].items()) == list(scanned["by_reason"].items())
    latest = [{k: books[key][k] for k in ("reason", "connector", "first_seen")}
              for key in found["latest"]]  # fmt: skip
    assert latest == scanned["latest"]
    assert Counter(found["by_reason"]) == Counter(
        b["reason"] for b in books.values() if not b["resolved"]
    )
