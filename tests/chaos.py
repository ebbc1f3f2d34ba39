"""The soak's chaos driver: Midfield processes that are SIGKILLed at random and started again.

Each :class:`Supervised` process is a ``midfield`` command line (a connector or the worker),
started again at once whenever it dies. Two kinds of kill:

* *fault-point* kills: the process is started with ``MIDFIELD_FAULTS=<point>=kill@N`` (N
  random) and dies by itself the Nth time it reaches the point (midfield/faults.py): a
  connector after the broker acknowledged a batch whose position is not saved yet; the worker
  after a batch's side effects were sent and before its books were written, or after they were
  written and before its offsets were committed: windows a random external kill rarely hits;
* external SIGKILLs at random moments, sent by the :class:`Chaos` thread.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from midfield.shutdown import stop_child
from tests.harness import troubles

__all__ = ["Chaos", "Supervised"]


@dataclass
class Supervised:
    """A ``midfield`` process that is started again whenever it dies, until :meth:`stop`."""

    name: str
    args: list[str]
    env: dict[str, str]
    cwd: Path
    rng: random.Random
    fault_points: tuple[str, ...] = ()
    """Where ``fault_kills_wanted`` of its starts die by themselves (midfield/faults.py): a
    connector's commit point; the worker's two batch points, taken in turn."""
    fault_kills_wanted: int = 0
    max_commits: int = 4
    """An armed start dies at a random one of its first ``max_commits`` commits: early in the
    run, while inputs still flow, so every planned fault-point kill happens."""
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    external_kills: int = 0
    fault_kills: int = 0
    fault_kills_at: Counter[str] = field(default_factory=Counter)
    armed: str | None = None
    """The fault point this start dies at, if any."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopped: bool = False

    @property
    def kills(self) -> int:
        return self.external_kills + self.fault_kills

    def start(self) -> None:
        self.starts += 1
        env = dict(self.env)
        self.armed = None
        if self.fault_points and self.fault_kills < self.fault_kills_wanted:
            self.armed = self.fault_points[self.fault_kills % len(self.fault_points)]
            # armed again after an external kill came first: die at the first commit, while
            # there may still be input to commit
            nth = 1 if self.external_kills else self.rng.randint(1, self.max_commits)
            env["MIDFIELD_FAULTS"] = f"{self.armed}=kill@{nth}"
        log = (self.cwd / f"{self.name}-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "midfield", *self.args],
            env=env,
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> bool:
        """SIGKILL it from outside and start it again (``False`` if it was not running)."""
        with self._lock:
            if self._stopped or self.proc is None or self.proc.poll() is not None:
                return False
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.external_kills += 1
            self.start()
            return True

    def keep_alive(self) -> None:
        """Start it again if it died by itself (a fault-point kill)."""
        with self._lock:
            if self._stopped or self.proc is None or self.proc.poll() is None:
                return
            if not (self.armed and self.proc.returncode == -signal.SIGKILL):
                raise AssertionError(
                    f"{self.name} exited {self.proc.returncode} on its own:\n{self.log()}"
                )
            self.fault_kills += 1
            self.fault_kills_at[self.armed or ""] += 1
            self.start()

    def stop(self) -> int | None:
        """SIGTERM and wait; its exit status."""
        with self._lock:
            self._stopped = True
            if self.proc is None:
                return None
            return stop_child(self.proc, timeout_s=30)

    def log(self, chars: int = 3000) -> str:
        path = self.cwd / f"{self.name}-{self.starts}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def troubles(self) -> str:
        """The warnings and errors of its current start's log."""
        return troubles(self.cwd / f"{self.name}-{self.starts}.log")

    def logs(self) -> list[Path]:
        return sorted(self.cwd.glob(f"{self.name}-*.log"))

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.external_kills} external + {self.fault_kills} fault-point kills,"
            f" {self.starts} starts{f', armed at {self.armed}' if self.armed else ''}"
        )


class Chaos(threading.Thread):
    """Sends each process its external kills at random moments within ``window_s`` seconds, and
    restarts what dies by itself, until :meth:`stop`."""

    def __init__(
        self,
        processes: list[Supervised],
        *,
        external: dict[str, int],
        window_s: float,
        rng: random.Random,
    ) -> None:
        super().__init__(daemon=True)
        self.processes = processes
        # a process that also dies at a fault point gets its external kills in the second half
        # of the window: its armed first start has the first half, while inputs flow, to reach
        # its fault point (a small source such as fax-mail once ran out of input first)
        self.plan = sorted(
            (rng.uniform(0.5 if p.fault_kills_wanted else 0.05, 1.0) * window_s, p.name)
            for p in processes
            for _ in range(external.get(p.name, 0))
        )
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            by_name = {p.name: p for p in self.processes}
            began = time.monotonic()
            pending = list(self.plan)
            while not self.done.is_set():
                while pending and pending[0][0] <= time.monotonic() - began:
                    _, name = pending.pop(0)
                    by_name[name].kill()
                for process in self.processes:
                    process.keep_alive()
                time.sleep(0.05)
        except BaseException as exc:  # re-raised in the test by stop()
            self.error = exc

    def check(self) -> bool:
        """``True`` while nothing went wrong; raises what stopped the driver."""
        if self.error is not None:
            raise AssertionError(f"the chaos driver stopped: {self.error}") from self.error
        return True

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=30)
        if self.error is not None:
            raise self.error
