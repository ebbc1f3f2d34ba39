"""DESIGN §10 "broker down": a connector keeps its position and retries until the broker is back."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from midfield.admin import create_topics
from midfield.broker import EmbeddedBroker, free_port
from midfield.settings import KafkaSettings, TopicSettings
from tests.harness import (
    Broker,
    departments_file,
    http_get,
    http_post,
    midfield_env,
    read_topic,
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
    connector = spawn_cli(
        [
            "connect",
            "fax-log",
            "--path",
            str(log),
            "--instance",
            unique,
            "--once",
        ],
        env,
        cwd=workdir,
    )
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
    port, api_port = free_port(), free_port()
    private = Broker(f"127.0.0.1:{port}", "embedded", "embedded")
    directory = departments_file(workdir / "departments.toml", {"edu": "edu-key"})
    env = midfield_env(
        private,
        workdir,
        MIDFIELD_KAFKA_REQUEST_TIMEOUT_MS="2000",
        MIDFIELD_DEPARTMENTS_FILE=str(directory),
    )
    url = f"http://127.0.0.1:{api_port}"
    body = {
        "task_id": f"DC-{unique}",
        "title": "t",
        "deadline": "2099-01-01",
        "lead_department": "edu",
    }
    headers = {"Authorization": "Bearer office-key", "Idempotency-Key": unique}
    with EmbeddedBroker(workdir / "broker").running(port=port) as status:
        create_topics(KafkaSettings(bootstrap_servers=private.bootstrap), TopicSettings())
        api = spawn_cli(["connect", "tasks", "--port", str(api_port)], env, cwd=workdir)
        try:
            wait_for(lambda: http_get(url + "/ready")[0] == 200, timeout=60, what="API ready")
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
        finally:
            api.send_signal(signal.SIGTERM)
            api.wait(timeout=20)
    assert ids == {created[1]["id"].encode()}
