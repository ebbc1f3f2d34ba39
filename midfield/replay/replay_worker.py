"""The read-only worker a replay runs new code in (``replay shadow``, the processor cases) or
serves replayed books from (``--serve``).

A **replay worker** is a ``midfield worker`` child process under an application id of its own,
so it has its own consumer group and tables and cannot disturb the live workers:

1. the start offsets are committed for the new group before the worker joins it, so the worker
   starts exactly there (:func:`run_to_targets`);
2. it runs read-only (``MIDFIELD_REPLAY_READ_ONLY``): it writes its tables and nothing else, no
   notices, alerts, reminders or dead letters, its timers idle;
3. with stop offsets, records at or after them are read but not applied;
4. progress is the group's committed offsets against the plan's targets
   (midfield/replay/run.py); it is caught up when every partition has committed its target;
5. its books are read over ``GET /replay/books`` as one snapshot.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from midfield.broker import free_port
from midfield.bus.clients import client_config
from midfield.errors import MidfieldError
from midfield.replay.books import Snapshot
from midfield.replay.offsets import commit_offsets, committed_offsets, write_offsets
from midfield.replay.run import Plan, Progress, caught_up
from midfield.settings import Settings
from midfield.shutdown import stop_child

__all__ = ["ReplayError", "ReplayWorker", "run_to_targets", "wait_ready"]


class ReplayError(MidfieldError):
    """A replay that cannot go on (its worker died, it stopped moving)."""


@dataclass
class ReplayWorker:
    """A read-only ``midfield worker`` child process under the replay's application id."""

    settings: Settings
    app_id: str
    workdir: Path
    stops_file: Path | None = None
    module: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    """More environment for the child process (a private broker's address, say)."""
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    """This run's own API key: the replay reads ``/replay/books`` with it (docs/security.md)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _directory(self) -> Path:
        """The office's directory (its people may read a ``--serve`` worker) plus this run's
        key with the replay role, readable by this user only."""
        given = self.settings.departments.file
        text = Path(given).read_text(encoding="utf-8") if given else ""
        path = self.workdir / "directory.toml"
        path.touch(mode=0o600)
        path.write_text(
            f'{text}\n[systems.replay-run]\nroles = ["replay"]\napi_keys = ["{self.key}"]\n',
            encoding="utf-8",
        )
        return path

    @property
    def log_path(self) -> Path:
        return self.workdir / "worker.log"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = (
            dict(os.environ)
            | {
                "MIDFIELD_WORKER_APP_ID": self.app_id,
                "MIDFIELD_WORKER_WEB_PORT": str(self.port),
                "MIDFIELD_WORKER_WEB_HOST": "127.0.0.1",
                "MIDFIELD_WORKER_DATA_DIR": str(self.workdir / "data"),
                "MIDFIELD_REPLAY_READ_ONLY": "true",
                "MIDFIELD_DEPARTMENTS_FILE": str(self._directory()),
            }
            | self.env
        )
        if self.stops_file is not None:
            env["MIDFIELD_REPLAY_STOP_OFFSETS_FILE"] = str(self.stops_file)
        if self.module is not None:
            env["MIDFIELD_REPLAY_MODULE"] = self.module
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "midfield", "worker", "--no-create-topics"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            tail = (
                self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
            )
            raise ReplayError(f"the replay worker exited; its log ends:\n{tail}", reason="worker")

    def get(self, path: str, timeout: float = 30.0) -> Any:
        import json
        import urllib.request

        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {self.key}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read())

    def snapshot(self, at: datetime) -> Snapshot:
        from urllib.parse import quote

        books: Snapshot = self.get(f"/replay/books?at={quote(at.isoformat())}")
        return books

    def stop(self) -> None:
        if self.proc is not None:
            stop_child(self.proc, timeout_s=30)

    @contextmanager
    def running_to(
        self, plan_: Plan, *, report: Callable[[Progress], None] = lambda p: None
    ) -> Iterator[Progress]:
        """Run to ``plan_``'s targets (:func:`run_to_targets`); stopped when the block ends."""
        try:
            yield run_to_targets(self.settings, plan_, self, report=report)
        finally:
            self.stop()


def run_to_targets(
    settings: Settings,
    plan_: Plan,
    worker: ReplayWorker,
    *,
    report: Callable[[Progress], None] = lambda p: None,
    interval_s: float = 0.5,
    stall_s: float = 120.0,
) -> Progress:
    """Commit the start offsets, start ``worker`` and wait until its group has committed every
    target; ``report`` is called with the progress as it goes. The worker is left running."""
    config = client_config(settings.kafka)
    commit_offsets(config, plan_.app_id, plan_.starts)
    if plan_.stops is not None:
        assert worker.stops_file is not None, "a plan with stops needs the worker's stops file"
        worker.stops_file.parent.mkdir(parents=True, exist_ok=True)
        write_offsets(worker.stops_file, plan_.stops)
    began = time.monotonic()
    worker.start()
    done, moved = -1, began
    while True:
        worker.check_alive()
        now_done = caught_up(committed_offsets(config, plan_.app_id), plan_)
        progress = Progress(now_done, plan_.events, time.monotonic() - began)
        report(progress)
        if now_done >= plan_.events and _ready(worker):
            return progress
        if now_done != done:
            done, moved = now_done, time.monotonic()
        elif time.monotonic() - moved > stall_s:
            raise ReplayError(
                f"no progress for {stall_s:.0f} s at {now_done:,}/{plan_.events:,} events; "
                f"see {worker.log_path}",
                reason="stalled",
            )
        time.sleep(interval_s)


def wait_ready(worker: ReplayWorker, timeout_s: float = 120.0) -> None:
    """Until ``worker`` answers ready (joined, tables recovered); ``ReplayError`` if it dies."""
    deadline = time.monotonic() + timeout_s
    while not _ready(worker):
        worker.check_alive()
        if time.monotonic() > deadline:
            raise ReplayError(f"not ready after {timeout_s:.0f} s; see {worker.log_path}",
                              reason="stalled")  # fmt: skip
        time.sleep(0.5)


def _ready(worker: ReplayWorker) -> bool:
    try:
        return bool(worker.get("/ready", timeout=5).get("ready"))
    except OSError:
        return False
