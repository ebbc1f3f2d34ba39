"""Each stream partition's records to the books in offset order, none skipped, and the offsets
committed from what the books applied, not from what faust acknowledged.

faust-streaming 0.15.3 can read a record and never hand it to its agent: when its flow stops
mid-delivery, when a flow's resume empties the stream queues (the end of every recovery), when a
fetched batch is cut short by a rebalance, or when its read-offset filter drops a record fetched
again after a seek. Its read offset moves on all the same; its commit then skips the record (a
hole of one record at the committed offset passes its check, and any hole does where the
partition has no committed offset) or sticks behind it until a restart. The short soak lost one
to three inputs in about one run of five (docs/brokers.md).

:class:`Sequencer` lets a record through only when it is the next one its partition's books need:
the committed offset after a seek, then one past the last let through. A record beyond it means
one went missing: the partition is sought back to it (:meth:`Sequencer.admit` says where), what
arrives meanwhile is held back, and the missing record and those after it are read again and
taken in order. A record behind it was let through before. The committable offset of a partition
is one past the last record its books applied (:meth:`Sequencer.applied`), so an offset is never
committed past a record the books did not see.

Pure: the consumer (streams/worker/transport.py) says where it sought and asks what to commit;
the agents (streams/worker/agents.py) pass each batch through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any, NamedTuple, TypeVar

__all__ = ["Rewind", "Sequencer"]

E = TypeVar("E")

RETRY_S = 1.0
"""How long a partition waits for its missing record after it was sought back, before it is
sought back again (doubling each time, up to :data:`RETRY_MAX_S`): the records fetched before the
seek are still arriving, and each looks like the hole again."""
RETRY_MAX_S = 30.0
STALL_S = 5.0
"""How long a partition may go without a record for its books while the broker holds one it has
not read, before the missing one is sought back (:meth:`Sequencer.stalled`: the last record of a
burst has nothing after it to show that it is missing)."""


class Rewind(NamedTuple):
    """Seek ``tp`` back to ``offset``: the record there never reached the books, ``seen`` did."""

    tp: Any
    offset: int
    seen: int


@dataclass(slots=True)
class _Hole:
    start: int
    due: float
    wait_s: float


class Sequencer:
    """See the module's docstring."""

    def __init__(self, clock: Callable[[], float] = monotonic) -> None:
        self.clock = clock
        self.next: dict[Any, int] = {}
        """Partition -> the offset its books need next (unknown: the first record is taken)."""
        self.done: dict[Any, int] = {}
        """Partition -> one past the last offset its books applied, in order."""
        self.holes: dict[Any, _Hole] = {}
        self.moved: dict[Any, float] = {}
        """Partition -> when it was last sought or a record was let through."""
        self.rewinds = 0
        """Partitions sought back so far (a metric)."""

    def expect(self, tp: Any, offset: int) -> None:
        """The consumer sought ``tp`` to ``offset``: what comes next is read from there."""
        self.next[tp] = offset
        self.moved[tp] = self.clock()
        hole = self.holes.get(tp)
        if hole is not None and hole.start != offset:  # sought back to a hole: it waits on
            del self.holes[tp]

    def forget(self, tps: Iterable[Any]) -> None:
        """``tps`` were revoked: another member reads them now."""
        for tp in tps:
            self.next.pop(tp, None)
            self.done.pop(tp, None)
            self.holes.pop(tp, None)
            self.moved.pop(tp, None)

    def admit(
        self, events: Sequence[E], where: Callable[[E], tuple[Any, int]]
    ) -> tuple[list[E], list[Rewind]]:
        """The ``events`` the books may apply, in order (``where``: an event's partition and
        offset), and the partitions to seek back because a record before one of them is
        missing."""
        admitted: list[E] = []
        rewinds: list[Rewind] = []
        for event in events:
            tp, offset = where(event)
            wanted = self.next.get(tp)
            if wanted is None or offset == wanted:
                admitted.append(event)
                self.next[tp] = offset + 1
                self.moved[tp] = self.clock()
                self.holes.pop(tp, None)
            elif offset > wanted and self._due(tp, wanted):
                rewinds.append(Rewind(tp, wanted, offset))
                self.rewinds += 1
        return admitted, rewinds

    def stalled(self, tp: Any, end: int | None) -> Rewind | None:
        """Seek ``tp`` back if the broker holds records up to ``end`` (its high watermark) and
        none reached the books for :data:`STALL_S`: the record they need went missing with
        nothing read after it."""
        wanted = self.next.get(tp)
        if wanted is None or end is None or wanted >= end:
            return None
        if self.clock() - self.moved.get(tp, self.clock()) < STALL_S:
            return None
        if not self._due(tp, wanted):
            return None
        self.rewinds += 1
        return Rewind(tp, wanted, end)

    def applied(self, events: Iterable[E], where: Callable[[E], tuple[Any, int]]) -> None:
        """The books applied ``events`` (admitted, in order): their offsets may be committed."""
        for event in events:
            tp, offset = where(event)
            if offset + 1 > self.done.get(tp, -1):
                self.done[tp] = offset + 1

    def failed(self, events: Iterable[E], where: Callable[[E], tuple[Any, int]]) -> None:
        """Applying ``events`` (admitted) failed: each partition wants its first of them again."""
        first: dict[Any, int] = {}
        for event in events:
            tp, offset = where(event)
            first[tp] = min(offset, first.get(tp, offset))
        for tp, offset in first.items():
            if offset < self.next.get(tp, offset + 1):
                self.expect(tp, offset)

    def committable(self, tp: Any) -> int | None:
        """The offset to commit for ``tp``: one past the last its books applied."""
        return self.done.get(tp)

    def _due(self, tp: Any, start: int) -> bool:
        """Whether the hole at ``start`` is to be sought back now (else it was just now)."""
        now = self.clock()
        hole = self.holes.get(tp)
        if hole is None or hole.start != start:
            self.holes[tp] = _Hole(start, now + RETRY_S, RETRY_S)
            return True
        if now < hole.due:
            return False
        hole.wait_s = min(hole.wait_s * 2, RETRY_MAX_S)
        hole.due = now + hole.wait_s
        return True
