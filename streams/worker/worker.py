"""Run the stream-processing worker in this process until SIGINT/SIGTERM."""

from __future__ import annotations

import signal
from typing import Any

import faust

from midfield.settings import Settings
from midfield.shutdown import exit_within
from streams.worker import heap, stalls
from streams.worker.access import check_policies
from streams.worker.app import create_app

__all__ = ["run_worker"]


def run_worker(settings: Settings, *, loglevel: str = "info") -> None:
    """Start the faust worker (its web server included); returns only when it stops."""
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    if settings.worker.stall_log_ms is not None:
        stalls.name_holders(settings.worker.stall_log_ms)
    refreeze = heap.Refreeze(every_s=settings.worker.refreeze_every_s)
    stalls.watch_collections(settings.worker.stall_log_ms, then=refreeze.observed)
    worker = _Worker(
        app,
        loglevel=loglevel,
        override_logging=False,  # keep midfield.logging's structlog set-up
        redirect_stdouts=False,
        shutdown_timeout_s=settings.worker.shutdown_timeout_s,
        refreeze=refreeze,
    )
    worker.execute_from_commandline()


class _Worker(faust.Worker):
    def __init__(
        self, *args: Any, shutdown_timeout_s: float, refreeze: heap.Refreeze, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.shutdown_timeout_s, self.refreeze = shutdown_timeout_s, refreeze

    def _on_sigint(self) -> None:
        exit_within(self.shutdown_timeout_s, what="worker")
        self._schedule_shutdown(signal.SIGINT)  # faust's own, without the "-INT-" banner

    def _on_sigterm(self) -> None:
        exit_within(self.shutdown_timeout_s, what="worker")
        super()._on_sigterm()

    async def on_startup_finished(self) -> None:
        check_policies(self.app)  # type: ignore[arg-type]  # faust's blueprints are added by now
        heap.freeze()  # recovered, not yet serving: the pauses cost nobody (streams/worker/heap.py)
        heap.trim()  # and what recovery freed goes back
        self.add_future(stalls.watch(each_tick=self.refreeze.maybe))
        await super().on_startup_finished()
