"""`midfield broker start|status|stop`: a real Tansu process, found and stopped by pid."""

from __future__ import annotations

import json
import os
from pathlib import Path

from midfield.bus.readiness import wait_for_broker
from tests.harness import Broker, midfield_env, run_cli


def test_start_prints_bootstrap_status_answers_json_and_stop_ends_the_process(
    broker: Broker, workdir: Path
) -> None:
    env = midfield_env(broker, workdir, MIDFIELD_RUN_DIR=str(workdir / "run"))
    started = run_cli(["broker", "start"], env, cwd=workdir)
    lines = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines())
    bootstrap = lines["KAFKA_BOOTSTRAP_SERVERS"]
    assert bootstrap.startswith("127.0.0.1:")
    assert lines["MIDFIELD_KAFKA_PROFILE"] == "embedded"
    try:
        wait_for_broker(bootstrap, timeout_s=5)
        status = json.loads(run_cli(["broker", "status", "--json"], env, cwd=workdir).stdout)
        assert status["bootstrap"] == bootstrap
        os.kill(status["pid"], 0)  # alive
        again = run_cli(["broker", "start"], env, cwd=workdir)
        assert f"KAFKA_BOOTSTRAP_SERVERS={bootstrap}" in again.stdout  # idempotent
    finally:
        assert run_cli(["broker", "stop"], env, cwd=workdir).stdout.strip() == "stopped"
    gone = run_cli(["broker", "status", "--json"], env, cwd=workdir, check=False)
    assert gone.returncode == 3
    assert json.loads(gone.stdout) == {"bootstrap": None, "pid": None}


def test_stop_without_a_broker_says_so(broker: Broker, workdir: Path) -> None:
    env = midfield_env(broker, workdir, MIDFIELD_RUN_DIR=str(workdir / "none"))
    assert run_cli(["broker", "stop"], env, cwd=workdir).stdout.strip() == "not running"
