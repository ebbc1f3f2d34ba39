"""The worker's event-loop watch: the lag it measures and the holders it names."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

from structlog.testing import capture_logs

from midfield import metrics
from streams.worker import stalls


def _lag_sum() -> float:
    return float(metrics.REGISTRY.get_sample_value("midfield_worker_loop_lag_seconds_sum") or 0.0)


async def test_the_watch_measures_how_long_a_step_held_the_loop() -> None:
    before = _lag_sum()
    watching = asyncio.create_task(stalls.watch(tick_s=0.01))
    await asyncio.sleep(0.05)
    time.sleep(0.3)  # a step that holds the loop
    await asyncio.sleep(0.05)
    watching.cancel()
    held = _lag_sum() - before
    assert 0.25 <= held < 0.6, held


async def test_a_step_over_the_threshold_is_named_with_its_task_and_a_short_one_is_not() -> None:
    async def slow_view() -> None:
        await asyncio.sleep(0)
        time.sleep(0.06)

    async def quick_view() -> None:
        await asyncio.sleep(0)

    undo = stalls.name_holders(threshold_ms=40)
    try:
        with capture_logs() as logs:
            await asyncio.gather(slow_view(), quick_view())
    finally:
        undo()
    held = [entry for entry in logs if entry["event"] == "event loop held"]
    assert len(held) == 1, logs
    assert "slow_view" in held[0]["by"] and held[0]["ms"] >= 55
    assert held[0]["thread"] == "MainThread"


async def test_a_held_step_says_whether_it_worked_or_waited() -> None:
    async def waiting() -> None:
        time.sleep(0.06)  # as a step waits for a GIL another thread holds: no CPU of its own

    async def working() -> None:
        end = time.perf_counter() + 0.06
        while time.perf_counter() < end:
            pass

    undo = stalls.name_holders(threshold_ms=40)
    try:
        with capture_logs() as logs:
            await asyncio.gather(waiting(), working())
    finally:
        undo()
    held = {
        e["by"].split("coro=<")[1].split("(")[0]: e for e in logs if e["event"] == "event loop held"
    }
    assert held["test_a_held_step_says_whether_it_worked_or_waited.<locals>.waiting"]["cpu_ms"] < 20
    assert held["test_a_held_step_says_whether_it_worked_or_waited.<locals>.working"]["cpu_ms"] > 40


def _decode_every_book(until: float) -> None:
    while time.perf_counter() < until:
        pass


async def test_a_held_step_says_where_it_spent_its_time_and_a_short_one_is_not_logged() -> None:
    async def view() -> None:
        await asyncio.sleep(0)  # the task's repr names this line, not the work below
        _decode_every_book(time.perf_counter() + 0.12)

    undo = stalls.name_holders(threshold_ms=40)
    try:
        with capture_logs() as logs:
            await asyncio.gather(view(), asyncio.sleep(0))
    finally:
        undo()
    held = [entry for entry in logs if entry["event"] == "event loop held"]
    assert len(held) == 1, logs
    where = held[0]["where"]
    assert 1 <= len(where) <= 8, where
    innermost = [w.split(" < ")[0] for w in where]
    assert all(w.endswith(" _decode_every_book") for w in innermost), where
    assert all(" view" in w and "test_stalls.py:" in w for w in where), where


async def test_undo_puts_asyncio_back_and_stops_looking() -> None:
    run = asyncio.events.Handle._run
    stalls.name_holders(threshold_ms=1)()
    assert asyncio.events.Handle._run is run
    assert not [t for t in threading.enumerate() if t.name == "stall-looker"]


def test_a_full_collection_is_measured_and_logged_over_the_threshold() -> None:
    def count() -> float:
        sample = "midfield_worker_gc_pause_seconds_count"
        return float(metrics.REGISTRY.get_sample_value(sample, {"generation": "2"}) or 0.0)

    before = count()
    undo = stalls.watch_collections(log_ms=0)
    try:
        with capture_logs() as logs:
            gc.collect(2)
    finally:
        undo()
    assert count() == before + 1
    held = [entry for entry in logs if entry["event"] == "garbage collection held the loop"]
    assert len(held) == 1 and held[0]["generation"] == 2 and held[0]["collected"] >= 0
    assert 0 <= held[0]["cpu_ms"] <= held[0]["ms"] + 1 and held[0]["thread"] == "MainThread"
    gc.collect(2)  # undone: no longer measured
    assert count() == before + 1


def test_a_logged_collection_in_one_thread_never_breaks_a_tuple_another_is_building() -> None:
    """A collection's log once listed the oldest generation's objects (``gc.get_objects``) to
    name its largest containers. A collection runs in whichever thread allocated, and a tuple
    another thread is building from a generator is one of those objects: held by the list while
    the GIL went back to that thread, the tuple could not be resized, and it raised
    ``SystemError: Objects/tupleobject.c:927: bad argument to internal function`` — a views
    bench's worker, with ``MIDFIELD_WORKER_STALL_LOG_MS=10``, stopped on it."""
    kept = [[{} for _ in range(50)] for _ in range(2000)]  # for the collections to walk
    errors: list[BaseException] = []
    stop = threading.Event()

    def build() -> None:
        try:
            while not stop.is_set():
                tuple(str(n) for n in range(200))  # as prometheus_client's labels() does
        except SystemError as exc:
            errors.append(exc)

    def collect() -> None:
        while not stop.is_set():
            gc.collect()

    undo = stalls.watch_collections(log_ms=0)
    threads = [threading.Thread(target=build), threading.Thread(target=collect)]
    try:
        with capture_logs() as logs:
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and not errors:
                time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        undo()
    assert not errors, errors
    assert any(e["event"] == "garbage collection held the loop" for e in logs)
    assert kept
