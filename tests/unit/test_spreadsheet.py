"""midfield.spreadsheet.safe_cell: the one rule for what every XLSX/CSV writer puts in a cell."""

from __future__ import annotations

from datetime import date

import pytest

from midfield.spreadsheet import FORMULA_STARTS, safe_cell


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_text_starting_with_a_formula_character_gets_a_leading_quote(start: str) -> None:
    assert safe_cell(f"{start}1+1") == "'" + f"{start}1+1".replace("\r", "\n")


@pytest.mark.parametrize("text", ["第一行\r第二行", "第一行\r\n第二行", "第一行\n第二行"])
def test_line_ends_are_stored_as_line_feeds_whatever_the_xml_parser(text: str) -> None:
    assert safe_cell(text) == "第一行\n第二行"


@pytest.mark.parametrize("value", ["主体完成六成", "a=b", "进度 -5%", "'已引用", "", " =1"])
def test_other_text_is_unchanged(value: str) -> None:
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", [-5, -0.25, 0, 3, date(2025, 6, 1), None, True])
def test_numbers_dates_and_empty_cells_are_unchanged(value: object) -> None:
    assert safe_cell(value) == value and type(safe_cell(value)) is type(value)
