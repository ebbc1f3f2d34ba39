"""A faust worker whose agents do nothing: the floor faust's own per-record path sets for the live
worker, in ``bench/rebuild.py``'s ``faust_noop_worker`` path.

It is the midfield worker without Midfield's work: the same app class and transport (the fetch
wait of ``MIDFIELD_WORKER_FETCH_MAX_WAIT_MS``, the high watermarks of streams/worker/transport.py),
the same faust settings (``streams.worker.app._faust_config``: broker, the profile's group
timings, commit interval, ``consumer_auto_offset_reset=earliest``), the same metrics sensor, and
one agent per topic of ``streams.books.registry.PROCESSED`` that takes the events in the same
batches (``streams.worker.batches.batches``) and
drops them: no decoding, no books, no tables, no changelogs, no side effects. Taking them in the
live worker's batches, not one by one with ``stream.events()``, keeps faust's part of the two
paths the same (the buffer, the acks after each batch), so the gap between them is Midfield's.

``/ready`` answers 200 once partitions are assigned (as the worker's, without tables to
recover), ``/metrics`` the sensor's ``midfield_events_in_total``; no access gate (nothing here
reads a book). Run as ``python -m bench.noop_worker`` with the worker's ``MIDFIELD_*``
environment; :class:`NoopWorkerProcess` starts it as tests/harness.py starts ``midfield worker``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import faust

from midfield import metrics
from midfield.logging import configure_logging
from midfield.settings import Settings
from streams.books.registry import PROCESSED
from streams.worker import heap
from streams.worker.app import MidfieldApp, _faust_config
from streams.worker.batches import batches
from streams.worker.emit import raw_topic
from streams.worker.sensor import MetricsSensor
from tests.harness import WorkerProcess, midfield_env

__all__ = ["NoopWorkerProcess", "create_noop_app"]


def create_noop_app(settings: Settings) -> MidfieldApp:
    """The worker's app with one do-nothing agent per topic the books read."""
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
