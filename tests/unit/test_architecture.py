"""The layout's rules (docs/architecture.md): the import contracts in pyproject.toml hold, a
crossing breaks them, and no production module grows past the size a reader can hold."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "streams", "connectors", "midfield")
LINT = Path(sys.executable).with_name("lint-imports")

MAX_LINES = 320
"""About 300 lines: a module a newcomer reads in one sitting."""
STILL_LONG: set[str] = set()
"""Modules over the limit that the layout issue has yet to split (a ratchet: the test fails
when one of them is split and still listed, so the list only shrinks)."""


def _lint(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip


def test_the_import_contracts_hold() -> None:
    proc = _lint(REPO)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("streams/books/items.py", "import streams.views.labels", "the books are pure"),
        ("streams/worker/agents.py", "import midfield.replay.fast", "use no replay tooling"),
        ("streams/views/ops.py", "import streams.worker.emit", "views do not import the worker"),
        ("connectors/runtime/source.py", "import streams.books", "never import each other"),
        ("schemas/catalog.py", "import midfield.settings", "imports nothing of ours"),
        ("connectors/runtime/metered.py", "import midfield.demo.fax_samples", "command line only"),
        ("midfield/ports.py", "import connectors.runtime.deployment", "core uses neither"),
        ("connectors/sinks/webhook.py", "import kafka", "only midfield.bus imports"),
        ("streams/worker/transport.py", "from aiokafka import errors", "only midfield.bus imports"),
        ("midfield/replay/fast.py", "import midfield.bus.errors", "only midfield.bus imports"),
    ],
)
def test_a_crossing_breaks_its_contract(tmp_path: Path, module: str, line: str,
                                        contract: str) -> None:  # fmt: skip
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # crossing\n", "utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = _lint(tmp_path, env)
    assert proc.returncode != 0, proc.stdout[-3000:]
    broken = [row for row in proc.stdout.splitlines() if row.rstrip().endswith("BROKEN")]
    assert len(broken) == 1 and contract in broken[0], proc.stdout[-3000:]


def _modules() -> dict[str, int]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            with path.open(encoding="utf-8") as text:
                found[path.relative_to(REPO).as_posix()] = sum(1 for _ in text)
    return found


def test_no_new_module_is_over_the_limit() -> None:
    over = {name for name, lines in _modules().items() if lines > MAX_LINES}
    assert over <= STILL_LONG, f"over {MAX_LINES} lines: {sorted(over - STILL_LONG)}"


def test_the_list_of_long_modules_only_shrinks() -> None:
    lines = _modules()
    split = sorted(name for name in STILL_LONG if lines.get(name, 0) <= MAX_LINES)
    assert not split, f"under {MAX_LINES} lines now: take {split} off STILL_LONG"


def test_every_production_module_type_checks_strictly(tmp_path: Path) -> None:
    """``mypy --strict`` (pyproject.toml) over every production module, so CI holds it too."""
    mypy = Path(sys.executable).with_name("mypy")
    proc = subprocess.run([str(mypy), "--cache-dir", str(tmp_path / "cache"), *PACKAGES],
                          cwd=REPO, capture_output=True, text=True, timeout=600,
                          check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "Success: no issues found" in proc.stdout
