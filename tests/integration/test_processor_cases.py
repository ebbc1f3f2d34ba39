"""Processor cases as data (tests/cases/*.yaml): every case through the real processors, with
today's code; and the same cases as ``midfield replay shadow --cases`` runs them with new code,
which names the cases the change alters."""

from __future__ import annotations

from pathlib import Path

import pytest

from midfield.replay.cases import load_cases, run_cases
from midfield.settings import Settings
from tests.harness import REPO, Broker, midfield_env, run_cli

CASES = REPO / "tests" / "cases"

pytestmark = pytest.mark.xdist_group("processor-cases")  # each run starts a private broker


def test_every_case_gives_the_books_it_documents(tmp_path: Path) -> None:
    results = run_cases(load_cases(CASES), Settings(), tmp_path)
    assert len(results) == len(list(CASES.glob("*.yaml")))
    failed = [r.line() for r in results if not r.passed]
    assert not failed, "\n".join(failed)


def test_shadow_with_new_code_names_the_cases_it_changes(broker: Broker, tmp_path: Path) -> None:
    env = midfield_env(broker, tmp_path)
    args = ["replay", "shadow", "--app-id", "cases-yellow", "--cases", str(CASES), "--cases-only"]
    proc = run_cli([*args, "--module", "tests.replay_yellow_window"], env, cwd=tmp_path,
                   check=False)  # fmt: skip
    assert proc.returncode == 3, proc.stdout + proc.stderr[-3000:]
    changed = [line for line in proc.stdout.splitlines() if line.startswith("DIFF")]
    assert [line.split(":")[0] for line in changed] == ["DIFF task-deadline-window.yaml"]
    assert "ledger DC-case-5d: light 'yellow', expected 'green'" in proc.stdout
    total = len(list(CASES.glob("*.yaml")))
    assert f"cases: {total - 1} of {total} as expected" in proc.stdout
