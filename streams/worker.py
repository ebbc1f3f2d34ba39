"""Run the stream-processing worker in this process until SIGINT/SIGTERM."""

from __future__ import annotations

import gc

import faust

from midfield.settings import Settings
from streams.app import create_app

__all__ = ["run_worker"]


def run_worker(settings: Settings, *, loglevel: str = "info") -> None:
    """Start the faust worker (its web server included); returns only when it stops."""
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    worker = _Worker(
        app,
        loglevel=loglevel,
        override_logging=False,  # keep midfield.logging's structlog set-up
        redirect_stdouts=False,
    )
    worker.execute_from_commandline()


class _Worker(faust.Worker):
    async def on_startup_finished(self) -> None:
        _freeze_the_heap()
        await super().on_startup_finished()


def _freeze_the_heap() -> None:
    """Once started (tables recovered, before serving): move every object alive now, the
    imported code and faust's and aiohttp's machinery, out of the garbage collector's reach.
    A full collection walks every tracked object; without this one stalled the event loop for
    ~200 ms during bench/latency.py. Books are bytes (streams/store.py) and never tracked."""
    gc.collect()
    gc.freeze()
