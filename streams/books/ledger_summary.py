"""The supervision ledger as its views read it, kept up to date as tasks are written: which task
has which light, status and departments, so ``/ledger`` and the dashboard answer without
decoding every task's book (~18 µs each: 2 s at 100k tasks, on the loop that applies events).

A task's light depends on the time (streams/books/lights.py), so the summary keeps each task's
light with the moment it may next change (:func:`lights.changes_after`) and relights, at a read,
only the tasks written since the last read or whose moment has come. Pure: the worker feeds it
every write of the ledger's table and, after a recovery, every task it holds
(streams/worker/table.py); the views pass ``now``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from midfield.settings import SupervisionSettings
from streams.books import lights, task_book
from streams.books.book import State
from streams.books.lights import Light
from streams.books.ranked import Ranked
from streams.books.task_state import TaskState

__all__ = ["LedgerSummary", "Row"]

_STATUS: Final = 1
_DEPARTMENTS: Final = 2
_DEADLINE: Final = 3
"""Where a :data:`Row` holds what the summary indexes."""


Row = tuple[str, str, tuple[str, ...], str, str, int]
"""What the summary keeps of a task: its id, status, departments, deadline, creation and percent
done — what its light and the views' filters need. A plain tuple of strings and numbers: the
garbage collector stops tracking those, where a dataclass or a named tuple per task is walked by
every full collection (100k tasks: 85-95 ms each, a stall on the loop that applies events)."""


def _row(book: TaskState) -> Row:
    return (book["task_id"], book["status"], tuple(task_book.departments_of(book)),
            book["deadline"], book["created_at"], book["percent"])  # fmt: skip


def _as_book(row: Row) -> TaskState:
    """The fields :func:`lights.light_reason` reads, as a book."""
    task_id, status, _, deadline, created_at, percent = row
    return {"task_id": task_id, "status": status, "deadline": deadline,  # type: ignore[typeddict-item]
            "created_at": created_at, "percent": percent}  # fmt: skip


class LedgerSummary:
    """Tasks by light, status and department; see the module's docstring."""

    def __init__(self, rules: SupervisionSettings, zone: ZoneInfo) -> None:
        self.rules, self.zone = rules, zone
        self.rows: dict[str, Row] = {}
        self._light: dict[str, Light] = {}
        self._by_light: dict[Light, set[str]] = {c: set() for c in Light}
        self._by_status: dict[str, set[str]] = {}
        self._by_department: dict[str, set[str]] = {}
        self._nearest = {Light.red: Ranked(1), Light.yellow: Ranked(1)}
        """The red and the yellow tasks by deadline (its ordinal), then id: what the dashboard
        lists, without sorting every red task at each request."""
        self._unlit: set[str] = set()
        self._moments: list[tuple[datetime, int, str, Row]] = []
        """(when, n, task, the row it was computed for): a heap; stale entries are skipped."""
        self._pushed = 0
        self._lit_at: datetime | None = None

    # -- writes ------------------------------------------------------------------------------
    def put(self, key: str, book: State | None) -> None:
        """The ledger's entity ``key`` is now ``book`` (``None``: gone, or a stub)."""
        old = self.rows.pop(key, None)
        if old is not None:
            self._by_status[old[_STATUS]].discard(key)
            for d in old[_DEPARTMENTS]:
                self._by_department[d].discard(key)
            if key in self._light:
                self._unlist(key, self._light.pop(key))
        self._unlit.discard(key)
        if not task_book.is_task(book):
            return
        row = _row(book)
        self.rows[key] = row
        self._by_status.setdefault(row[_STATUS], set()).add(key)
        for d in row[_DEPARTMENTS]:
            self._by_department.setdefault(d, set()).add(key)
        self._unlit.add(key)

    def reset(self, books: Iterable[tuple[str, State]]) -> None:
        """Forget everything, then take ``books`` (a table's entities after a recovery)."""
        self.__init__(self.rules, self.zone)  # type: ignore[misc]
        for key, book in books:
            self.put(key, book)

    # -- reads -------------------------------------------------------------------------------
    def at(self, now: datetime) -> LedgerSummary:
        """The summary with every light as it is at ``now``."""
        if self._lit_at is not None and now < self._lit_at:  # the clock went back: all again
            self._unlit.update(self.rows)
            self._moments.clear()
        while self._moments and self._moments[0][0] <= now:
            _, _, key, row = heapq.heappop(self._moments)
            if self.rows.get(key) is row:
                self._unlit.add(key)
        for key in self._unlit:
            self._relight(key, now)
        self._unlit.clear()
        self._lit_at = now
        return self

    def light(self, key: str) -> Light:
        return self._light[key]

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
        book = _as_book(row)
        colour = lights.light_reason(book, now, self.rules, self.zone)[0]
        previous = self._light.get(key)
        if previous is not colour:
            if previous is not None:
                self._unlist(key, previous)
            self._by_light[colour].add(key)
            self._light[key] = colour
            if colour in self._nearest:
                self._nearest[colour].put(key, (date.fromisoformat(row[_DEADLINE]).toordinal(),))
        moment = lights.changes_after(book, now, self.rules, self.zone)
        if moment is not None:
            self._pushed += 1
            heapq.heappush(self._moments, (moment, self._pushed, key, row))

    def _unlist(self, key: str, colour: Light) -> None:
        self._by_light[colour].discard(key)
        if colour in self._nearest:
            self._nearest[colour].put(key, None)
