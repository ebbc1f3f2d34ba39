"""The changelog's segments (streams/worker/segments.py, midfield/bus/changelog.py): whatever
batches write and delete, and wherever a compacting broker has cleaned the log, reading it
(:func:`fold`) gives the books written; a log rebuilt from it (a restarted worker) writes on as
correctly; and once compacted, the log holds no more records than live segments and dead ones
kept for reuse, not one per write."""

from __future__ import annotations

import asyncio
import random
from itertools import pairwise
from typing import Any

import orjson
from faust.exceptions import ProducerSendError
from hypothesis import given, settings
from hypothesis import strategies as st

from midfield.bus.changelog import (
    fold,
    is_segment,
    segment_id,
    segment_key,
    segment_value,
    segments,
)
from streams.worker.segments import SegmentLog

Record = tuple[str, Any]
KEYS = [f"T-{n}" for n in range(40)]


def _write(
    log: SegmentLog, changelog: list[Record], books: dict[str, Any], held: dict[str, Any]
) -> None:
    """A batch's segment as the worker sends it (streams/worker/table.py ``hand_over_segment``
    and ``_send_segment``), sparse segments' books carried from ``held`` (the store)."""
    entries = [(key, None if book is None else orjson.dumps(book)) for key, book in books.items()]
    for key in log.carry(len(entries), set(books)):
        entries.append((key, orjson.dumps(held[key]) if key in held else None))
    plan = log.plan([key for key, _ in entries])
    changelog.append((segment_key(plan.number), orjson.loads(segment_value(entries))))
    changelog.extend((segment_key(n), None) for n in plan.tombstones)
    changelog.extend((key, None) for key in plan.legacy)
    log.commit(plan)


def _compact(changelog: list[Record]) -> list[Record]:
    """What Kafka's cleaner leaves: each key's last record, where it was; tombstones too
    (``delete.retention.ms`` keeps them a while; dropping them is the other case)."""
    last = {key: i for i, (key, _) in enumerate(changelog)}
    return [record for i, record in enumerate(changelog) if last[record[0]] == i]


def _recover(changelog: list[Record]) -> SegmentLog:
    """The log a worker rebuilds from the changelog (streams/worker/store.py)."""
    log = SegmentLog()
    for key, value in changelog:
        if is_segment(key):
            if value is None:
                log.recovered_tombstone(segment_id(key))
            else:
                log.recovered(segment_id(key), list(value["books"]))
        else:
            log.recovered_entity(key, deleted=value is None)
    return log


batch = st.dictionaries(st.sampled_from(KEYS), st.none() | st.integers(0, 9), min_size=1)


@settings(max_examples=300, deadline=None)
@given(st.lists(batch, min_size=1, max_size=60), st.integers(0, 2**32), st.booleans())
def test_the_changelog_reads_as_the_books_whatever_was_compacted(
    batches: list[dict[str, int | None]], seed: int, restart: bool
) -> None:
    rng = random.Random(seed)
    log, changelog, books = SegmentLog(max_dead=3), [], {}
    for n, written in enumerate(batches):
        batch = {k: v if v is None else {"v": v, "n": n} for k, v in written.items()}
        _write(log, changelog, batch, books)
        books.update({k: {"v": v, "n": n} for k, v in written.items() if v is not None})
        for k in [k for k, v in written.items() if v is None]:
            books.pop(k, None)
        if rng.random() < 0.2:
            changelog = _compact(changelog)
        if restart and rng.random() < 0.2:
            log = _recover(changelog)
            log.max_dead = 3
        assert fold(changelog) == books
    compacted = _compact(changelog)
    assert fold(compacted) == books
    live = sum(1 for n in log.live.values() if n)
    segments = [key for key, value in compacted if value is not None]
    assert len(segments) <= live + len(log.dead)
    following = log.plan(["T-new"])  # what the pool keeps past the next write
    assert len([n for n in log.dead if n != following.number]) - len(following.tombstones) <= 3


def test_a_worker_that_rewrites_its_tasks_keeps_one_record_per_live_segment() -> None:
    """Tasks stepping through their lives a batch at a time: ever more records written, the
    compacted changelog a handful."""
    log, changelog = SegmentLog(), []
    tasks = [f"T-{n}" for n in range(500)]
    held: dict[str, Any] = {}
    for step in range(7):
        for start in range(0, len(tasks), 50):
            batch = {t: {"step": step} for t in tasks[start : start + 50]}
            _write(log, changelog, batch, held)
            held.update(batch)
    compacted = [record for record in _compact(changelog) if record[1] is not None]
    assert len(changelog) >= 70
    assert len(compacted) <= 10 + log.max_dead, len(compacted)
    assert fold(compacted) == {t: {"step": 6} for t in tasks}


def test_a_per_entity_record_from_before_segments_is_cleaned_up_once_its_entity_is_in_one() -> None:
    changelog: list[Record] = [("T-1", {"old": True}), ("T-2", {"old": True})]
    log = _recover(changelog)
    _write(log, changelog, {"T-1": {"new": True}}, {})
    assert changelog[-1] == ("T-1", None)  # after the segment: read before it, it would delete
    assert (
        fold(changelog) == fold(_compact(changelog)) == {"T-1": {"new": True}, "T-2": {"old": True}}
    )
    assert log.legacy == {"T-2"}
    _write(log, changelog, {"T-1": {"newer": True}}, {})
    assert changelog[-1][0] != "T-1"  # cleaned once


def test_updates_over_many_tasks_leave_a_compacted_changelog_of_at_most_twice_the_books() -> None:
    """Random progress reports over 2,000 tasks, 100 a batch: without the sparse segments'
    books carried along, most segments keep a few live books among many stale ones."""
    rng = random.Random(5)
    log, changelog, held = SegmentLog(), [], {}
    tasks = [f"T-{n}" for n in range(2000)]
    for n in range(0, 2000, 100):
        batch = {t: {"n": 0} for t in tasks[n : n + 100]}
        _write(log, changelog, batch, held)
        held.update(batch)
    written = 0
    for n in range(1, 1500):
        batch = {t: {"n": n} for t in rng.sample(tasks, 100)}
        before = len(changelog)
        _write(log, changelog, batch, held)
        held.update(batch)
        written += sum(len(value["books"]) for _, value in changelog[before:] if value)
    compacted = _compact(changelog)
    kept = sum(len(value["books"]) for key, value in compacted if value is not None)
    assert fold(compacted) == held
    assert kept <= 2.2 * len(tasks), kept  # the books twice, and the segment being filled
    assert written <= 2 * 100 * 1499  # at most as many carried as written


async def test_a_number_is_given_again_only_once_its_entities_new_record_was_delivered() -> None:
    """Were the record that took a segment's entities over refused, the dead record would be
    all that is left of them: its number must not be reused nor tombstoned."""
    loop = asyncio.get_running_loop()
    log = SegmentLog(max_dead=0)
    first = log.plan(["T-1", "T-2"])
    log.commit(first)  # segment 0
    refused, delivered = loop.create_future(), loop.create_future()
    log.commit(log.plan(["T-1", "T-2"]), refused)  # segment 1 takes both: 0 is dead, if sent
    assert log.plan(["T-3"]).number == 2 and log.plan(["T-3"]).tombstones == []
    refused.set_exception(ProducerSendError("refused"))
    assert log.plan(["T-3"]).number == 2  # 0 is never given out
    log.commit(log.plan(["T-1"]), delivered)  # 1 loses T-1, keeps T-2
    log.commit(log.plan(["T-2"]), delivered)  # 1 is dead once this is delivered
    assert 1 not in log.dead
    delivered.set_result(None)
    assert log.plan(["T-4"]).number == 1


def test_a_segment_that_is_not_one_is_an_error_not_empty() -> None:
    try:
        fold([(segment_key(0), {"T-1": {}})])
    except ValueError as error:
        assert "segment" in str(error)
    else:
        raise AssertionError("a malformed segment was read as empty")


@given(st.lists(st.integers(1, 300), max_size=40), st.integers(1, 600))
def test_a_batch_is_cut_into_segments_no_larger_than_the_limit_unless_one_book_is(
    sizes: list[int], limit: int
) -> None:
    entries = [(f"T-{n}", b"x" * size) for n, size in enumerate(sizes)]
    cut = list(segments(entries, limit))
    assert [entry for chunk in cut for entry in chunk] == entries
    for chunk in cut:
        assert len(chunk) == 1 or sum(len(book) for _, book in chunk) <= limit
    for before, after in pairwise(cut):  # none could have taken the next
        assert sum(len(book) for _, book in before) + len(after[0][1]) > limit
