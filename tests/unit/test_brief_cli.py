"""``midfield brief`` from a snapshot of the books (as `replay rebuild --output` writes one),
offline: no broker, no worker."""

from __future__ import annotations

import io
import json
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from midfield.cli import cli
from streams.books.snapshot import render
from tests.brief_samples import NOW, county


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = county()
    path = tmp_path_factory.mktemp("brief") / "books.json"
    path.write_text(json.dumps(render(made.tables, NOW, made.settings), ensure_ascii=False))
    return path


def _brief(snapshot: Path, out: Path, *extra: str) -> str:
    args = ["brief", "--week", "2026-W49", "--from-snapshot", str(snapshot), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--now", NOW.isoformat(), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_brief_of_a_snapshot_as_json(snapshot: Path, tmp_path: Path) -> None:
    summary = json.loads(_brief(snapshot, tmp_path / "brief.json"))
    made = json.loads((tmp_path / "brief.json").read_text(encoding="utf-8"))
    assert summary["week"] == made["week"] == "2026-W49"
    assert made["hotspots"][0]["label"] == "学区划分"
    assert {e["id"] for e in made["focus"] if e["kind"] == "red-task"} == {"DC-red"}


def test_the_brief_of_a_snapshot_as_a_document(snapshot: Path, tmp_path: Path) -> None:
    _brief(snapshot, tmp_path / "brief.docx")
    document = docx.Document(io.BytesIO((tmp_path / "brief.docx").read_bytes()))
    assert document.paragraphs[0].text == "2026年第49周工作简报"


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--week", "2026-49"], "YYYY-Www"), (["--out", "brief.pdf"], ".docx or a .json")],
)
def test_a_bad_week_or_output_is_refused(snapshot: Path, tmp_path: Path, args: list[str],
                                         says: str) -> None:  # fmt: skip
    base = {
        "--week": "2026-W49",
        "--from-snapshot": str(snapshot),
        "--out": str(tmp_path / "b.json"),
    }
    base |= dict(zip(args[::2], args[1::2], strict=True))
    result = CliRunner().invoke(cli, ["brief", *[x for kv in base.items() for x in kv]])
    assert result.exit_code == 2 and says in result.output


def test_a_file_that_is_no_snapshot_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("[1, 2]")
    args = ["brief", "--from-snapshot", str(tmp_path / "x.json"), "--out", str(tmp_path / "b.json")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "bad-snapshot" in result.output
