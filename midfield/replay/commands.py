"""What ``midfield replay rebuild``, ``as-of`` and ``shadow`` do, without the command line's
options and printing. ``rebuild`` and ``as-of`` apply the records over a plain consumer
(midfield/replay/fast.py); a worker is started only to serve the books (``--serve``).
``shadow`` runs new code, so it runs it in a worker of its own
(midfield/replay/replay_worker.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from midfield.bus.clients import client_config
from midfield.bus.watermarks import topic_partitions
from midfield.clock import utc_now
from midfield.replay.books import Diff, Snapshot, diff, from_changelogs, render
from midfield.replay.fast import apply_plan, publish
from midfield.replay.offsets import Offsets, beginning_offsets, committed_offsets, write_offsets
from midfield.replay.replay_worker import ReplayWorker, wait_ready
from midfield.replay.run import Plan, Progress, plan
from midfield.settings import Settings
from streams.worker.app import PROCESSED

__all__ = ["Outcome", "as_of", "rebuild", "shadow"]

Report = Callable[[Progress], None]


@dataclass
class Outcome:
    plan: Plan
    progress: Progress
    worker: ReplayWorker | None
    """Running when the command was asked to keep serving the books, else ``None``/stopped."""
    books: Snapshot
    diff: Diff | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "app_id": self.plan.app_id,
            "events": self.progress.done,
            "seconds": round(self.progress.elapsed_s, 2),
            "events_per_s": round(self.progress.rate),
            "books": {name: len(entities) for name, entities in self.books.items()},
            "searched_by_timestamp": sorted(f"{t}/{p}" for t, p in self.plan.searched),
        } | self.extra
        if self.diff is not None:
            out["equal"] = self.diff.equal
            out["entities_differ"] = self.diff.entities()
        return out


def rebuild(
    settings: Settings,
    app_id: str,
    workdir: Path,
    *,
    start: str = "beginning",
    report: Report = lambda p: None,
    serve: bool = False,
) -> Outcome:
    """The books rebuilt from ``start`` to the current end of every topic, published as the
    books of ``app_id`` (changelogs and committed offsets: workers can switch to them)."""
    config = client_config(settings.kafka)
    plan_ = plan(settings, app_id, start=start)
    applied = apply_plan(config, plan_, settings, report=report)
    written = publish(config, applied, plan_, settings)
    books = render(applied.books, utc_now(), settings)
    extra = {"changelog_records": written, "undecodable": applied.undecodable,
             "refused": applied.refused}  # fmt: skip
    worker = _serving(settings, app_id, workdir, None) if serve else None
    return Outcome(plan_, applied.progress, worker, books, extra=extra)


def as_of(
    settings: Settings,
    app_id: str,
    workdir: Path,
    at: datetime,
    *,
    report: Report = lambda p: None,
    serve: bool = False,
) -> Outcome:
    """The books as they stood at ``at``: every record produced before it, lights at ``at``.
    With ``serve`` they are also published under ``app_id`` for a worker to answer from."""
    config = client_config(settings.kafka)
    plan_ = plan(settings, app_id, stop_at=at)
    applied = apply_plan(config, plan_, settings, report=report)
    books = render(applied.books, at, settings)
    worker = None
    if serve:
        publish(config, applied, plan_, settings)
        assert plan_.stops is not None
        worker = _serving(settings, app_id, workdir, plan_.stops)
    extra = {"undecodable": applied.undecodable, "refused": applied.refused}
    return Outcome(plan_, applied.progress, worker, books, extra=extra)


def _serving(settings: Settings, app_id: str, workdir: Path, stops: Offsets | None) -> ReplayWorker:
    """A read-only worker answering from the published books of ``app_id`` (it recovers them
    from their changelogs and holds at ``stops``, if any)."""
    worker = ReplayWorker(settings, app_id, workdir)
    if stops is not None:
        worker.stops_file = workdir / "stop-offsets.json"
        workdir.mkdir(parents=True, exist_ok=True)
        write_offsets(worker.stops_file, stops)
    worker.start()
    wait_ready(worker)
    return worker


def shadow(
    settings: Settings,
    app_id: str,
    workdir: Path,
    *,
    live_app_id: str | None = None,
    module: str | None = None,
    report: Report = lambda p: None,
) -> Outcome:
    """A second copy of the processors (``module``'s code) over the input the live workers have
    committed, compared with the live books entity by entity at one moment."""
    config = client_config(settings.kafka)
    live = live_app_id or settings.worker.app_id
    partitions = topic_partitions(config, PROCESSED)
    committed = committed_offsets(config, live)
    begins = beginning_offsets(config, partitions)
    stops = {tp: committed.get(tp, begins[tp]) for tp in partitions}
    now = utc_now()
    live_books = render(from_changelogs(config, live), now, settings)
    plan_ = plan(settings, app_id, stops=stops)
    worker = ReplayWorker(
        settings, app_id, workdir, stops_file=workdir / "stop-offsets.json", module=module
    )
    with worker.running_to(plan_, report=report) as progress:
        books = worker.snapshot(now)
    return Outcome(plan_, progress, worker, books, diff(live_books, books))
