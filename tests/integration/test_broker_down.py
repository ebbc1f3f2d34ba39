"""DESIGN §10 "broker down": a connector keeps its position and retries until the broker is back."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from midfield.broker import EmbeddedBroker, free_port
from midfield.bus.topics import create_topics
from midfield.settings import KafkaSettings, TopicSettings
from tests.harness import (
    Broker,
    WorkerProcess,
    departments_file,
    http_get,
    http_post,
    midfield_env,
    read_topic,
    serving,
    spawn_cli,
    wait_for,
)
from tests.samples import fax_line


def test_connector_started_before_its_broker_waits_then_delivers(
    broker: Broker, workdir: Path, unique: str
) -> None:
    port = free_port()
    log = workdir / "xferfaxlog"
    log.write_text(fax_line(1) + fax_line(2))
    down = Broker(f"127.0.0.1:{port}", "embedded", "embedded")
    env = midfield_env(
        down,
        workdir,
        MIDFIELD_KAFKA_REQUEST_TIMEOUT_MS="2000",
        MIDFIELD_KAFKA_RETRY_BACKOFF_S="0.2",
        MIDFIELD_KAFKA_RETRY_BACKOFF_MAX_S="1",
    )
    args = ["connect", "fax-log", "--path", str(log), "--instance", unique, "--once"]
    connector = spawn_cli(args, env, cwd=workdir)
    try:
        time.sleep(4)
        assert connector.poll() is None, (workdir / "cli.stderr").read_text()[-3000:]
        assert not list((workdir / "state").glob("*.json")), "no position before the broker has it"
        with EmbeddedBroker(workdir / "late-broker").running(port=port):
            create_topics(KafkaSettings(bootstrap_servers=down.bootstrap), TopicSettings())
            out, _ = connector.communicate(timeout=60)
    finally:
        if connector.poll() is None:
            connector.kill()
    assert connector.returncode == 0, (workdir / "cli.stderr").read_text()[-3000:]
    assert json.loads(out)["events"] == 2


def test_broker_unresponsive_mid_stream_keeps_the_position_until_it_has_the_lines(
    workdir: Path, unique: str
) -> None:
    """A private broker, frozen with SIGSTOP (requests time out, connections stay open) and
    thawed with SIGCONT. Restarting Tansu instead would lose its memory-only log."""
    port = free_port()
    private = Broker(f"127.0.0.1:{port}", "embedded", "embedded")
    log = workdir / "xferfaxlog"
    log.write_text(fax_line(1))
    env = midfield_env(
        private,
        workdir,
        MIDFIELD_KAFKA_REQUEST_TIMEOUT_MS="2000",
        MIDFIELD_KAFKA_RETRY_BACKOFF_S="0.2",
        MIDFIELD_KAFKA_RETRY_BACKOFF_MAX_S="1",
    )
    offsets = workdir / "state" / f"fax-log.{unique}.offsets.json"
    with EmbeddedBroker(workdir / "broker").running(port=port) as status:
        create_topics(KafkaSettings(bootstrap_servers=private.bootstrap), TopicSettings())
        connector = spawn_cli(["connect", "fax-log", "--path", str(log), "--instance", unique],
                              env, cwd=workdir)  # fmt: skip
        try:
            wait_for(lambda: offsets.exists(), timeout=30, what="first position")
            committed = offsets.read_text()
            os.kill(status.pid, signal.SIGSTOP)
            try:
                with log.open("a") as out:
                    out.write(fax_line(2) + fax_line(3))
                time.sleep(5)
                assert connector.poll() is None, (workdir / "cli.stderr").read_text()[-3000:]
                assert offsets.read_text() == committed, "position moved while the broker hung"
            finally:
                os.kill(status.pid, signal.SIGCONT)
            wait_for(lambda: offsets.read_text() != committed, timeout=60, what="new position")
            keys = sorted(r.key for r in read_topic(private, "office.intake.fax.v1"))
        finally:
            connector.kill()
    assert set(keys) == {b"000000001", b"000000002", b"000000003"}


def test_tasks_api_answers_503_while_the_broker_hangs_and_accepts_the_retry_after(
    workdir: Path, unique: str
) -> None:
    """DESIGN §10: an HTTP intake acknowledges nothing the broker does not have; the sender's
    retry (same Idempotency-Key) after the broker is back becomes the one event."""
    port = free_port()
    private = Broker(f"127.0.0.1:{port}", "embedded", "embedded")
    directory = departments_file(workdir / "departments.toml", {"edu": "edu-key"})
    env = midfield_env(
        private,
        workdir,
        MIDFIELD_KAFKA_REQUEST_TIMEOUT_MS="2000",
        MIDFIELD_DEPARTMENTS_FILE=str(directory),
    )
    body = {
        "task_id": f"DC-{unique}",
        "title": "t",
        "deadline": "2099-01-01",
        "lead_department": "edu",
    }
    headers = {"Authorization": "Bearer office-key", "Idempotency-Key": unique}
    with EmbeddedBroker(workdir / "broker").running(port=port) as status:
        create_topics(KafkaSettings(bootstrap_servers=private.bootstrap), TopicSettings())
        with serving("tasks", env, cwd=workdir) as url:
            os.kill(status.pid, signal.SIGSTOP)
            try:
                answer = http_post(url + "/tasks", body, headers=headers, timeout=30)
                assert (answer[0], answer[1]["error"]) == (503, "broker-unavailable")
                assert wait_for(
                    lambda: http_get(url + "/ready")[0] == 503, timeout=30, what="/ready 503"
                )
            finally:
                os.kill(status.pid, signal.SIGCONT)
            created = wait_for(
                lambda: (
                    (a := http_post(url + "/tasks", body, headers=headers, timeout=30))[0]
                    in (200, 201)
                    and a
                ),
                timeout=60,
                what="accepted after the broker is back",
            )
            ids = {r.headers["ce_id"] for r in read_topic(private, "office.supervision.task.v1")}
    assert ids == {created[1]["id"].encode()}


LOST_BROKER_LINES = 30
"""Issue 19 item 7: a process whose broker is gone writes at most this many log lines in the
first 25 s (before: the worker ~59 a second). docs/brokers.md states the per-minute bound."""
SHUTDOWN_TIMEOUT_S = 5.0


def _log_lines(path: Path) -> int:
    return len(path.read_text(errors="replace").splitlines()) if path.exists() else 0


def test_a_lost_broker_is_logged_at_a_bounded_rate_and_every_process_stops_in_time(
    workdir: Path, unique: str
) -> None:
    """The broker is SIGKILLed under a running worker, a fax-log connector and two HTTP intakes
    (duty and WeChat); a duty request is in flight when they are told to stop. Each writes at
    most LOST_BROKER_LINES lines in 25 s and exits within its shutdown timeout (+1 s)."""
    port = free_port()
    private = Broker(f"127.0.0.1:{port}", "embedded", "embedded")
    directory = departments_file(workdir / "departments.toml", {"edu": "edu-key"})
    timeouts = {"MIDFIELD_WORKER_SHUTDOWN_TIMEOUT_S": str(SHUTDOWN_TIMEOUT_S),
                "MIDFIELD_CONNECT_SHUTDOWN_TIMEOUT_S": str(SHUTDOWN_TIMEOUT_S)}  # fmt: skip
    env = midfield_env(private, workdir, MIDFIELD_DEPARTMENTS_FILE=str(directory),
                       MIDFIELD_WECHAT_TOKEN="token", **timeouts)  # fmt: skip
    fax_log = workdir / "xferfaxlog"
    fax_log.write_text(fax_line(1))
    duty_port, wechat_port = free_port(), free_port()
    commands = {
        "fax-log": ["connect", "fax-log", "--path", str(fax_log), "--instance", unique],
        "duty": ["connect", "duty", "--port", str(duty_port)],
        "wechat": ["connect", "wechat", "--port", str(wechat_port)],
    }
    with EmbeddedBroker(workdir / "broker").running(port=port) as status:
        create_topics(private.kafka_settings(), TopicSettings())
        worker = WorkerProcess(private, workdir, f"lost-{unique}", env_extra=timeouts).start()
        procs = {}
        for name, args in commands.items():
            (workdir / name).mkdir()
            procs[name] = spawn_cli(args, env, cwd=workdir / name)
        try:
            worker.wait_ready(timeout=90)
            for p in (duty_port, wechat_port):
                url = f"http://127.0.0.1:{p}/ready"
                wait_for(lambda u=url: http_get(u)[0] == 200, timeout=60, what=url)
            logs = {"worker": workdir / "worker-1.log",
                    **{n: workdir / n / "cli.stderr" for n in procs}}  # fmt: skip
            before = {n: _log_lines(p) for n, p in logs.items()}
            os.kill(status.pid, signal.SIGKILL)
            os.waitpid(status.pid, 0)
            time.sleep(25)
            written = {n: _log_lines(p) - before[n] for n, p in logs.items()}
            alive = {n: p.poll() is None for n, p in [("worker", worker.proc), *procs.items()]}
            in_flight = threading.Thread(target=_duty_call, args=(duty_port,), daemon=True)
            in_flight.start()
            time.sleep(1)
            took = _stop_all(
                {
                    "worker": (worker.proc, signal.SIGINT),
                    "fax-log": (procs["fax-log"], signal.SIGINT),
                    "duty": (procs["duty"], signal.SIGTERM),
                    "wechat": (procs["wechat"], signal.SIGTERM),
                }
            )
        finally:
            for proc in [worker.proc, *procs.values()]:
                if proc is not None and proc.poll() is None:
                    proc.kill()
    assert all(alive.values()), alive
    assert max(written.values()) <= LOST_BROKER_LINES, written
    assert max(took.values()) <= SHUTDOWN_TIMEOUT_S + 1, took


def _duty_call(port: int) -> None:
    call = {"entry_id": "D-lost", "kind": "call", "time": "2025-07-02T14:05:00", "unit": "城关镇",
            "person": "张伟", "content": "水管爆裂", "recorder": "李华"}  # fmt: skip
    with contextlib.suppress(OSError):
        http_post(f"http://127.0.0.1:{port}/duty/entries", call,
                  headers={"Authorization": "Bearer office-key"}, timeout=60)  # fmt: skip


def _stop_all(procs: dict[str, tuple[Any, int]]) -> dict[str, float]:
    """Signal every process at once; how long each took to exit (inf: not within 30 s)."""
    start = time.monotonic()
    for proc, sig in procs.values():
        proc.send_signal(sig)
    took = {}
    for name, (proc, _) in procs.items():
        try:
            proc.wait(timeout=max(0.1, 30 - (time.monotonic() - start)))
            took[name] = round(time.monotonic() - start, 1)
        except subprocess.TimeoutExpired:
            took[name] = float("inf")
    return took
