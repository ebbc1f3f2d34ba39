"""Processor cases as data (tests/cases/*.yaml), run through the books' pure ``process``: no
broker, every case on books of its own, the decisions (refusals, alerts, notices) compared too.
tests/integration/test_processor_cases.py runs the same files through a real worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from midfield.replay.cases import Case, apply_cases, load_cases
from midfield.settings import Settings
from streams.books.registry import BOOKS

CASES = Path(__file__).resolve().parents[1] / "cases"
LOADED = load_cases(CASES)


@pytest.mark.parametrize("case", LOADED, ids=[c.path.stem for c in LOADED])
def test_case_gives_the_books_it_documents(case: Case) -> None:
    (result,) = apply_cases([case], Settings())
    assert result.passed, result.line()


@pytest.mark.parametrize("book", [b.name for b in BOOKS])
def test_every_book_has_a_case(book: str) -> None:
    assert any(book in case.expect for case in LOADED), f"no case in {CASES} expects {book}"


def test_a_wrong_expectation_is_reported(tmp_path: Path) -> None:
    """The runner can fail: one field and one decision changed, two mismatches named."""
    text = (CASES / "task-extension-and-refusal.yaml").read_text(encoding="utf-8")
    wrong = text.replace("delay_count: 1", "delay_count: 2")
    (tmp_path / "wrong.yaml").write_text(wrong + "decided: {refused: [nothing]}\n", "utf-8")
    (result,) = apply_cases(load_cases(tmp_path), Settings())
    assert not result.passed
    assert any("delay_count 1, expected 2" in m for m in result.mismatches), result.mismatches
    assert any(m.startswith("decided refused:") for m in result.mismatches), result.mismatches
