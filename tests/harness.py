"""Test harness: the broker the suite runs against, and real Midfield processes around it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from midfield.broker import free_port
from midfield.settings import KafkaSettings
from midfield.shutdown import stop_child
from schemas.catalog import DEADLETTER
from schemas.deadletter import DeadLetter

REPO = Path(__file__).resolve().parent.parent

READER_KEY = "test-reader-key-6f1c0d9e2b7a4c58"
"""A system principal with every office role, in every directory a test worker reads
(:func:`with_reader`): what the suite reads the worker's books with. The access tests use
narrower principals of their own."""
SCRAPE_TOKEN = "test-scrape-token-9a8b7c6d5e4f"
"""``MIDFIELD_ACCESS_SCRAPE_TOKEN`` of every process the harness starts: /metrics with it."""
_READER_SECTION = (
    "\n[systems.test-reader]\n"
    'roles = ["director", "duty-officer", "supervision", "ops", "replay"]\n'
    f'api_keys = ["{READER_KEY}"]\n'
)


def with_reader(directory: Path | None, out: Path) -> Path:
    """``directory`` (a departments TOML, or none) with the test reader added, written to
    ``out``; the original is left as it is."""
    text = directory.read_text(encoding="utf-8") if directory else ""
    if "[systems.test-reader]" not in text:
        text += _READER_SECTION
    out.write_text(text, encoding="utf-8")
    return out


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    kind: str  # "external" | "apache-kafka" (make test-kafka's) | "testcontainers" | "embedded"
    profile: str  # the MIDFIELD_KAFKA_PROFILE that suits it

    @property
    def is_tansu(self) -> bool:
        return self.kind == "embedded"

    def kafka_settings(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.bootstrap, profile=self.profile)  # type: ignore[arg-type]

    def env(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "MIDFIELD_KAFKA_PROFILE": self.profile}

    def results_name(self, bench: str) -> str:
        """``bench/results`` file name of a run on this broker: ``soak.json`` on the embedded
        broker, ``soak-apache-kafka.json`` in the Kafka lane; one lane does not overwrite the
        other's numbers."""
        return f"{bench}.json" if self.is_tansu else f"{bench}-{self.kind}.json"

    @property
    def rejoin_s(self) -> float:
        """How much longer than a quiet start a worker may take to get its partitions: a
        member killed without leaving keeps them until its session is over (2 s on the
        embedded profile, 60 s on the kafka profile's production timings)."""
        return self.kafka_settings().group_timings.session_timeout

    @property
    def sink_rejoin_s(self) -> float:
        """The same for the department sink's kafka-python consumer: 2 s on the embedded
        profile (connectors/sinks/department_runner.py), kafka-python's default session on kafka."""
        from kafka import KafkaConsumer

        default_s = KafkaConsumer.DEFAULT_CONFIG["session_timeout_ms"] / 1000
        return 2.0 if self.profile == "embedded" else float(default_s)


def _authorized(url: str, key: str | None) -> urllib.request.Request:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return urllib.request.Request(url, headers=headers)


def scrape(
    url: str, key: str | None = SCRAPE_TOKEN
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` parsed by prometheus-client's own parser: ``{(name, labels): value}``."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(_authorized(url, key), timeout=5) as resp:
        text = resp.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def http_get(url: str, timeout: float = 5.0, *, key: str | None = READER_KEY) -> tuple[int, Any]:
    """GET ``url`` with ``Authorization: Bearer <key>`` (the test reader's unless given; none
    for ``None``); ``(status, parsed JSON)``; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(_authorized(url, key), timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


def every_page(url: str, field: str, *, key: str | None = READER_KEY) -> list[Any]:
    """``field`` of every page of a long list at ``url`` (``/duty-log``, ``/alerts``,
    ``/ledger``), 1000 at a time, following ``next``: books on a shared broker may hold more
    than one page of other tests' entries."""
    found: list[Any] = []
    after = None
    while True:
        query = {"limit": "1000"} | ({"after": after} if after else {})
        page = f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(query)}"
        status, body = http_get(page, key=key)
        if status != 200:
            raise AssertionError(f"GET {page} answered {status}: {body}")
        found += body[field]
        after = body["next"]
        if after is None:
            return found


def http_get_bytes(
    url: str, timeout: float = 10.0, *, key: str | None = READER_KEY
) -> tuple[int, bytes, Any]:
    """GET ``url`` as :func:`http_get` does; ``(status, body, headers)`` whatever the body."""
    try:
        with urllib.request.urlopen(_authorized(url, key), timeout=timeout) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def http_post(
    url: str, body: Any, *, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> tuple[int, Any]:
    """POST ``body`` (JSON unless it is bytes) to ``url``; ``(status, parsed JSON answer)``."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait_for(predicate: Any, *, timeout: float, interval: float = 0.1, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


def midfield_env(broker: Broker, workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIDFIELD_", "KAFKA_"))}
    env |= broker.env() | {
        "MIDFIELD_LOG_FORMAT": "json",
        "MIDFIELD_CONNECT_STATE_DIR": str(workdir / "state"),
        "MIDFIELD_WORKER_DATA_DIR": str(workdir / "worker-data"),
        "MIDFIELD_ACCESS_SCRAPE_TOKEN": SCRAPE_TOKEN,
        # the suite's keys are short to read ("office-key"); the default minimum is tested in
        # tests/unit/test_access.py::test_a_short_api_key_stops_the_directory
        "MIDFIELD_DEPARTMENTS_MIN_KEY_LENGTH": "1",
        "PYTHONPATH": str(REPO),
    }
    return env | extra


def run_cli(
    args: list[str], env: dict[str, str], *, cwd: Path, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "midfield", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"midfield {' '.join(args)} exited {proc.returncode}:\n"
            f"{proc.stdout}\n{proc.stderr[-4000:]}"
        )
    return proc


def spawn_cli(args: list[str], env: dict[str, str], *, cwd: Path) -> subprocess.Popen[str]:
    """``midfield ARGS`` in the background: stdout piped as text, stderr to ``cwd/cli.stderr``
    (a pipe nobody reads could fill up and block the process)."""
    stderr = (cwd / "cli.stderr").open("ab")
    return subprocess.Popen([sys.executable, "-m", "midfield", *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=stderr, text=True)  # fmt: skip


def stop_processes(
    *procs: subprocess.Popen[Any], timeout: float = 20
) -> list[subprocess.Popen[Any]]:
    """SIGTERM every process at once, then wait for each; one that outlives ``timeout`` is
    killed. The ones killed."""
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    killed = []
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            killed.append(proc)
    return killed


@contextmanager
def serving_all(
    sources: Iterable[str], env: dict[str, str], *, cwd: Path, args: Sequence[str] = ()
) -> Iterator[dict[str, str]]:
    """``midfield connect SOURCE --port <a free port> ARGS`` for every source at once, for the
    block, once each ``/ready`` answers 200: their URLs by source. SIGTERM stops them at the end;
    one still running 20 s later is killed and fails the test."""
    ports = {source: free_port() for source in sources}
    procs = [
        spawn_cli(["connect", source, "--port", str(port), *args], env, cwd=cwd)
        for source, port in ports.items()
    ]
    urls = {source: f"http://127.0.0.1:{port}" for source, port in ports.items()}
    try:
        for source, url in urls.items():
            wait_for(
                lambda u=url: http_get(u + "/ready")[0] == 200, timeout=60, what=f"{source} ready"
            )
        yield urls
    finally:
        killed = stop_processes(*procs)
        assert not killed, f"killed, still running 20 s after SIGTERM: {[p.args for p in killed]}"


@contextmanager
def serving(
    source: str, env: dict[str, str], *, cwd: Path, args: Sequence[str] = ()
) -> Iterator[str]:
    """:func:`serving_all` for one source: its URL."""
    with serving_all([source], env, cwd=cwd, args=args) as urls:
        yield urls[source]


@dataclass
class WorkerProcess:
    """``midfield worker`` in a child process, its log in ``workdir``."""

    broker: Broker
    workdir: Path
    app_id: str
    port: int = field(default_factory=free_port)
    env_extra: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WorkerProcess:
        self.starts += 1
        given = self.env_extra.get("MIDFIELD_DEPARTMENTS_FILE")
        directory = with_reader(
            Path(given) if given else None, self.workdir / f"directory-{self.app_id}.toml"
        )
        env = midfield_env(
            self.broker,
            self.workdir,
            MIDFIELD_WORKER_APP_ID=self.app_id,
            MIDFIELD_WORKER_WEB_PORT=str(self.port),
            **(self.env_extra | {"MIDFIELD_DEPARTMENTS_FILE": str(directory)}),
        )
        log = (self.workdir / f"worker-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "midfield", "worker"],
            env=env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    @contextmanager
    def running(self, timeout: float = 60) -> Iterator[WorkerProcess]:
        """The worker started and ready (:meth:`wait_ready`) for the block, stopped at its end."""
        self.start()
        try:
            self.wait_ready(timeout)
            yield self
        finally:
            self.stop()

    def get(self, path: str) -> tuple[int, Any]:
        return http_get(self.url + path)

    def every(self, path: str, field: str) -> list[Any]:
        """``field`` of every page of the long list at ``path`` (:func:`every_page`)."""
        return every_page(self.url + path, field)

    def wait_for_status(self, path: str, status: str, *, timeout: float = 30) -> Any:
        """What ``path`` answers (a task's or a work order's book) once its ``status`` is
        ``status``."""

        def reached() -> Any:
            code, body = self.get(path)
            return code == 200 and body["status"] == status and body

        return wait_for(reached, timeout=timeout, what=f"{path} {status}")

    def wait_ready(self, timeout: float = 60) -> None:
        """Until ``/ready`` answers 200; ``timeout`` plus the group's rejoin allowance (a
        killed member's session must run out first, :attr:`Broker.rejoin_s`)."""
        timeout += self.broker.rejoin_s

        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log_tail()
            return self.get("/ready")[0] == 200

        wait_for(ready, timeout=timeout, what=f"worker {self.app_id} ready")

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        if self.proc:
            stop_child(self.proc, timeout_s=30, sig=sig)

    def log_tail(self, chars: int = 3000) -> str:
        log = self.workdir / f"worker-{self.starts}.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""

    def wait(self, predicate: Any, *, timeout: float, what: str) -> Any:
        """:func:`wait_for`, and when it times out, the worker's own warnings and errors in the
        failure: a worker that stalled says why (a CI run keeps no worker log)."""
        try:
            return wait_for(predicate, timeout=timeout, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nworker {self.app_id} said:\n{self.troubles()}") from None

    def troubles(self) -> str:
        return troubles(self.workdir / f"worker-{self.starts}.log")


RunWorker = Callable[..., AbstractContextManager[WorkerProcess]]
"""The ``run_worker`` fixture (tests/conftest.py): ``run_worker(name, directory, **settings)``."""


def troubles(log: Path, lines: int = 15, chars: int = 400) -> str:
    """The last ``lines`` warning or error lines of a JSON log, each cut to ``chars``."""
    if not log.exists():
        return "(no log)"
    found = [line[:chars] for line in log.read_text(errors="replace").splitlines()
             if '"level": "warning"' in line or '"level": "error"' in line]  # fmt: skip
    return "\n".join(found[-lines:]) or "(no warning or error)"


def stored_books(books: dict[str, Any]) -> dict[str, Any]:
    """A snapshot of the books (``/replay/books``, a rebuild's output) as they are stored, to
    compare two of them: lights are left out (they depend on the moment they are read) and so is
    the audit book (it counts the reads of the books, the comparison's own among them, which two
    runs differ in by construction)."""
    return {
        name: {
            k: {f: v for f, v in e.items() if f not in ("light", "light_reason")}
            for k, e in entities.items()
        }
        for name, entities in books.items()
        if name != "audit"
    }


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    partition: int
    offset: int
    timestamp: int = 0
    """Milliseconds since the epoch."""


def read_topic(broker: Broker, topic: str, *, timeout: float = 30) -> list[Record]:
    """Every record of ``topic`` from the beginning up to its true end (fetch high watermark)."""
    from kafka import TopicPartition

    from midfield.bus.clients import client_config
    from midfield.bus.consumer import probe_consumer
    from midfield.bus.watermarks import topic_end_offsets

    config = client_config(broker.kafka_settings())
    ends = {tp: end for tp, end in topic_end_offsets(config, [topic]).items() if end}
    records: list[Record] = []
    with probe_consumer(config, auto_offset_reset="earliest") as consumer:
        consumer.assign([TopicPartition(t, p) for t, p in ends])
        done = dict.fromkeys(ends, 0)
        deadline = time.monotonic() + timeout
        while any(done[tp] < end for tp, end in ends.items()):
            assert time.monotonic() < deadline, f"read {len(records)} records of {topic}"
            for tp, batch in consumer.poll(timeout_ms=500).items():
                key = (tp.topic, tp.partition)
                for msg in batch:
                    if msg.offset < ends[key]:
                        headers = dict(msg.headers or ())
                        records.append(
                            Record(
                                msg.key, msg.value, headers, tp.partition, msg.offset, msg.timestamp
                            )
                        )
                    done[key] = max(done[key], msg.offset + 1)
    return records


def dead_letters(broker: Broker, source: str | None = None) -> list[DeadLetter]:
    """The dead letters on the broker; with ``source`` (a connector's URI, the letters' key), only
    that connector's."""
    return [
        DeadLetter.from_value(r.value)
        for r in read_topic(broker, DEADLETTER)
        if source is None or r.key == source.encode()
    ]


def produce(broker: Broker, envelopes: list[Any], topic: str | None = None) -> None:
    """Send envelopes (schemas.envelope.Envelope) as a connector would: binary CloudEvents,
    key = subject, to their own topic unless ``topic`` is given; waits for the broker."""
    from kafka import KafkaProducer

    from midfield.bus.clients import client_config

    producer = KafkaProducer(**client_config(broker.kafka_settings()), acks="all")
    try:
        for envelope in envelopes:
            producer.send(topic or envelope.topic, key=envelope.key(), value=envelope.value(),
                          headers=envelope.headers()).get(timeout=30)  # fmt: skip
    finally:
        producer.close(timeout=5)


def departments_file(path: Path, codes: dict[str, str], **extra: dict[str, Any]) -> Path:
    """A departments TOML file (midfield/departments.py): ``codes`` maps code -> API key;
    ``extra[code]`` adds fields such as webhook_url. The office's key is ``office-key``; the test
    reader (:data:`READER_KEY`) is in it too."""
    lines = ["[office]", 'api_keys = ["office-key"]']
    for code, key in codes.items():
        lines += [f"[departments.{code}]", f'name = "部门{code}"', f'api_keys = ["{key}"]']
        lines += [f"{name} = {json.dumps(value)}" for name, value in extra.get(code, {}).items()]
    path.write_text("\n".join(lines) + "\n" + _READER_SECTION, encoding="utf-8")
    return path


def people_file(
    path: Path,
    people: dict[str, tuple[tuple[str, ...], str | None, str]],
    departments: dict[str, str] | None = None,
    systems: dict[str, tuple[tuple[str, ...], str]] | None = None,
) -> Path:
    """A directory TOML with ``departments`` (code -> key, as :func:`departments_file`),
    ``people`` (login -> (roles, department or None, password)) and ``systems``
    (code -> (roles, key)). Passwords are stored as the product stores them: scrypt hashes."""
    from midfield.access import hash_password

    departments_file(path, departments or {})
    lines = [path.read_text(encoding="utf-8")]
    for login, (roles, department, password) in people.items():
        lines += [f"[people.{login}]", f'name = "{login}"', f"roles = {json.dumps(list(roles))}",
                  f'password_hash = "{hash_password(password)}"']  # fmt: skip
        if department:
            lines.append(f'department = "{department}"')
    for code, (roles, key) in (systems or {}).items():
        lines += [f"[systems.{code}]", f"roles = {json.dumps(list(roles))}",
                  f'api_keys = ["{key}"]']  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
