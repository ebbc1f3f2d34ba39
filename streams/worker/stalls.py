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
ran at ~150 events/s against ~1,200); timing each callback costs four clock reads, and a thread
that looks at long steps' stacks a few times each says what they spent their time in.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
from asyncio import events
from collections.abc import Callable
from types import FrameType
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
            # nothing of gc.get_objects(): a tuple another thread is building is among them,
            # and held while the GIL goes back to that thread it cannot be resized (SystemError)
            log.warning("garbage collection held the loop", ms=round(paused * 1e3, 1),
                        cpu_ms=round(cpu * 1e3, 1), generation=info["generation"],
                        collected=info["collected"],
                        thread=threading.current_thread().name)  # fmt: skip

    gc.callbacks.append(timed)
    return lambda: gc.callbacks.remove(timed)


def name_holders(threshold_ms: float, samples: int = 8) -> Callable[[], None]:
    """Log every callback, on any loop of this process, that runs ``threshold_ms`` or longer;
    returns what undoes it. The worker turns it on at start when the setting asks for it.

    A task's repr says where a step stopped, not what it did. So a thread of its own looks at
    every step that has run a quarter of the threshold every quarter threshold, and keeps where
    it is (its innermost frames, up to ``samples`` looks a step): a held step is logged with
    them as ``where``, what it spent its time in."""
    run = events.Handle._run
    threshold_s = threshold_ms / 1e3
    every_s = threshold_s / 4
    running: dict[int, tuple[float, list[str]]] = {}
    """Each loop thread's step now running: when it began, and where it was seen."""
    stop = threading.Event()

    def timed(handle: events.Handle) -> None:
        ident = threading.get_ident()
        seen: list[str] = []
        start, cpu = time.perf_counter(), time.thread_time()
        running[ident] = (start, seen)
        try:
            run(handle)
        finally:
            del running[ident]
        held = time.perf_counter() - start
        if held >= threshold_s:
            log.warning("event loop held", ms=round(held * 1e3, 1),
                        cpu_ms=round((time.thread_time() - cpu) * 1e3, 1), by=_what(handle),
                        where=list(dict.fromkeys(seen)),
                        thread=threading.current_thread().name)  # fmt: skip

    def look() -> None:
        while not stop.wait(every_s):
            now, frames = time.perf_counter(), sys._current_frames()
            for ident, (start, seen) in list(running.items()):
                frame = frames.get(ident)
                if now - start >= every_s and len(seen) < samples and frame is not None:
                    seen.append(_stack(frame))

    looker = threading.Thread(target=look, name="stall-looker", daemon=True)
    looker.start()
    events.Handle._run = timed  # type: ignore[method-assign,assignment]

    def undo() -> None:
        events.Handle._run = run  # type: ignore[method-assign]
        stop.set()
        looker.join()

    return undo


def _stack(frame: FrameType | None, depth: int = 8) -> str:
    """The innermost ``depth`` frames from ``frame`` out, as ``file:line function`` joined by
    `` < `` (the file by its last two path parts)."""
    found: list[str] = []
    while frame is not None and len(found) < depth:
        code = frame.f_code
        where = "/".join(code.co_filename.rsplit("/", 2)[-2:])
        found.append(f"{where}:{frame.f_lineno} {code.co_name}")
        frame = frame.f_back
    return " < ".join(found)


def _what(handle: events.Handle) -> str:
    """The task a step belongs to (its coroutine and where it waits now), else the callback."""
    callback: Any = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        return repr(owner)[:400]
    return repr(handle)[:400]
