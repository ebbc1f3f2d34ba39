"""The hotline work orders as the dashboard reads them, kept up to date as orders are written:
the open orders by due day (those at risk are the first of them), for the office and for each
unit involved, and the open orders no unit has, oldest first — so the dashboard lists and counts
them without decoding every order's book.

An order is at risk when it is due within ``hotline.at_risk_hours`` of now (or overdue); its due
time is the end of its last day (:func:`workorders.due_at`), which only a write changes, so the
orders at risk are always the first of the open orders by deadline: no moment to watch. Pure:
the worker feeds it every write of the orders' table and, after a recovery, every order it holds.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from streams.books import workorders
from streams.books.book import KeptSummary, State
from streams.books.office_time import instant
from streams.books.ranked import Entry, Ranked

__all__ = ["WorkOrderSummary"]


class WorkOrderSummary(KeptSummary):
    """See the module's docstring."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.open = Ranked(1)
        """Orders not closed, by deadline (its ordinal), then number."""
        self.by_unit: dict[str, Ranked] = {}
        """Unit -> the open orders it leads or was dispatched (``workorders.involves``)."""
        self.unassigned = Ranked(1)
        """Open orders no unit has, by acceptance (its instant), then number."""
        self._units: dict[str, tuple[str, ...]] = {}
        """Order -> the units it is under in :attr:`by_unit`."""

    def put(self, key: str, book: State | None) -> None:
        """The orders' entity ``key`` is now ``book`` (``None``: gone; a stub: no order)."""
        for unit in self._units.pop(key, ()):
            self._unit(unit).put(key, None)
            if not len(self.by_unit[unit]):
                del self.by_unit[unit]
        if not workorders.is_order(book) or book["status"] == "closed":
            self.open.put(key, None)
            self.unassigned.put(key, None)
            return
        rank = (date.fromisoformat(book["deadline"]).toordinal(),)
        self.open.put(key, rank)
        units = tuple({*book["units"][:1], *book["dispatched_at"]})
        for unit in units:
            self._unit(unit).put(key, rank)
        if units:
            self._units[key] = units
        alone = (instant(book["accepted_at"]),) if not book["units"] else None
        self.unassigned.put(key, alone)

    def forget(self) -> None:
        self.__init__(self.zone)  # type: ignore[misc]

    def at_risk(self, until: datetime, unit: str | None, listed: int) -> tuple[int, list[str]]:
        """How many open orders (of ``unit``: those involving it) are due by ``until``, and the
        ``listed`` due first (then by number)."""
        orders = self.open if unit is None else self.by_unit.get(unit, Ranked(1))
        count = orders.below(until, key=self._due)
        return count, [entry[-1] for entry in orders.first(min(count, listed))]

    def _due(self, entry: Entry) -> datetime:
        return workorders.due_at({"deadline": date.fromordinal(entry[0]).isoformat()}, self.zone)

    def _unit(self, unit: str) -> Ranked:
        return self.by_unit.setdefault(unit, Ranked(1))
