"""A faust worker whose agents do nothing: the floor faust's own per-record path sets for the live
worker, in ``bench/rebuild.py``'s ``faust_noop_worker`` path.

It is the midfield worker's faust without Midfield's work: the same app class and transport (the
fetch wait of ``MIDFIELD_WORKER_FETCH_MAX_WAIT_MS``, the high watermarks of
streams/worker/transport.py), the same faust settings (``streams.worker.app._faust_config``:
broker, the profile's group timings, commit interval, ``consumer_auto_offset_reset=earliest``),
the same metrics sensor, and one faust agent per topic of ``streams.books.registry.PROCESSED``
that takes the events in batches of the live worker's size and timing (:func:`batches`, over
faust's stream) and drops them: no decoding, no books, no tables, no changelogs, no side effects.

Since 2026-12-07 the live worker no longer reads through faust's stream: its intake takes each
batch from the queue faust's conductor fills (streams/worker/intake.py), and its consumer hands
each record to the conductor without faust's four tasks a record while it catches up
(streams/worker/delivery.py).
This worker keeps both of faust's own: the faust agent the issue names as the baseline ("a
faust worker whose agents do nothing"), and faust's hand-over (bench/rebuild.py starts it with
``MIDFIELD_WORKER_HANDOVER=faust``).

``/ready`` answers 200 once partitions are assigned (as the worker's, without tables to
recover), ``/metrics`` the sensor's ``midfield_events_in_total``; no access gate (nothing here
reads a book). Run as ``python -m bench.noop_worker`` with the worker's ``MIDFIELD_*``
environment; :class:`NoopWorkerProcess` starts it as tests/harness.py starts ``midfield worker``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import faust

from midfield import metrics
from midfield.logging import configure_logging
from midfield.settings import Settings
from streams.books.registry import PROCESSED
from streams.worker import heap
from streams.worker.app import MidfieldApp, _faust_config
from streams.worker.emit import raw_topic
from streams.worker.sensor import MetricsSensor
from tests.harness import WorkerProcess, midfield_env

if TYPE_CHECKING:
    from faust.types import EventT

__all__ = ["NoopWorkerProcess", "batches", "create_noop_app"]


def create_noop_app(settings: Settings) -> MidfieldApp:
    """The worker's app with one do-nothing agent per topic the books read; its consumer hands
    each record to the conductor as ``settings.worker.handover`` says."""
    app = MidfieldApp(settings.worker.app_id, **_faust_config(settings))
    app.settings = settings  # the transport reads the fetch wait from it
    app.sensors.add(MetricsSensor())
    for name in PROCESSED:
        app.agent(raw_topic(app, name), name=f"noop:{name}")(_dropping(settings))

    @app.page("/ready")
    async def ready(web: Any, request: Any) -> Any:
        recovery: Any = app.tables.recovery  # type: ignore[attr-defined]
        ok = recovery.completed.is_set() and not app.rebalancing
        return web.json({"ready": ok}, status=200 if ok else 503)

    @app.page("/metrics")
    async def metrics_view(web: Any, request: Any) -> Any:
        return web.bytes(metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE_LATEST})

    return app


_IDLE_S = 1.0
"""How often an idle loop looks whether the stream was stopped."""


async def batches(stream: Any, max_: int, within: float) -> AsyncIterator[list[EventT[Any]]]:
    """The stream's events a batch at a time: at most ``max_``; what is there when the worker
    reaches the end of the log; what came within ``within`` seconds while it is behind (the
    live worker's batches, streams/worker/intake.py, taken through faust's stream). The
    buffering and acknowledgement are faust's own (``take_events`` in faust/streams.py): a
    processor puts each event in the buffer, the stream is drained passively, acks are off while
    buffering and each event is acknowledged once its batch has been handed on."""
    loop = asyncio.get_running_loop()
    events: list[EventT[Any]] = []
    last: dict[Any, int] = {}
    """The batch's last offset per partition."""
    wake, room = asyncio.Event(), asyncio.Event()
    room.set()
    state = {"first_at": 0.0, "ready": False}
    queue = stream.channel.queue
    consumer = stream.app.consumer

    def behind() -> bool:
        for tp, offset in last.items():
            highwater = consumer.highwater(tp)
            if highwater is not None and offset + 1 < highwater:
                return True
        return False

    async def add(value: Any) -> Any:
        await room.wait()  # a batch is being applied, or the buffer is full
        event = stream.current_event
        if event is None:
            raise RuntimeError("a batch found no current event")
        if not events:
            state["first_at"] = loop.time()
            wake.set()
        events.append(event)
        last[event.message.tp] = event.message.offset
        if len(events) >= max_:
            room.clear()
            state["ready"] = True
            wake.set()
        elif queue.empty() and not behind():
            state["ready"] = True
            wake.set()
        return value

    acks = stream.enable_acks
    stream.enable_acks = False
    stream.add_processor(add)
    stream._enable_passive(stream.channel)
    try:
        while not stream.should_stop:
            due = state["first_at"] + within - loop.time() if events else _IDLE_S
            if not state["ready"] and due > 0:
                await stream.wait_for_stopped(wake, timeout=due)
                wake.clear()
                continue
            if not events:
                state["ready"] = False
                continue
            room.clear()
            batch = list(events)
            try:
                yield batch
            finally:
                events.clear()
                last.clear()
                state["ready"] = False
                for event in batch:
                    await stream.ack(event)
                room.set()
    finally:
        stream.enable_acks = acks
        stream._processors.remove(add)


def _dropping(settings: Settings) -> Any:
    """An agent body that takes the events in the live worker's batches and drops them."""
    batch_max, within = settings.worker.batch_max, settings.worker.batch_within_s

    async def drop(stream: Any) -> None:
        async for _ in batches(stream, batch_max, within):
            pass

    return drop


class _Worker(faust.Worker):
    async def on_startup_finished(self) -> None:
        heap.freeze()  # as the midfield worker does once started (streams/worker/worker.py)
        await super().on_startup_finished()


def main() -> None:
    settings = Settings()
    configure_logging("INFO", "json")
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    worker = _Worker(create_noop_app(settings), loglevel="info", override_logging=False,
                     redirect_stdouts=False)  # fmt: skip
    worker.execute_from_commandline()


@dataclass
class NoopWorkerProcess(WorkerProcess):
    """:class:`tests.harness.WorkerProcess` running this module instead of ``midfield worker``:
    the same environment, log file, ``/ready``, ``/metrics`` and stop."""

    def start(self) -> NoopWorkerProcess:
        self.starts += 1
        env = midfield_env(self.broker, self.workdir, MIDFIELD_WORKER_APP_ID=self.app_id,
                           MIDFIELD_WORKER_WEB_PORT=str(self.port), **self.env_extra)  # fmt: skip
        log = (self.workdir / f"worker-{self.starts}.log").open("wb")
        argv: Sequence[str] = [sys.executable, "-m", "bench.noop_worker"]
        self.proc = subprocess.Popen(argv, env=env, cwd=self.workdir, stdout=log,
                                     stderr=subprocess.STDOUT)  # fmt: skip
        return self


if __name__ == "__main__":
    main()
