"""The worker's heap (streams/worker/heap.py): frozen once started, free pages given back. Real
allocations in this process, read from /proc."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from midfield import metrics
from streams.worker import heap, stalls


def _rss_mib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


def test_freeze_takes_every_live_object_out_of_the_collector_s_reach() -> None:
    before = gc.get_freeze_count()
    try:
        heap.freeze()
        assert gc.get_freeze_count() > before + 10_000
    finally:
        gc.unfreeze()


def test_freeze_sets_the_frozen_objects_gauge_to_what_it_froze() -> None:
    try:
        heap.freeze()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000
        assert metrics.REGISTRY.get_sample_value("midfield_gc_frozen_objects") == frozen
    finally:
        gc.unfreeze()


def test_a_scrape_does_not_count_the_frozen_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting walks every frozen object (~15 ms in a worker): a scrape reads the gauge."""

    def walked() -> int:
        raise AssertionError("a scrape counted the frozen objects")

    monkeypatch.setattr(gc, "get_freeze_count", walked)
    assert b"midfield_gc_frozen_objects" in metrics.render()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_trim_gives_back_the_pages_a_drained_backlog_left_behind() -> None:
    # Records of a backlog (freed once applied) interleaved with books that stay, as a worker
    # catching up allocates them: freeing the records alone gives nothing back.
    kept, backlog = [], []
    for i in range(200_000):
        blob = os.urandom(1) * 800 + i.to_bytes(4, "big")
        (kept if i % 50 == 0 else backlog).append(blob)
    del backlog
    before = _rss_mib()
    assert heap.trim(), "no glibc malloc_trim here"
    assert _rss_mib() < before - 60, (before, _rss_mib())
    assert len(kept) == 4000


def test_a_slow_full_collection_freezes_the_heap_again_at_most_once_a_period() -> None:
    def refreezes() -> float:
        return float(metrics.REGISTRY.get_sample_value("midfield_gc_refreezes_total") or 0.0)

    now = [1000.0]
    refreeze, before = heap.Refreeze(slow_s=0.02, every_s=600, clock=lambda: now[0]), refreezes()
    refreeze.observed(1, 1.0)  # a young collection, however slow: nothing long-lived in it
    refreeze.observed(2, 0.005)  # a quick full one
    assert not refreeze.maybe() and refreezes() == before
    kept = [[i] for i in range(20_000)]  # long-lived containers made after the last freeze
    assert any(o is kept for o in gc.get_objects())  # the collector walks it
    refreeze.observed(2, 0.05)
    try:
        assert refreeze.maybe()
        assert not any(o is kept for o in gc.get_objects())  # frozen: out of its reach
        assert refreezes() == before + 1
        assert not refreeze.maybe()  # once per slow collection
        refreeze.observed(2, 0.05)
        now[0] += 599
        assert not refreeze.maybe()  # and not again within the period
        now[0] += 1
        assert refreeze.maybe() and refreezes() == before + 2
    finally:
        gc.unfreeze()


def test_the_refreeze_s_own_collection_does_not_ask_for_another() -> None:
    now = [0.0]
    refreeze = heap.Refreeze(slow_s=0.0, every_s=60, clock=lambda: now[0])  # every one "slow"
    undo = stalls.watch_collections(then=refreeze.observed)
    try:
        gc.collect()  # a slow full collection
        assert refreeze.maybe()  # collects again itself
        now[0] += 60
        assert not refreeze.maybe()  # nothing slow happened since but its own
    finally:
        undo()
        gc.unfreeze()


def test_the_heap_is_trimmed_when_the_worker_is_idle_and_rarely_while_it_is_busy() -> None:
    now = [0.0]
    trimming = heap.Trim(busy_every_s=600.0, clock=lambda: now[0])
    seen = []
    for work in (0, 5, 9, 9, 9, 12, 20, 31):  # batches applied by each look, every 10 s
        now[0] += 10
        seen.append(trimming.due(work))
    assert seen == [True, False, False, True, True, False, False, False]
    now[0] += 600  # busy the whole time since the last trim: due anyway
    assert trimming.due(40) and not trimming.due(41)
