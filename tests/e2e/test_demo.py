"""`midfield demo --check`: the whole hub on its own embedded broker, verified over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
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
    assert verdict["entries"] == verdict["expected_entries"] == 6
    assert verdict["dead_letters"] == 1
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
