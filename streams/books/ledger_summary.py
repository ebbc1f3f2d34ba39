"""The supervision ledger as its views read it, kept up to date as tasks are written: which task
has which light, status and departments, so ``/ledger`` and the dashboard answer without
decoding every task's book (~18 µs each: 2 s at 100k tasks, on the loop that applies events).

A task's light depends on the time (streams/books/lights.py), so the summary keeps the moment
each task's light may next change (:func:`lights.changes_after`) and relights, at a read, only
the tasks written since the last read or whose moment has come. Pure: the worker feeds it every
write of the ledger's table and, after a recovery, every task it holds
(streams/worker/table.py); the views pass ``now``.

It is held for every task the worker holds, so it is kept small (bench/memory.py: ~300 bytes
a task, where the books themselves are ~800 packed): a task is one :data:`Row` of shared
strings and two numbers, its light is which of three sets holds it, and a heap entry is
``(moment, key)``, the row naming the moment it is for.
"""

from __future__ import annotations

import heapq
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from midfield.settings import SupervisionSettings
from streams.books import lights, task_book
from streams.books.book import Held, KeptSummary, State
from streams.books.lights import Light
from streams.books.ranked import Ranked
from streams.books.task_state import TaskState

__all__ = ["LedgerSummary", "Row"]

_KEY: Final = 0
_STATUS: Final = 1
_DEPARTMENTS: Final = 2
_DEADLINE: Final = 3
_CREATED: Final = 4
_PERCENT: Final = 5
_MOMENT: Final = 6
"""Where a :data:`Row` holds each field."""

Row = tuple[str, str, tuple[str, ...], str, int, int, int | None]
"""What the summary keeps of a task: the key (the very object its dict holds, so a write under
an equal new string adds no copy), status, departments, deadline (``YYYY-MM-DD``), creation (µs
since the epoch), percent done, and the moment (µs) its light was last computed to change, which
its heap entry must name to count (``None``: unlit, or never changes). Strings are shared: the
status, department codes and deadline through ``sys.intern``, the departments' tuple through a
cache. A plain tuple of strings and numbers: the garbage collector stops tracking those, where a
dataclass or a named tuple per task is walked by every full collection (100k tasks: 85-95 ms
each, a stall on the loop that applies events)."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // _US


class LedgerSummary(KeptSummary):
    """Tasks by light, status and department; see the module's docstring."""

    def __init__(self, rules: SupervisionSettings, zone: ZoneInfo) -> None:
        self.rules, self.zone = rules, zone
        self.rows: Held[str, Row] = Held()
        self._by_light: dict[Light, set[str]] = {c: set() for c in Light}
        self._by_status: dict[str, set[str]] = {}
        self._by_department: dict[str, set[str]] = {}
        self._nearest = {Light.red: Ranked(1), Light.yellow: Ranked(1)}
        """The red and the yellow tasks by deadline (its ordinal), then id: what the dashboard
        lists, without sorting every red task at each request."""
        self._teams: dict[tuple[str, ...], tuple[str, ...]] = {}
        """Each departments' tuple once: tasks of the same departments share it."""
        self._unlit: set[str] = set()
        self._all_unlit = False
        """Relight every task at the next read: after a recovery or when the clock went back."""
        self._moments: list[tuple[int, str]] = []
        """(moment in µs, task): a heap; an entry whose row names another moment is stale."""
        self._lit_at: datetime | None = None
        self._reminded: dict[str, int] = {}
        """Task -> when it was last reminded (µs), for the tasks reminded: the reminder timer
        reads none reminded within its window (streams/books/ledger.py)."""

    # -- writes ------------------------------------------------------------------------------
    def put(self, key: str, book: State | None) -> None:
        """The ledger's entity ``key`` is now ``book`` (``None``: gone, or a stub)."""
        old = self.rows.get(key)
        if old is not None:
            key = old[_KEY]
        if not task_book.is_task(book):
            if old is not None:
                self._forget(old)
            return
        reminded = book.get("last_reminded_at")
        if reminded:
            self._reminded[key] = _us(datetime.fromisoformat(reminded))
        else:
            self._reminded.pop(key, None)
        row = self._row(key, book)
        if old is None:
            self._by_status.setdefault(row[_STATUS], set()).add(key)
            for d in row[_DEPARTMENTS]:
                self._by_department.setdefault(d, set()).add(key)
        else:
            self._move(key, old, row)
        self.rows[key] = row  # keeps its light set until relit (call at() before reading)
        if not self._all_unlit:  # kept even for most of the tasks (~40 bytes each, until
            self._unlit.add(key)  # the next read): relighting all held the loop 0.8–1.4 s

    def forget(self) -> None:
        self.__init__(self.rules, self.zone)  # type: ignore[misc]
        self._all_unlit = True

    def _row(self, key: str, book: TaskState) -> Row:
        team = tuple(sys.intern(d) for d in task_book.departments_of(book))
        created = _us(datetime.fromisoformat(book["created_at"]))
        return (key, sys.intern(book["status"]), self._teams.setdefault(team, team),
                sys.intern(book["deadline"]), created, book["percent"], None)  # fmt: skip

    def _move(self, key: str, old: Row, row: Row) -> None:
        if old[_STATUS] != row[_STATUS]:
            self._by_status[old[_STATUS]].discard(key)
            self._by_status.setdefault(row[_STATUS], set()).add(key)
        if old[_DEPARTMENTS] is not row[_DEPARTMENTS]:
            for d in old[_DEPARTMENTS]:
                self._by_department[d].discard(key)
            for d in row[_DEPARTMENTS]:
                self._by_department.setdefault(d, set()).add(key)

    def _forget(self, row: Row) -> None:
        key = row[_KEY]
        del self.rows[key]
        self._by_status[row[_STATUS]].discard(key)
        for d in row[_DEPARTMENTS]:
            self._by_department[d].discard(key)
        for members in self._by_light.values():
            members.discard(key)
        for listed in self._nearest.values():
            listed.put(key, None)
        self._unlit.discard(key)
        self._reminded.pop(key, None)

    # -- reads -------------------------------------------------------------------------------
    def at(self, now: datetime) -> LedgerSummary:
        """The summary with every light as it is at ``now``."""
        self._prepare(now)
        for key in self._come(now):
            self._relight(key, now)
        self._unlit, self._lit_at = set(), now
        if len(self._moments) > 2 * len(self.rows) + 64:  # mostly stale: tasks written since
            self._moments = [
                (r[_MOMENT], k) for k, r in self.rows.items() if r[_MOMENT] is not None
            ]
            heapq.heapify(self._moments)
        return self

    def settle(self, now: datetime, most: int) -> int:
        """Relight at most ``most`` of the tasks waiting to be lit, as :meth:`at` would at
        ``now``; how many still wait. After a recovery every task waits, and so does every task
        written or whose moment has come since the last read: the worker lights them a step at
        a time with the event loop running between (streams/worker/table.py), after a recovery
        and before a timer reads the lights, where one read would have lit them all at once
        (~2 s for 100k tasks; the reminder timer held the loop 860 ms while 100k were loaded)."""
        self._prepare(now)
        self._come(now)
        for _ in range(min(most, len(self._unlit))):
            self._relight(self._unlit.pop(), now)
        self._lit_at = now
        return len(self._unlit)

    def _prepare(self, now: datetime) -> None:
        """Every task waits to be lit if the clock went back, or after a recovery."""
        if self._lit_at is not None and now < self._lit_at:  # the clock went back: all again
            self._all_unlit = True
        if self._all_unlit:
            self._moments.clear()
            self._unlit, self._all_unlit = set(self.rows), False

    def _come(self, now: datetime) -> set[str]:
        """The tasks written since the last read, and those whose moment has come."""
        when = _us(now)
        while self._moments and self._moments[0][0] <= when:
            moment, key = heapq.heappop(self._moments)
            row = self.rows.get(key)
            if row is not None and row[_MOMENT] is moment:
                self._unlit.add(key)
        return self._unlit

    def to_remind(self, now: datetime, window: timedelta) -> list[str]:
        """The tasks yellow or red at ``now`` and not reminded within ``window`` before it, in
        order: the only ones a reminder may be due for. At 10k such tasks, the timer decoded
        every one of them every minute (~0.6 s of the loop in 12–25 ms steps: bench/views.py's
        slowest answers) though each had been reminded that day."""
        self.at(now)
        since, reminded = _us(now - window), self._reminded
        lit = self._by_light[Light.red] | self._by_light[Light.yellow]
        return sorted(k for k in lit if reminded.get(k, since) <= since)

    def light(self, key: str) -> Light:
        for colour, members in self._by_light.items():
            if key in members:
                return colour
        raise KeyError(key)

    def deadline(self, key: str) -> str:
        return self.rows[key][_DEADLINE]

    def select(
        self,
        *,
        light: Light | None = None,
        status: str | None = None,
        department: str | None = None,
    ) -> set[str]:
        """The tasks passing every filter given (call :meth:`at` first)."""
        sets = [
            s
            for s in (
                self._by_light[light] if light else None,
                self._by_status.get(status, set()) if status else None,
                self._by_department.get(department, set()) if department else None,
            )
            if s is not None
        ]
        if not sets:
            return set(self.rows)
        sets.sort(key=len)
        return sets[0].intersection(*sets[1:])

    def counts(self, keys: set[str] | None = None) -> dict[str, int]:
        """Tasks of ``keys`` (``None``: every task) per light, every light named (set
        intersections: no Python loop over 100k tasks; none at all for every task)."""
        if keys is None or len(keys) == len(self.rows):  # keys are tasks of the summary
            return {c.value: len(self._by_light[c]) for c in Light}
        return {c.value: len(self._by_light[c] & keys) for c in Light}

    def nearest(self, light: Light, listed: int) -> list[str]:
        """The ``listed`` red or yellow tasks nearest their deadline (then by id; call
        :meth:`at` first)."""
        return [entry[-1] for entry in self._nearest[light].first(listed)]

    def _relight(self, key: str, now: datetime) -> None:
        row = self.rows[key]
        timing = lights.Timing(row[_STATUS], date.fromisoformat(row[_DEADLINE]),
                               _EPOCH + row[_CREATED] * _US, row[_PERCENT])  # fmt: skip
        colour = lights.light_reason(timing, now, self.rules, self.zone)[0]
        if key not in self._by_light[colour]:
            for members in self._by_light.values():
                members.discard(key)
            self._by_light[colour].add(key)
        for shade, listed in self._nearest.items():  # a write may have moved the deadline
            listed.put(key, (timing.deadline.toordinal(),) if shade is colour else None)
        change = lights.changes_after(timing, now, self.rules, self.zone)
        moment = None if change is None else _us(change)
        self.rows[key] = (*row[:_MOMENT], moment)
        if moment is not None:
            heapq.heappush(self._moments, (moment, key))
