"""`midfield demo --check`: the whole hub on its own embedded broker, verified over HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from midfield.broker import free_port
from tests.harness import REPO


def test_demo_check_runs_the_hub_and_verifies_the_books(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "midfield",
            "demo",
            "--check",
            "--workdir",
            str(tmp_path / "demo"),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(Path.home())},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    verdict = json.loads(proc.stdout.strip().splitlines()[-1])
    assert verdict["ok"] is True
    assert verdict["entries"] == verdict["expected_entries"] == 8  # 6 fax-log, 2 fax-mail
    assert verdict["dead_letters"] == 2  # a malformed xferfaxlog line, a PNG fax mail
    assert "duty-log?date=" in proc.stdout


def test_help_lists_every_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "midfield", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO)},
    )
    for command in ("broker", "topics", "connect", "worker", "demo"):
        assert command in proc.stdout


def _descendants_and_broker(root: int, port: str) -> set[int]:
    """Pids of ``root``'s children and of the Tansu process listening on ``port``."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text().rsplit(") ", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(stat[1]) == root or f"tcp://127.0.0.1:{port}" in cmdline:
            found.add(int(proc.name))
    return found


def test_ctrl_c_stops_everything_the_demo_started(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "midfield", "demo", "--workdir", str(tmp_path / "demo"),
         "--port", str(free_port())],
        stdout=subprocess.PIPE, stderr=(tmp_path / "demo.stderr").open("wb"), text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(Path.home())},
    )  # fmt: skip
    assert demo.stdout is not None
    lines = []
    for line in demo.stdout:
        lines.append(line)
        if "Ctrl-C stops the demo" in line:
            break
    port = lines[0].split("broker 127.0.0.1:")[1].split(",")[0]
    started = _descendants_and_broker(demo.pid, port)
    try:
        logs = (tmp_path / "demo.stderr").read_text(errors="replace")[-3000:]
        # broker, worker, fax-log, fax-mail, tasks, telegram, duty, board, hotline, wechat
        assert len(started) == 10, (lines, logs)
    finally:  # whatever the assertion said: Ctrl-C, and nothing may be left running
        demo.send_signal(signal.SIGINT)
        try:
            code = demo.wait(timeout=60)
        except subprocess.TimeoutExpired:  # the failure is the timeout; leave no process behind
            for pid in [demo.pid, *started]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise
    assert code == 0
    time.sleep(0.5)
    alive = {pid for pid in started if Path(f"/proc/{pid}").exists()}
    assert not alive, f"still running after Ctrl-C: {alive}"
