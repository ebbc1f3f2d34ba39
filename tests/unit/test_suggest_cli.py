"""``midfield suggest train`` from real board and hotline exports (XLSX written as the import tests
write them), and ``midfield suggest try`` on the model it saved."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from midfield.cli import cli
from tests.samples import BOARD_EXPORT_HEADER, HOTLINE_EXPORT_HEADER

DEPARTMENTS = {"housing": "县住建局", "edu": "县教育局", "water": "县水利局", "urban": "县城管局"}
BOARD_ROWS = [
    ("锦绣花园电梯坏了", "锦绣花园3栋电梯坏了一个月，物业不管", "县住建局"),
    ("物业乱收费", "阳光小区物业乱收费，电梯经常停运", "县住建局"),
    ("学区划分", "孩子今年上小学，学区怎么划分", "县教育局"),
    ("有偿补课", "实验小学老师有偿补课", "edu"),
    ("路灯不亮", "东风路的路灯不亮，垃圾没人清运", "县城管局"),
    ("农村饮水", "李家村自来水经常停水，水质浑浊", "县水利局"),
    ("不存在的局", "这一行的办理单位不在部门名录里", "县不存在局"),
]


@pytest.fixture
def directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lines = ["[office]", 'api_keys = ["office-key-long-enough-for-tests"]']
    for code, name in DEPARTMENTS.items():
        lines += [f"[departments.{code}]", f'name = "{name}"',
                  f'api_keys = ["{code}-key-long-enough-for-tests"]']  # fmt: skip
    path = tmp_path / "departments.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("MIDFIELD_DEPARTMENTS_FILE", str(path))
    return path


def _xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _board(path: Path) -> Path:
    rows = [[f"B-{n}", "2025-06-01 09:00:00", "投诉", title, text, "", department, "", ""]
            for n, (title, text, department) in enumerate(BOARD_ROWS)]  # fmt: skip
    return _xlsx(path, BOARD_EXPORT_HEADER, rows)


def _hotline(path: Path) -> Path:
    def order(number: str, content: str, units: str, status: str) -> list[object]:
        return [number, "2025-06-01 09:00:00", "求助", content, units, status,
                "2025-06-01 09:30:00", "", "", "", "", "", ""]  # fmt: skip

    return _xlsx(path, HOTLINE_EXPORT_HEADER, [
        order("H-1", "城东路积水，河道淤堵", "water、urban", "已派单"),
        order("H-2", "小区电梯困人", "县住建局", "办理中"),
        order("H-3", "学校门口占道经营", "edu", "已退单"),
    ])  # fmt: skip


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("export", "name", "says", "learned"),
    [
        (_board, "留言.xlsx", "left out 1 rows: unknown-department 1",
         {"edu": 2, "housing": 2, "urban": 1, "water": 1}),
        (_hotline, "工单.xlsx", "hotline export", {"housing": 1, "water": 1}),
    ],
    ids=["board-each-message-for-its-department", "hotline-the-lead-unit-not-a-returned-order"],
)  # fmt: skip
def test_train_from_an_export_learns_the_departments_it_knows(
    directory: Path,
    tmp_path: Path,
    export: Callable[[Path], Path],
    name: str,
    says: str,
    learned: dict[str, int],
) -> None:
    code, output = _run("suggest", "train", "--from", str(export(tmp_path / name)),
                        "--out", str(tmp_path / "model.json"))  # fmt: skip
    assert code == 0, output
    assert says in output
    state = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert state["examples"] == learned


def test_try_prints_the_top_departments_with_names_scores_and_words(
    directory: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model.json"
    _run("suggest", "train", "--from", str(_board(tmp_path / "b.xlsx")), "--out", str(model))
    code, output = _run("suggest", "try", "--model", str(model), "我们小区电梯又坏了，物业不管")
    assert code == 0, output
    lines = output.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("1. 县住建局 (housing)  0.")
    assert "电梯" in lines[0] and "物业" in lines[0]


def test_train_without_a_department_it_knows_fails_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIDFIELD_DEPARTMENTS_FILE", raising=False)
    code, output = _run("suggest", "train", "--from", str(_board(tmp_path / "b.xlsx")),
                        "--out", str(tmp_path / "model.json"))  # fmt: skip
    assert code == 1 and "nothing-learned" in output
    assert not (tmp_path / "model.json").exists()


def test_train_refuses_a_file_that_is_no_export(directory: Path, tmp_path: Path) -> None:
    other = _xlsx(tmp_path / "x.xlsx", ["姓名", "电话"], [["张三", "1"]])
    code, output = _run("suggest", "train", "--from", str(other))
    assert code == 1 and "not-an-export" in output


def test_try_refuses_a_file_that_is_no_model(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"features": "other"}', encoding="utf-8")
    code, output = _run("suggest", "try", "--model", str(tmp_path / "m.json"), "电梯坏了")
    assert code == 1 and "bad-model" in output


def test_help_says_a_suggestion_is_never_applied() -> None:
    code, output = _run("suggest", "--help")
    assert code == 0 and "never applied" in output
    assert "train" in output and "try" in output
