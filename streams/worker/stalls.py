"""How long one step held the worker's event loop: every HTTP answer and every event waits behind
the step that runs, so a view's tail latency is the longest step of anything else.

:func:`watch` measures the loop's lag all the time (``midfield_worker_loop_lag_seconds``: a
sleep of 0.1 s that wakes late was held up by that much), which tells *that* the loop was held.
:func:`name_holders` (``MIDFIELD_WORKER_STALL_LOG_MS``, off by default) says *who* held it:
every callback that runs longer than the threshold is logged with what it ran — for a task step,
the task and where it stopped next — and the CPU its thread spent meanwhile (``cpu_ms``): a step
whose CPU is far below its time waited, mostly for the GIL another thread held. Collections are
logged the same way. asyncio's debug mode names holders too, but records a stack at every
callback it schedules, which slows the worker several times over (measured: a views bench load
ran at ~150 events/s against ~1,200); timing each callback costs four clock reads.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import threading
import time
from asyncio import events
from collections import deque
from collections.abc import Callable
from typing import Any

import structlog

from midfield import metrics

__all__ = ["name_holders", "watch", "watch_collections"]

log = structlog.get_logger(__name__)

TICK_S = 0.1


async def watch(tick_s: float = TICK_S, each_tick: Callable[[], object] | None = None) -> None:
    """Observe the loop's lag every ``tick_s`` until cancelled, calling ``each_tick`` after."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(tick_s)
        metrics.LOOP_LAG_SECONDS.observe(max(0.0, loop.time() - asked - tick_s))
        if each_tick is not None:
            each_tick()


def watch_collections(
    log_ms: float | None = None, then: Callable[[int, float], object] | None = None
) -> Callable[[], None]:
    """Observe every garbage collection's pause (``midfield_worker_gc_pause_seconds`` by
    generation), logged when ``log_ms`` or longer: a full collection walks every tracked object
    made since the heap was frozen (streams/worker/heap.py), and holds every loop meanwhile.
    ``then`` is told each collection's generation and pause. Returns what undoes it."""
    started: list[float] = []

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter(), time.thread_time()]
            return
        if not started:
            return
        paused = time.perf_counter() - started[0]
        cpu = time.thread_time() - started[1]
        started.clear()
        generation = str(info["generation"])
        metrics.GC_PAUSE_SECONDS.labels(generation).observe(paused)
        if then is not None:
            then(info["generation"], paused)
        if log_ms is not None and paused * 1e3 >= log_ms:
            tracked = gc.get_objects(generation=2)
            log.warning("garbage collection held the loop", ms=round(paused * 1e3, 1),
                        cpu_ms=round(cpu * 1e3, 1), generation=info["generation"],
                        collected=info["collected"], tracked=len(tracked),
                        largest=_largest(tracked),
                        thread=threading.current_thread().name)  # fmt: skip

    gc.callbacks.append(timed)
    return lambda: gc.callbacks.remove(timed)


def _largest(objects: list[Any], n: int = 3) -> list[str]:
    """The ``n`` biggest containers among ``objects`` (the oldest generation's, outside the
    frozen heap: a full collection walks every item of each), as ``type:length``."""
    sized = heapq.nlargest(n, (o for o in objects if isinstance(o, _CONTAINERS)), key=len)
    return [f"{type(o).__qualname__}:{len(o)}" for o in sized]


_CONTAINERS = (dict, list, set, frozenset, tuple, deque)


def name_holders(threshold_ms: float) -> Callable[[], None]:
    """Log every callback, on any loop of this process, that runs ``threshold_ms`` or longer;
    returns what undoes it. The worker turns it on at start when the setting asks for it."""
    run = events.Handle._run
    threshold_s = threshold_ms / 1e3

    def timed(handle: events.Handle) -> None:
        start, cpu = time.perf_counter(), time.thread_time()
        run(handle)
        held = time.perf_counter() - start
        if held >= threshold_s:
            log.warning("event loop held", ms=round(held * 1e3, 1),
                        cpu_ms=round((time.thread_time() - cpu) * 1e3, 1), by=_what(handle),
                        thread=threading.current_thread().name)  # fmt: skip

    events.Handle._run = timed  # type: ignore[method-assign,assignment]

    def undo() -> None:
        events.Handle._run = run  # type: ignore[method-assign]

    return undo


def _what(handle: events.Handle) -> str:
    """The task a step belongs to (its coroutine and where it waits now), else the callback."""
    callback: Any = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        return repr(owner)[:400]
    return repr(handle)[:400]
