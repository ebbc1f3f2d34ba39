"""The bench's labelled corpus and its keyword baseline (bench/suggest_corpus.py,
bench/suggest_baseline.py): what the suggestion quality in bench/results/suggest.json rests on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench import suggest_baseline
from bench.suggest_corpus import BOARD_HEADER, corpus, write_board_xlsx
from bench.suggest_phrases import DEPARTMENTS


def test_the_default_corpus_has_thousands_of_messages_over_at_least_twelve_departments() -> None:
    messages = corpus()
    assert len(messages) >= 2000
    counts = Counter(m["department"] for m in messages)
    assert len(counts) >= 12 and min(counts.values()) >= 50
    assert len({m["id"] for m in messages}) == len(messages)


def test_the_same_seed_gives_the_same_corpus_and_another_seed_another() -> None:
    assert corpus(200, seed=7) == corpus(200, seed=7)
    assert corpus(200, seed=7) != corpus(200, seed=8)


def test_the_corpus_has_every_kind_of_noise_and_every_channel() -> None:
    messages = corpus(1000)
    tags = Counter(tag for m in messages for tag in m["noise"])
    for tag in ("ambiguous", "several-issues", "department-named", "typos", "dialect"):
        assert tags[tag] >= 30, tag
    assert {m["channel"] for m in messages} == {"board", "wechat", "hotline"}
    hotline = [m["text"] for m in messages if m["channel"] == "hotline"]
    assert all(text.startswith("来电人反映") for text in hotline)


def test_the_board_export_has_the_boards_headers_and_a_row_per_message(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    messages = corpus(5)
    sheet = load_workbook(write_board_xlsx(messages, tmp_path / "b.xlsx")).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == BOARD_HEADER
    assert [r[6] for r in rows[1:]] == [m["department_name"] for m in messages]


def test_the_baseline_ranks_departments_by_the_listed_words_a_message_has() -> None:
    found = suggest_baseline.suggest("小区电梯坏了，物业不管，孩子上学也远")
    assert found[0] == ("housing", 2) and found[1] == ("edu", 1)


def test_the_baseline_breaks_ties_and_empty_messages_by_the_tables_order() -> None:
    order = list(suggest_baseline.KEYWORDS)
    assert [d for d, _ in suggest_baseline.suggest("你好")] == order[:3]


def test_the_baseline_knows_every_department_of_the_corpus() -> None:
    assert set(suggest_baseline.KEYWORDS) == set(DEPARTMENTS)
