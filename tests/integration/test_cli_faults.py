"""What a newcomer trips over at the command line (issue 19, items 8–10): a busy port, no broker
at the address, a missing input, a wrong option. Each fails at once, in one line, saying what
to do; real processes, real sockets on 127.0.0.1, no broker where none is wanted."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from midfield.broker import free_port
from tests.harness import Broker, departments_file, midfield_env, run_cli, spawn_cli, wait_for

NO_BROKER_WITHIN_S = 15.0
"""Interpreter start plus MIDFIELD_KAFKA_BOOTSTRAP_TIMEOUT_S (5 s); it took ~32 s before."""


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port this test process listens on, as another program would."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def nowhere(workdir: Path) -> dict[str, str]:
    """The environment of a process whose broker address has nothing behind it."""
    return midfield_env(Broker(f"127.0.0.1:{free_port()}", "embedded", "embedded"), workdir)


def _fails_fast(args: list[str], env: dict[str, str], cwd: Path) -> tuple[str, float]:
    start = time.monotonic()
    done = run_cli(args, env, cwd=cwd, timeout=60, check=False)
    took = time.monotonic() - start
    assert done.returncode != 0, done.stdout
    return done.stderr.strip(), took


# -- item 8: a busy port ----------------------------------------------------------------------
def test_worker_on_a_busy_port_names_the_port_and_who_holds_it(
    held_port: int, nowhere: dict[str, str], workdir: Path
) -> None:
    said, took = _fails_fast(["worker", "--port", str(held_port)], nowhere, workdir)
    assert said.startswith("error [port-in-use]: midfield worker: "), said
    assert f"port {held_port} on 127.0.0.1 is in use by pid {os.getpid()} (" in said
    assert took < NO_BROKER_WITHIN_S


def test_an_http_intake_on_a_busy_port_fails_before_it_starts(
    held_port: int, nowhere: dict[str, str], workdir: Path
) -> None:
    env = nowhere | {"MIDFIELD_WECHAT_TOKEN": "token"}
    said, _ = _fails_fast(["connect", "wechat", "--port", str(held_port)], env, workdir)
    assert said.startswith("error [port-in-use]: connect wechat: "), said
    assert f"port {held_port} on 127.0.0.1 is in use by pid {os.getpid()}" in said


def test_demo_on_a_busy_port_fails_at_once_and_starts_nothing(
    held_port: int, nowhere: dict[str, str], workdir: Path
) -> None:
    said, took = _fails_fast(
        ["demo", "--check", "--port", str(held_port), "--workdir", str(workdir / "demo")],
        nowhere,
        workdir,
    )
    assert said.startswith("error [port-in-use]: midfield demo"), said
    assert f"is in use by pid {os.getpid()}" in said
    assert took < 10 and not (workdir / "demo").exists()  # ~108 s before, then --check failed


# -- item 9: no broker at the address ---------------------------------------------------------
@pytest.mark.parametrize(
    "args", [["topics", "create"], ["worker"], ["replay", "rebuild", "--from", "beginning"]]
)
def test_a_command_without_a_broker_says_so_in_one_line_within_seconds(
    args: list[str], nowhere: dict[str, str], workdir: Path
) -> None:
    env = nowhere | {"MIDFIELD_WORKER_WEB_PORT": str(free_port())}
    said, took = _fails_fast(args, env, workdir)
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    assert said.splitlines() == [said], said  # one line, no JSON logs before it
    assert said.startswith(f"error [no-broker]: no broker answers at {bootstrap} "), said
    assert 'eval "$(midfield broker start)"' in said
    assert took < NO_BROKER_WITHIN_S


def test_a_once_import_of_a_missing_file_says_so_before_looking_for_a_broker(
    nowhere: dict[str, str], workdir: Path
) -> None:
    args = ["connect", "fax-log", "--path", str(workdir / "nonexistent"), "--once"]
    said, took = _fails_fast(args, nowhere, workdir)
    assert said == f"error [input-missing]: fax log {workdir / 'nonexistent'} does not exist"
    assert took < 10  # it retried the broker for minutes before


# -- item 10: silent waits, keys nobody can use, option types, the demo's help ----------------
def test_following_a_fax_log_that_does_not_exist_yet_says_once_that_it_waits(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    path = workdir / "later" / "xferfaxlog"
    path.parent.mkdir()
    env = midfield_env(catalog_topics, workdir)
    proc = spawn_cli(["connect", "fax-log", "--path", str(path), "--instance", unique], env,
                     cwd=workdir)  # fmt: skip
    stderr = workdir / "cli.stderr"
    try:
        wait_for(lambda: "waiting for the fax log to appear" in stderr.read_text(), timeout=30,
                 what="the waiting line")  # fmt: skip
        time.sleep(2)  # several more polls of a missing file
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    said = stderr.read_text()
    assert said.count("waiting for the fax log to appear") == 1
    assert str(path) in said


@pytest.mark.parametrize("intake", ["duty", "tasks"])
def test_an_intake_that_takes_api_keys_refuses_to_start_without_a_departments_file(
    intake: str, nowhere: dict[str, str], workdir: Path
) -> None:
    said, _ = _fails_fast(["connect", intake, "--port", str(free_port())], nowhere, workdir)
    assert said.startswith(f"error [no-departments-file]: connect {intake} takes API keys"), said
    assert "MIDFIELD_DEPARTMENTS_FILE" in said


def test_the_duty_intake_with_a_departments_file_starts_without_a_broker_and_stops_in_time(
    nowhere: dict[str, str], workdir: Path
) -> None:
    """It listens (503 until a broker answers) and, told to stop, exits within its shutdown
    timeout: before issue 19 it outlived SIGTERM by more than 20 s with no broker."""
    directory = departments_file(workdir / "departments.toml", {"edu": "edu-key"})
    port = free_port()
    env = nowhere | {"MIDFIELD_DEPARTMENTS_FILE": str(directory),
                     "MIDFIELD_CONNECT_SHUTDOWN_TIMEOUT_S": "3"}  # fmt: skip
    proc = spawn_cli(["connect", "duty", "--port", str(port)], env, cwd=workdir)
    try:
        wait_for(lambda: _listening(port), timeout=30, what="duty intake listening")
        time.sleep(3)  # its broker probes and topic follower are retrying by now
        stopping = time.monotonic()
        proc.terminate()
        proc.wait(timeout=20)
        assert time.monotonic() - stopping < 3 + 1.5
    finally:
        if proc.poll() is None:
            proc.kill()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    "args", [["connect", "fax-log", "--path", "x"], ["sink", "department", "--department", "edu"]]
)
def test_metrics_port_is_one_integer_option_everywhere(
    args: list[str], nowhere: dict[str, str], workdir: Path
) -> None:
    helped = run_cli([*args[:2], "--help"], nowhere, cwd=workdir).stdout
    assert "--metrics-port INTEGER" in helped
    wrong = run_cli([*args, "--metrics-port", "abc"], nowhere, cwd=workdir, check=False)
    assert wrong.returncode == 2
    assert "Invalid value for '--metrics-port': 'abc' is not a valid integer." in wrong.stderr


def test_an_option_out_of_range_is_named_without_pydantic_noise(
    nowhere: dict[str, str], workdir: Path
) -> None:
    wrong = run_cli(["connect", "wechat", "--port", "99999"], nowhere, cwd=workdir, check=False)
    assert wrong.returncode == 2
    assert "Error: --port: Input should be less than or equal to 65535" in wrong.stderr
    assert "pydantic" not in wrong.stderr and "validation error" not in wrong.stderr


def test_demo_help_names_everything_the_demo_runs(nowhere: dict[str, str], workdir: Path) -> None:
    helped = " ".join(run_cli(["demo", "--help"], nowhere, cwd=workdir).stdout.split())
    for part in ("worker", "dashboard", "fax log", "fax mail", "telegrams", "duty", "WeChat",
                 "board", "hotline", "tasks"):  # fmt: skip
        assert part in helped, part
    assert "broker, topics, worker and fax connector" not in helped
