"""DESIGN §10 "broker down": a connector keeps its position and retries until the broker is back."""

from __future__ import annotations

import json
import time
from pathlib import Path

from midfield.admin import create_topics
from midfield.broker import EmbeddedBroker, free_port
from midfield.settings import KafkaSettings, TopicSettings
from tests.harness import Broker, midfield_env, spawn_cli
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
