"""The work orders' summary (streams/books/workorder_summary.py): after any sequence of writes,
deletions and resets, the orders at risk (for the office and for each unit) and the open orders
no unit has are those a scan of every order's book finds, in the dashboard's order."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.books import workorders
from streams.books.book import State
from streams.books.workorder_summary import WorkOrderSummary
from tests.summary_feed import feed, writes_and_resets

UTC, ZONE = ZoneInfo("UTC"), ZoneInfo("Asia/Shanghai")
DAY = date(2025, 6, 10)
WINDOW = timedelta(hours=24)
NUMBERS = [f"GD{n:02d}" for n in range(8)]
UNITS = ["edu", "env", "traffic"]
NOWS = [datetime(2025, 6, d, h, tzinfo=ZONE) for d in (8, 9, 10, 11, 13) for h in (0, 12, 23)]


def _order(status: str | None, days: int, units: list[str], returned: list[str],
           hours: int, utc: bool) -> State:  # fmt: skip
    """An order due ``days`` after :data:`DAY`, dispatched to ``units`` then ``returned`` from
    some; ``None``: a stub (only refused steps)."""
    if status is None:
        return {"status": None, "history": [], "applied": [], "refused": []}
    accepted = datetime(2025, 6, 1, tzinfo=ZONE) + timedelta(hours=hours)
    dispatched = {u: accepted.isoformat() for u in units}
    return {
        "status": status,
        "category": "other",
        "deadline": (DAY + timedelta(days=days)).isoformat(),
        "accepted_at": (accepted.astimezone(UTC) if utc else accepted).isoformat(),
        "units": [u for u in units if u not in returned],
        "dispatched_at": dispatched,
        "history": [{"step": "accepted", "note": "路灯不亮"}],
    }


ORDERS = st.builds(
    _order,
    st.sampled_from([None, "accepted", "dispatched", "signed", "replied", "closed", "reopened"]),
    st.integers(-3, 3),
    st.lists(st.sampled_from(UNITS), unique=True, max_size=2),
    st.lists(st.sampled_from(UNITS), max_size=1),
    st.integers(0, 3),
    st.booleans(),
)
STEPS = writes_and_resets(NUMBERS, ORDERS)


def _fed(steps: list) -> tuple[WorkOrderSummary, dict[str, State]]:
    summary = WorkOrderSummary(ZONE)
    return summary, feed(summary, steps, lambda number: {"order_number": number})


def _at_risk_scanned(books: list[State], now: datetime, unit: str | None) -> list[str]:
    """What the dashboard listed before the summary: every open order involving ``unit`` due
    within the window, by hours left (rounded as shown), then number."""
    rows = []
    for book in books:
        if not workorders.is_order(book) or book["status"] == "closed":
            continue
        if unit is not None and not workorders.involves(book, unit):
            continue
        due = workorders.due_at(book, ZONE)
        if due - now <= WINDOW:
            rows.append((round((due - now).total_seconds() / 3600, 1), book["order_number"]))
    return [number for _, number in sorted(rows)]


@settings(max_examples=300, deadline=None)
@given(STEPS, st.sampled_from(NOWS), st.integers(1, 5))
def test_the_orders_at_risk_are_those_a_scan_finds(steps: list, now: datetime, listed: int) -> None:
    summary, stored = _fed(steps)
    for unit in (None, *UNITS):
        expected = _at_risk_scanned(list(stored.values()), now, unit)
        assert summary.at_risk(now + WINDOW, unit, listed) == (len(expected), expected[:listed])


@settings(max_examples=300, deadline=None)
@given(STEPS)
def test_the_open_orders_no_unit_has_are_those_a_scan_finds_oldest_first(steps: list) -> None:
    summary, stored = _fed(steps)
    expected = sorted(
        (b for b in stored.values()
         if workorders.is_order(b) and b["status"] != "closed" and not b["units"]),
        key=lambda b: (datetime.fromisoformat(b["accepted_at"]), b["order_number"]),
    )  # fmt: skip
    found = summary.unassigned.first(len(stored))
    assert [entry[-1] for entry in found] == [b["order_number"] for b in expected]
    assert len(summary.unassigned) == len(expected)
