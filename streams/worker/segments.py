"""Which changelog segment each entity of one table partition lives in (midfield/bus/changelog.py).

A batch's books of one table and partition go to the changelog as one segment record (a few,
past ``MAX_SEGMENT_BYTES`` of books). An entity lives in the last segment that holds it; a
segment nobody lives in any more is *dead*, and its number is given to a later segment, so that a
compacting broker drops the dead record: the changelog then holds one record per live segment
number, and recovery reads what the books are, not what they were. A dead number is only
given out (or tombstoned) once the broker has the record that took its entities over: were that
record refused, the dead one would be all that is left of them.

Dead numbers are kept for reuse up to :data:`MAX_DEAD`; past that (a catch-up that rewrote
entities from many small segments), the oldest are tombstoned, so a compacting broker drops
them too.

A segment dies only once *every* entity in it was written again. Updates spread over many
entities (progress reports on 100k tasks) leave most segments with a few live entities and many
stale ones, and a compacted changelog would hold several times the books. So, as a log-structured
file system cleans its segments, a segment less than half live is *sparse*, and each write
carries as many of the sparse segments' live entities along (:meth:`SegmentLog.carry`, their
books as the store holds them) as it writes of its own: at most twice the bytes written, and a
compacted changelog of at most about twice the books.

The log is rebuilt from the changelog at recovery (:meth:`SegmentLog.recovered`), as the books
are: the same records, in the same order, make the same log on any worker.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_DEAD", "Plan", "SegmentLog"]

MAX_DEAD = 4
"""Dead segment numbers kept for reuse, per table partition. A write reuses one, and in a steady
state about one segment dies per write: what a catch-up left in the pool would stay there, each
a dead record the compacted changelog keeps. 32 kept 1.3 times the books in dead records
(tests/unit/test_segments.py)."""


@dataclass(frozen=True)
class Plan:
    """Where a segment of ``keys`` goes: segment ``number``; the ``tombstones`` to send after
    it (dead numbers past :data:`MAX_DEAD`); ``legacy``, the keys
    whose per-entity record (written before segments) is to be tombstoned after it."""

    number: int
    keys: Sequence[str]
    tombstones: list[int] = field(default_factory=list)
    legacy: list[str] = field(default_factory=list)


class SegmentLog:
    """One table partition's segments: where each entity lives, how many live in each."""

    def __init__(self, max_dead: int = MAX_DEAD) -> None:
        self.max_dead = max_dead
        self.where: dict[str, int] = {}
        """Each entity's segment."""
        self.live: dict[int, int] = {}
        """Each segment's entities (0: dead, its number free)."""
        self.dead: dict[int, None] = {}
        """Dead segment numbers in the order they died (a dict: ordered, O(1) removal)."""
        self.dying: list[tuple[int, Any]] = []
        """Numbers dead once the record that took their entities is delivered (its future)."""
        self._sent: Any = None
        self.keys: dict[int, list[str]] = {}
        """The entities each live segment's record holds (some live elsewhere since)."""
        self.sparse: dict[int, None] = {}
        """Live segments less than half live, oldest first."""
        self.legacy: set[str] = set()
        """Entities whose last record is their own, per-entity one."""
        self.next = 0

    def carry(self, budget: int, written: Collection[str]) -> list[str]:
        """Up to ``budget`` entities of sparse segments, not among ``written``, for the next
        segment to take over (its sparse segments die once all theirs are taken)."""
        carried: list[str] = []
        where = self.where
        for number in self.sparse:
            for key in self.keys[number]:
                if len(carried) >= budget:
                    return carried
                if where.get(key) == number and key not in written:
                    carried.append(key)
        return carried

    def plan(self, keys: Sequence[str]) -> Plan:
        """Where a segment of ``keys`` (distinct) goes; nothing changes until :meth:`commit`."""
        self._delivered()
        number = next(iter(self.dead)) if self.dead else self.next
        pool = [n for n in self.dead if n != number]
        tombstones = pool[: max(0, len(pool) - self.max_dead)]
        legacy = [key for key in keys if key in self.legacy] if self.legacy else []
        return Plan(number, keys, tombstones, legacy)

    def commit(self, plan: Plan, sent: Any = None) -> None:
        """``plan``'s segment, tombstones and clean-ups were handed to the client; ``sent``: the
        segment's delivery (a future; ``None``: delivered)."""
        number = plan.number
        self.dead.pop(number, None)
        self.next = max(self.next, number + 1)
        self.live[number] = 0
        self.keys[number] = list(plan.keys)
        self._sent = sent
        try:
            self._move(plan.keys, number)
        finally:
            self._sent = None
        for gone in plan.tombstones:
            self.dead.pop(gone, None)
            self.live.pop(gone, None)
        self.legacy.difference_update(plan.legacy)

    def recovered(self, number: int, keys: Sequence[str]) -> None:
        """A segment record read from the changelog, in log order."""
        self.dead.pop(number, None)
        self.sparse.pop(number, None)
        self.next = max(self.next, number + 1)
        self.live.setdefault(number, 0)
        self.keys[number] = list(keys)  # what it held before is gone (dead) or compacted
        self._move(keys, number)
        self.legacy.difference_update(keys)
        if not self.live[number]:
            self._died(number)

    def recovered_tombstone(self, number: int) -> None:
        self.dead.pop(number, None)
        self.live.pop(number, None)
        self.sparse.pop(number, None)
        self.keys.pop(number, None)

    def recovered_entity(self, key: str, *, deleted: bool) -> None:
        """A per-entity record read (written before segments, or the clean-up of one)."""
        if deleted:
            self.legacy.discard(key)  # the tombstone of a per-entity record: nothing left
            return
        old = self.where.pop(key, None)
        if old is not None:
            self._leave(old)
        self.legacy.add(key)

    def in_segment(self, key: str) -> bool:
        return key in self.where

    def _move(self, keys: Sequence[str], number: int) -> None:
        where, live = self.where, self.live
        for key in keys:
            old = where.get(key)
            if old == number:
                continue
            where[key] = number
            live[number] += 1
            if old is not None:
                self._leave(old)

    def _leave(self, number: int) -> None:
        live = self.live[number] - 1
        self.live[number] = live
        if not live:
            self._died(number)
        elif 2 * live < len(self.keys.get(number, ())):
            self.sparse[number] = None

    def _died(self, number: int) -> None:
        if self._sent is None:
            self.dead[number] = None
        else:
            self.dying.append((number, self._sent))
        self.sparse.pop(number, None)
        self.keys.pop(number, None)

    def _delivered(self) -> None:
        """Numbers whose entities' new record was delivered are dead; one refused, never
        (the worker stops before its next commit: streams/worker/sends.py)."""
        if not self.dying:
            return
        waiting = []
        for number, sent in self.dying:
            if not sent.done():
                waiting.append((number, sent))
            elif not sent.cancelled() and sent.exception() is None:
                self.dead[number] = None
        self.dying = waiting
