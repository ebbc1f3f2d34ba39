"""The sequencer between faust and the books: each partition's records in offset order, none
skipped, the commit never past a record the books did not apply (streams/worker/sequencer.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.worker.sequencer import RETRY_S, STALL_S, Rewind, Sequencer
from streams.worker.transport import ReadOffsets

A, B = ("t", 0), ("t", 1)


def where(event: tuple[tuple[str, int], int]) -> tuple[tuple[str, int], int]:
    return event


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_records_in_order_are_admitted_and_committable_once_applied() -> None:
    sequencer = Sequencer()
    sequencer.expect(A, 5)
    events = [(A, 5), (A, 6), (A, 7)]
    admitted, rewinds = sequencer.admit(events, where)
    assert admitted == events and rewinds == []
    assert sequencer.committable(A) is None  # admitted, not applied yet
    sequencer.applied(admitted, where)
    assert sequencer.committable(A) == 8


def test_a_missing_record_holds_back_the_rest_and_seeks_back_once() -> None:
    clock = Clock()
    sequencer = Sequencer(clock)
    sequencer.expect(A, 0)
    admitted, rewinds = sequencer.admit([(A, 0), (A, 2), (A, 3), (B, 0)], where)
    assert admitted == [(A, 0), (B, 0)]
    assert rewinds == [Rewind(A, 1, 2)]
    sequencer.applied(admitted, where)
    assert sequencer.committable(A) == 1  # never past the missing record
    sequencer.expect(A, 1)  # the consumer sought back
    stale, again = sequencer.admit([(A, 4), (A, 5)], where)  # fetched before the seek
    assert stale == [] and again == []  # the same hole: not sought back again at once
    admitted, rewinds = sequencer.admit([(A, 1), (A, 2), (A, 3)], where)
    assert admitted == [(A, 1), (A, 2), (A, 3)] and rewinds == []
    sequencer.applied(admitted, where)
    assert sequencer.committable(A) == 4


def test_records_read_before_are_skipped() -> None:
    sequencer = Sequencer()
    sequencer.expect(A, 0)
    sequencer.admit([(A, 0), (A, 1)], where)
    admitted, rewinds = sequencer.admit([(A, 0), (A, 1), (A, 2)], where)
    assert admitted == [(A, 2)] and rewinds == []


def test_a_hole_that_stays_is_sought_back_again_later_and_later() -> None:
    clock = Clock()
    sequencer = Sequencer(clock)
    sequencer.expect(A, 0)
    assert sequencer.admit([(A, 3)], where)[1] == [Rewind(A, 0, 3)]
    sequencer.expect(A, 0)
    clock.now += RETRY_S / 2
    assert sequencer.admit([(A, 4)], where)[1] == []
    clock.now += RETRY_S / 2
    assert sequencer.admit([(A, 5)], where)[1] == [Rewind(A, 0, 5)]
    clock.now += RETRY_S * 1.5  # the wait doubled: not yet
    assert sequencer.admit([(A, 6)], where)[1] == []
    clock.now += RETRY_S
    assert sequencer.admit([(A, 7)], where)[1] == [Rewind(A, 0, 7)]
    assert sequencer.rewinds == 3


def test_a_partition_whose_last_record_went_missing_is_sought_back_once_it_stalls() -> None:
    clock = Clock()
    sequencer = Sequencer(clock)
    sequencer.expect(A, 0)
    sequencer.admit([(A, 0), (A, 1)], where)  # 2 went missing; nothing after it shows it
    assert sequencer.stalled(A, 3) is None  # it may still be on its way
    clock.now += STALL_S
    assert sequencer.stalled(A, 2) is None  # the broker has nothing more
    assert sequencer.stalled(A, 3) == Rewind(A, 2, 3)
    assert sequencer.stalled(A, 3) is None  # sought back just now


def test_a_seek_elsewhere_starts_over() -> None:
    sequencer = Sequencer()
    sequencer.expect(A, 0)
    sequencer.admit([(A, 3)], where)
    sequencer.expect(A, 3)  # e.g. a rebalance: the committed offset moved on
    admitted, rewinds = sequencer.admit([(A, 3)], where)
    assert admitted == [(A, 3)] and rewinds == []


def test_a_failed_batch_is_wanted_again() -> None:
    sequencer = Sequencer()
    sequencer.expect(A, 0)
    batch, _ = sequencer.admit([(A, 0), (A, 1), (B, 7)], where)
    sequencer.failed(batch, where)
    assert sequencer.committable(A) is None
    admitted, rewinds = sequencer.admit([(A, 2)], where)  # the stream went on without them
    assert admitted == [] and rewinds == [Rewind(A, 0, 2)]
    assert sequencer.admit([(A, 0), (B, 7)], where)[0] == [(A, 0), (B, 7)]


def test_revoked_partitions_are_forgotten() -> None:
    sequencer = Sequencer()
    sequencer.expect(A, 0)
    sequencer.applied(sequencer.admit([(A, 0)], where)[0], where)
    sequencer.forget([A])
    assert sequencer.committable(A) is None
    assert sequencer.admit([(A, 9)], where) == ([(A, 9)], [])  # no baseline: taken as it comes


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, 60),
    drops=st.lists(st.booleans(), min_size=1, max_size=200),
    stale=st.integers(0, 5),
)
def test_whatever_faust_drops_the_books_get_every_record_once_in_order(
    size: int, drops: list[bool], stale: int
) -> None:
    """A partition of ``size`` records read by a consumer that drops records as ``drops`` says
    and, after a seek, still hands on ``stale`` records fetched before it."""
    clock = Clock()
    sequencer = Sequencer(clock)
    sequencer.expect(A, 0)
    applied: list[int] = []
    position, turn = 0, 0
    while len(applied) < size and turn < 10_000:
        turn += 1
        clock.now += 0.4
        if position < size:
            dropped = drops[turn % len(drops)] and turn < len(drops)
            offset, position = position, position + 1
            if dropped:
                continue
            admitted, rewinds = sequencer.admit([(A, offset)], where)
        else:  # the end of the log: nothing more comes to show a record is missing
            admitted, rewinds = [], [r for r in [sequencer.stalled(A, size)] if r is not None]
        sequencer.applied(admitted, where)
        applied += [offset for _, offset in admitted]
        assert sequencer.committable(A) in (None, len(applied))
        for rewind in rewinds:
            for late in range(position, min(position + stale, size)):
                sequencer.admit([(A, late)], where)  # fetched before the seek: held back
            sequencer.expect(A, rewind.offset)
            position = rewind.offset
    assert applied == list(range(size))
    assert sequencer.committable(A) == size


def test_read_offsets_are_kept_only_for_partitions_faust_orders() -> None:
    offsets = ReadOffsets(lambda tp: tp == A)
    offsets[A] = 7
    offsets[B] = 7
    offsets.update({A: 9, B: 9})
    assert offsets[A] is None and offsets[B] == 9
