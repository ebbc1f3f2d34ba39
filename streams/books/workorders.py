"""Hotline work orders (12345): one book per order, and the units' figures. Pure logic.

A book follows the lifecycle of :mod:`schemas.events.workorder`: a step the lifecycle refuses
is dead-lettered by the caller and remembered (a replay refuses it again); an id seen before
changes nothing. The figures (docs/metrics.md) are computed from the books for any unit and
period, each a numerator, a denominator and their ratio (``None`` when nothing was due).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from typing_extensions import TypedDict

from midfield.settings import HotlineSettings, Settings
from schemas.envelope import Envelope
from schemas.events.workorder import (
    Satisfaction,
    WorkOrderStatus,
    WorkOrderStep,
    WorkOrderStepped,
    WrongStep,
    next_status,
)
from streams.books import office_time
from streams.books.book import Book, Context, Decision, Refusal, State, reading, seen
from streams.books.period import Period

__all__ = ["BOOK", "Refused", "WorkOrderState", "WorkOrderStub", "apply", "decide", "due_at",
           "figures", "involves", "is_order"]  # fmt: skip

T = WorkOrderStep


class WorkOrderHistoryLine(TypedDict, closed=True):
    id: str
    step: str
    unit: str
    at: str
    note: str


class Callback(TypedDict, closed=True):
    satisfaction: str
    """:class:`~schemas.events.workorder.Satisfaction`'s value."""
    at: str


class WorkOrderState(TypedDict, closed=True):
    """An accepted order (times ISO 8601 text, days ``YYYY-MM-DD``)."""

    order_number: str
    category: str
    """:class:`~schemas.events.workorder.WorkOrderCategory`'s value (``other`` if none)."""
    status: str
    """:class:`~schemas.events.workorder.WorkOrderStatus`'s value."""
    accepted_at: str
    deadline: str
    """The last day on time: acceptance day + the category's days, as extended."""
    units: list[str]
    """The units it is dispatched to, the lead first (a returning unit leaves)."""
    dispatched_at: dict[str, str]
    """Unit -> when it was (last) dispatched to it."""
    signed_at: dict[str, str]
    """Unit -> when it first signed for it."""
    returns: int
    replied_at: str | None
    """The first reply."""
    closed_at: str | None
    callback: Callback | None
    reopened: int
    extension_days: int
    history: list[WorkOrderHistoryLine]
    applied: list[str]
    refused: list[str]
    """Event ids the lifecycle refused (a re-delivery is refused again)."""


class WorkOrderStub(TypedDict, closed=True):
    """Not accepted yet: only the steps refused for its number, remembered."""

    order_number: str
    status: None
    history: list[WorkOrderHistoryLine]
    """Always empty."""
    applied: list[str]
    refused: list[str]


@dataclass(frozen=True)
class Refused:
    book: State
    error: WrongStep


def apply(book: State | None, envelope: Envelope, rules: HotlineSettings,
          zone: ZoneInfo) -> State | Refused | None:  # fmt: skip
    """The order after ``envelope``: its book, a :class:`Refused`, or ``None`` if seen before."""
    if seen(book, envelope):
        return None
    event = envelope.data
    if not isinstance(event, WorkOrderStepped):
        raise TypeError(f"the work orders do not take {envelope.type}")
    try:
        status = WorkOrderStatus(book["status"]) if book and is_order(book) else None
        after = next_status(status, event.step)
    except WrongStep as error:
        kept = dict(book) if book else _stub(event.order_number)
        kept["refused"] = [*kept["refused"], envelope.id]
        return Refused(kept, error)
    new = _new(event, envelope.time, rules, zone, book) if status is None else _copy(book)
    _step(new, event, envelope.time)
    new["status"] = after.value
    new["history"].append({"id": envelope.id, "step": event.step.value, "unit": event.unit,
                           "at": envelope.time.isoformat(), "note": event.note})  # fmt: skip
    new["applied"].append(envelope.id)
    return new


def is_order(book: State | None) -> TypeGuard[State]:
    return bool(book and book.get("status"))


def involves(book: State, unit: str) -> bool:
    """Whether ``unit`` leads the order or was dispatched it (what a department may see)."""
    return _lead(book) == unit or unit in book["dispatched_at"]


def _stub(number: str) -> State:
    return {"order_number": number, "status": None, "history": [], "applied": [], "refused": []}


def _copy(book: State | None) -> State:
    assert book is not None
    return {k: (type(v)(v) if isinstance(v, list | dict) else v) for k, v in book.items()}


def _new(event: WorkOrderStepped, at: datetime, rules: HotlineSettings, zone: ZoneInfo,
         stub: State | None) -> State:  # fmt: skip
    category = event.category.value if event.category else "other"
    days = rules.close_days.get(category, rules.close_days.get("other", 5))
    return {
        "order_number": event.order_number, "category": category, "status": None,
        "accepted_at": at.isoformat(),
        "deadline": (at.astimezone(zone).date() + timedelta(days=days)).isoformat(),
        "units": [], "dispatched_at": {}, "signed_at": {}, "returns": 0,
        "replied_at": None, "closed_at": None, "callback": None, "reopened": 0,
        "extension_days": 0, "history": [], "applied": [],
        "refused": list(stub["refused"]) if stub else [],
    }  # fmt: skip


def _step(book: State, event: WorkOrderStepped, at: datetime) -> None:
    when = at.isoformat()
    match event.step:
        case T.dispatched:
            book["units"] = list(dict.fromkeys([*event.units, *book["units"]]))
            for unit in event.units:
                book["dispatched_at"][unit] = when
        case T.returned:
            book["returns"] += 1
            book["units"] = [u for u in book["units"] if u != event.unit]
        case T.signed:
            book["signed_at"].setdefault(event.unit or _lead(book), when)
        case T.replied:
            book["replied_at"] = book["replied_at"] or when
        case T.callback:
            assert event.satisfaction is not None
            book["callback"] = {"satisfaction": event.satisfaction.value, "at": when}
        case T.closed:
            book["closed_at"] = when
        case T.reopened:
            book["reopened"] += 1
            book["closed_at"] = None
        case T.extension_approved:
            assert event.deadline is not None
            before = date.fromisoformat(book["deadline"])
            book["extension_days"] += max((event.deadline - before).days, 0)
            book["deadline"] = event.deadline.isoformat()


def _lead(book: State) -> str:
    return book["units"][0] if book["units"] else ""


def due_at(book: State, zone: ZoneInfo) -> datetime:
    """The end of the order's last day, office time."""
    return datetime.combine(date.fromisoformat(book["deadline"]) + timedelta(days=1), time(0), zone)


# -- figures -----------------------------------------------------------------------------------
def figures(books: list[State], period: Period, *, unit: str | None, now: datetime,
            rules: HotlineSettings, zone: ZoneInfo) -> dict[str, Any]:  # fmt: skip
    """The five rates of ``unit`` (``None``: all units) for orders of ``period``."""
    orders = [b for b in books if is_order(b) and period.holds(_t(b["accepted_at"]))
              and (unit is None or involves(b, unit))]  # fmt: skip
    led = [b for b in orders if unit is None or _lead(b) == unit]
    replied = [b for b in led if b["replied_at"]]
    callbacks = [b["callback"] for b in replied if b["callback"]]
    due = [b for b in led if b["closed_at"] or now >= due_at(b, zone)]
    return {
        "orders": len(led),
        "on_time_sign_for": _sign_for(orders, unit, now, rules),
        "on_time_close": _rate(sum(bool(b["closed_at"]) and _t(b["closed_at"]) < due_at(b, zone)
                                   for b in due), len(due)),
        "callback": _rate(len(callbacks), len(replied)),
        "satisfaction": _rate(sum(c["satisfaction"] != Satisfaction.dissatisfied
                                  for c in callbacks), len(callbacks)),
        "reopen": _rate(sum(b["reopened"] > 0 for b in replied), len(replied)),
    }  # fmt: skip


def _sign_for(orders: list[State], unit: str | None, now: datetime,
              rules: HotlineSettings) -> dict[str, Any]:  # fmt: skip
    """Dispatches to ``unit`` signed within the limit ÷ dispatches signed or past the limit."""
    limit = timedelta(hours=rules.sign_for_hours)
    on_time = counted = 0
    for book in orders:
        for who, sent in book["dispatched_at"].items():
            if unit is not None and who != unit:
                continue
            signed = book["signed_at"].get(who)
            if signed is None and now - _t(sent) < limit:
                continue  # still within the limit: not yet due
            counted += 1
            on_time += signed is not None and _t(signed) - _t(sent) <= limit
    return _rate(on_time, counted)


def _rate(numerator: int, denominator: int) -> dict[str, Any]:
    rate = None if denominator == 0 else round(numerator / denominator, 4)
    return {"numerator": numerator, "denominator": denominator, "rate": rate}


def _t(text: str) -> datetime:
    return office_time.parse(text)


def decide(book: State | None, envelope: Envelope, context: Context) -> Decision:
    rules, zone = context.settings.hotline, context.settings.office.zone
    out = apply(book, envelope, rules, zone)
    if isinstance(out, Refused):
        return Decision(out.book, [Refusal(out.error.reason, str(out.error), "work-orders")])
    return Decision(out)


def _show(book: State, now: datetime, settings: Settings) -> dict[str, Any]:
    return {"due_at": due_at(book, settings.office.zone).isoformat()} if is_order(book) else {}


def _summary(settings: Settings) -> Any:
    """The dashboard's summary (imported here: it reads this module's ``is_order``)."""
    from streams.books.workorder_summary import WorkOrderSummary

    return WorkOrderSummary(settings.office.zone)


BOOK = Book(
    name="work_orders",
    reads=reading(WorkOrderStepped),
    apply=decide,
    connector="work-orders",
    state=WorkOrderState | WorkOrderStub,
    show=_show,
    summary=_summary,
)
