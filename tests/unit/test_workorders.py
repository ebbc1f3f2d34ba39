"""Hotline work orders: the lifecycle, and each unit's figures on hand-computed cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from midfield.settings import HotlineSettings
from schemas.envelope import Envelope
from schemas.events.workorder import Satisfaction, WorkOrderStepped
from streams.books import workorders
from streams.books.period import Period
from tests.samples import nth_event

ZONE = ZoneInfo("Asia/Shanghai")
RULES = HotlineSettings(sign_for_hours=2, close_days={"help": 5, "consultation": 1, "other": 5})
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=ZONE)
NOW = datetime(2025, 4, 30, tzinfo=ZONE)


def _step(number: str, step: str, hours: float, n: int, **fields: object) -> Envelope:
    event = WorkOrderStepped(order_number=number, step=step, **fields)  # type: ignore[arg-type]
    return nth_event(
        event, number, n, T0 + timedelta(hours=hours), source="midfield://hotline/test"
    )


def _order(number: str, *steps: tuple[str, float, dict]) -> list[Envelope]:
    return [
        _step(number, step, hours, n, **fields) for n, (step, hours, fields) in enumerate(steps)
    ]


def _fold(envelopes: list[Envelope]) -> dict[str, dict]:
    books: dict[str, dict] = {}
    for envelope in envelopes:
        out = workorders.apply(books.get(envelope.subject), envelope, RULES, ZONE)
        if isinstance(out, workorders.Refused):
            books[envelope.subject] = out.book
        elif out is not None:
            books[envelope.subject] = out
    return books


WATER = {"units": ("water", "housing")}
HAPPY = {"satisfaction": Satisfaction.satisfied}
CROSS = {"satisfaction": Satisfaction.dissatisfied}

BOOKS = _fold([
    # o1: signed in 1 h, replied day 2, callback satisfied, closed day 3: all on time
    *_order("o1", ("accepted", 0, {"category": "help"}), ("dispatched", 0, WATER),
            ("signed", 1, {"unit": "water"}), ("replied", 48, {"unit": "water"}),
            ("callback", 50, HAPPY), ("closed", 72, {})),
    # o2: signed after 3 h (late), replied, callback dissatisfied, reopened, closed day 10 (late)
    *_order("o2", ("accepted", 0, {"category": "help"}), ("dispatched", 0, WATER),
            ("signed", 3, {"unit": "water"}), ("replied", 24, {"unit": "water"}),
            ("callback", 30, CROSS), ("reopened", 31, {}), ("replied", 200, {"unit": "water"}),
            ("closed", 240, {})),
    # o3: never signed (past the limit), never closed, past its deadline
    *_order("o3", ("accepted", 0, {"category": "help"}), ("dispatched", 0, {"units": ("water",)})),
    # o4: a consultation led by housing, replied, no callback yet
    *_order("o4", ("accepted", 0, {"category": "consultation"}),
            ("dispatched", 0, {"units": ("housing",)}),
            ("signed", 0.5, {"unit": "housing"}), ("replied", 5, {"unit": "housing"})),
])  # fmt: skip


def _figures(unit: str | None, period: str = "2025-03") -> dict:
    return workorders.figures(
        list(BOOKS.values()), Period.parse(period, ZONE), unit=unit, now=NOW, rules=RULES, zone=ZONE
    )


def _r(numerator: int, denominator: int) -> dict:
    rate = None if denominator == 0 else round(numerator / denominator, 4)
    return {"numerator": numerator, "denominator": denominator, "rate": rate}


def test_on_time_sign_for_counts_each_dispatch_to_the_unit() -> None:
    assert _figures("water")["on_time_sign_for"] == _r(1, 3)  # o1 on time; o2 late; o3 never
    assert _figures("housing")["on_time_sign_for"] == _r(1, 3)  # o4 on time; o1, o2 never


def test_on_time_close_over_the_orders_due() -> None:
    assert _figures("water")["on_time_close"] == _r(1, 3)  # o1 on time; o2 late; o3 overdue


def test_callback_satisfaction_and_reopen_rates() -> None:
    water = _figures("water")
    assert water["callback"] == _r(2, 2)
    assert water["satisfaction"] == _r(1, 2)
    assert water["reopen"] == _r(1, 2)
    assert _figures("housing")["callback"] == _r(0, 1)


def test_an_empty_period_has_no_rates() -> None:
    empty = _figures("water", "2025-02")
    assert empty["orders"] == 0
    assert all(
        empty[k]["rate"] is None
        for k in ("on_time_sign_for", "on_time_close", "callback", "satisfaction", "reopen")
    )


def test_an_order_within_its_sign_for_limit_is_not_yet_counted() -> None:
    books = _fold(_order("o9", ("accepted", 0, {}), ("dispatched", 0, {"units": ("water",)})))
    fresh = workorders.figures(
        list(books.values()),
        Period.parse("2025-03", ZONE),
        unit="water",
        now=T0 + timedelta(hours=1),
        rules=RULES,
        zone=ZONE,
    )
    assert fresh["on_time_sign_for"] == _r(0, 0)


def test_a_returned_order_is_re_dispatched_to_another_unit() -> None:
    books = _fold(
        _order(
            "o5",
            ("accepted", 0, {}),
            ("dispatched", 0, {"units": ("water",)}),
            ("returned", 1, {"unit": "water", "note": "非本单位职责"}),
            ("dispatched", 2, {"units": ("housing",)}),
            ("signed", 3, {"unit": "housing"}),
        )
    )
    book = books["o5"]
    assert (book["status"], book["units"], book["returns"]) == ("signed", ["housing"], 1)


def test_an_approved_extension_moves_the_deadline() -> None:
    books = _fold(
        _order(
            "o6",
            ("accepted", 0, {"category": "help"}),
            ("extension_requested", 1, {"unit": "water"}),
            ("extension_approved", 2, {"deadline": "2025-03-20"}),
        )
    )
    assert (books["o6"]["deadline"], books["o6"]["extension_days"]) == ("2025-03-20", 12)


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ([("signed", 0, {"unit": "water"})], "unknown-order"),
        ([("accepted", 0, {}), ("closed", 1, {})], "illegal-step"),
        (
            [("accepted", 0, {}), ("dispatched", 0, {"units": ("water",)}), ("callback", 1, HAPPY)],
            "illegal-step",
        ),
    ],
)
def test_a_step_out_of_order_is_refused_and_remembered(steps: list, reason: str) -> None:
    envelopes = _order("o7", *steps)
    book = None
    for envelope in envelopes[:-1]:
        book = workorders.apply(book, envelope, RULES, ZONE)
    out = workorders.apply(book, envelopes[-1], RULES, ZONE)  # type: ignore[arg-type]
    assert isinstance(out, workorders.Refused) and out.error.reason == reason
    assert workorders.apply(out.book, envelopes[-1], RULES, ZONE) is None


def test_redelivery_changes_nothing() -> None:
    envelopes = _order("o8", ("accepted", 0, {}), ("dispatched", 0, {"units": ("water",)}))
    once = _fold(envelopes)
    twice = _fold([*envelopes, *envelopes, envelopes[0]])
    assert once == twice
