"""TaskSheetSource: the office's task list (督查台账) as real .xlsx files written in tmp_path.

The workbooks are laid out as offices keep them: a title row above a Chinese header row, then
one row per task; departments named by name (县教育局) or by code (edu).
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from connectors.runtime.source import RawRecord, Skip
from connectors.sources.task_sheet import TaskSheetOptions, TaskSheetSource
from midfield.departments import load_directory
from midfield.errors import ConfigError, ParseError, StoreError
from midfield.settings import DepartmentSettings, Settings
from schemas.envelope import Envelope, event_id
from schemas.events.task import TaskCreated, TaskOrigin
from tests.fuzzing import parsed_or_refused

DEPARTMENTS_FILE = Path(__file__).parent.parent / "fixtures" / "task_sheet" / "departments.toml"
ZONE = ZoneInfo("Asia/Shanghai")
IMPORTED = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
TITLE = "2025年县政府督查事项台账"
HEADER = ["序号", "任务编号", "督办事项", "具体内容", "工作目标", "类别", "来源", "牵头单位",
          "协办单位", "完成时限", "是否重点", "子任务"]  # fmt: skip
SCHOOLS = [1, "DC-2025-001", "城区学校扩容工程", "新建教学楼两栋", "9月开学前投用", "重点项目",
           "2025年政府工作报告", "县教育局", "县住建局、finance", datetime(2025, 8, 31), "是",
           "完成立项审批\n主体封顶"]  # fmt: skip
HOUSING = [2, "DC-2025-002", "老旧小区改造", "", "", "民生实事", "县政府第12次常务会议",
           "housing", "", "2025年6月30日", "", ""]  # fmt: skip
UNKNOWN_DEPARTMENT = [3, "DC-2025-003", "医共体建设", "", "", "", "", "县卫健局", "", "2025-09-30",
                      "", ""]  # fmt: skip
NO_ID = [4, None, "无编号事项", "", "", "", "", "edu", "", "2025/6/30", "", ""]
BLANK: list[object] = [None] * len(HEADER)


def write_sheet(path: Path, rows: Sequence[Sequence[object]], *,
                header: Sequence[str | None] = HEADER,
                title: str | None = TITLE, sheet: str = "台账") -> Path:  # fmt: skip
    """An .xlsx as offices keep it: a merged title row, the header, then the rows."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    if title is not None:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    book.save(path)
    return path


def source_for(path: Path, *, sheet: str | None = None) -> TaskSheetSource:
    directory = load_directory(DepartmentSettings(file=DEPARTMENTS_FILE))
    names = {code: d.name for code, d in directory.departments.items()}
    return TaskSheetSource(path=path, departments=names, instance="test", zone=ZONE, sheet=sheet,
                           clock=lambda: IMPORTED, poll_interval_s=0.01)  # fmt: skip


def read_all(path: Path, position: dict[str, object] | None = None) -> list[RawRecord]:
    return [r for r in source_for(path).read(position, follow=False) if r is not None]


def row_numbers(records: list[RawRecord]) -> list[int]:
    return [r.resume["row"] for r in records]


def created(source: TaskSheetSource, record: RawRecord) -> TaskCreated:
    envelope = source.parse(record)
    assert isinstance(envelope, Envelope), envelope
    assert isinstance(envelope.data, TaskCreated)
    return envelope.data


def reason_of(source: TaskSheetSource, record: RawRecord) -> str:
    with pytest.raises(ParseError) as caught:
        source.parse(record)
    return caught.value.reason


def row(**cells: str) -> RawRecord:
    """A row as the reader hands it over, with the minimum a task needs unless overridden."""
    base = {
        "任务编号": "DC-1",
        "督办事项": "城区学校扩容",
        "牵头单位": "edu",
        "完成时限": "2025-06-30",
    }
    raw = json.dumps(base | cells, ensure_ascii=False).encode()
    return RawRecord(raw=raw, where="台账.xlsx row 3", resume={})


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    return write_sheet(tmp_path / "台账.xlsx", [SCHOOLS, HOUSING, BLANK, UNKNOWN_DEPARTMENT, NO_ID])


@pytest.fixture
def source(sheet: Path) -> TaskSheetSource:
    return source_for(sheet)


# --- reading --------------------------------------------------------------------------------


def test_header_below_the_title_row_is_found_and_each_row_after_it_is_read(sheet: Path) -> None:
    assert [r.where for r in read_all(sheet)] == [f"台账.xlsx row {n}" for n in range(3, 8)]


def test_raw_record_is_the_row_as_json_keyed_by_the_sheet_headers(sheet: Path) -> None:
    first = read_all(sheet)[0]

    assert json.loads(first.raw) == {
        "序号": "1", "任务编号": "DC-2025-001", "督办事项": "城区学校扩容工程",
        "具体内容": "新建教学楼两栋", "工作目标": "9月开学前投用", "类别": "重点项目",
        "来源": "2025年政府工作报告", "牵头单位": "县教育局", "协办单位": "县住建局、finance",
        "完成时限": "2025-08-31", "是否重点": "是", "子任务": "完成立项审批\n主体封顶",
    }  # fmt: skip


def test_resume_position_is_the_file_digest_sheet_and_row(sheet: Path) -> None:
    digest = hashlib.sha256(sheet.read_bytes()).hexdigest()

    assert read_all(sheet)[1].resume == {"sha256": digest, "sheet": "台账", "row": 4}


def test_reading_resumes_after_the_row_of_the_position(sheet: Path) -> None:
    position = read_all(sheet)[1].resume

    assert row_numbers(read_all(sheet, position)) == [5, 6, 7]


def test_a_position_in_another_version_of_the_list_reads_the_new_version_from_the_top(
    sheet: Path,
) -> None:
    position = read_all(sheet)[-1].resume
    write_sheet(sheet, [SCHOOLS, HOUSING, NO_ID])

    assert row_numbers(read_all(sheet, position)) == [3, 4, 5]


def test_blank_rows_after_the_last_task_are_not_read(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "t.xlsx", [SCHOOLS, BLANK, BLANK, ["", "  ", None]])

    assert row_numbers(read_all(path)) == [3]


def test_rows_beyond_a_wrong_stored_dimension_are_read(sheet: Path) -> None:
    """Some exporters store <dimension ref="A1"/> whatever the sheet holds."""
    with zipfile.ZipFile(sheet) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = re.sub(
        rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', xml
    )
    with zipfile.ZipFile(sheet, "w") as patched:
        for name, data in parts.items():
            patched.writestr(name, data)

    assert row_numbers(read_all(sheet)) == [3, 4, 5, 6, 7]


def test_header_without_a_title_row_is_the_first_row(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "t.xlsx", [SCHOOLS], title=None)

    assert row_numbers(read_all(path)) == [2]


def test_two_row_header_takes_the_column_names_from_its_second_row(tmp_path: Path) -> None:
    """责任单位 merged over 牵头单位 | 协办单位, the other headers merged down both rows."""
    header = ["序号", "任务编号", "督办事项", "责任单位", None, "完成时限"]
    below = [None, None, None, "牵头单位", "协办单位", None]
    task = [1, "DC-7", "道路硬化", "edu", "县财政局", "2025-09-30"]
    path = write_sheet(tmp_path / "t.xlsx", [below, task], header=header)
    book = load_workbook(path)
    book["台账"].merge_cells("D2:E2")
    book.save(path)
    source = source_for(path)

    [record] = list(source.read(None, follow=False))

    assert record is not None and record.resume["row"] == 4
    data = created(source, record)
    assert (data.lead_department, data.assisting_departments) == ("edu", ("finance",))


def test_a_named_sheet_is_read_instead_of_the_first(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "t.xlsx", [SCHOOLS, HOUSING])
    book = load_workbook(path)
    book.move_sheet(book.create_sheet("说明"), offset=-1)
    book.save(path)

    records = [r for r in source_for(path, sheet="台账").read(None, follow=False) if r]

    assert [r.resume["sheet"] for r in records] == ["台账", "台账"]


def test_an_unknown_sheet_name_is_a_store_error_naming_the_sheets(sheet: Path) -> None:
    with pytest.raises(StoreError, match="has no sheet '汇总' \\(it has 台账\\)") as caught:
        list(source_for(sheet, sheet="汇总").read(None, follow=False))
    assert caught.value.reason == "no-such-sheet"


def test_sheet_without_deadline_and_lead_columns_is_not_a_task_list(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "t.xlsx", [["DC-1", "事项"]], header=["任务编号", "督办事项"])

    with pytest.raises(StoreError, match=r"no column 牵头单位 .*, 完成时限 ") as caught:
        read_all(path)
    assert caught.value.reason == "not-a-task-list"


def test_sheet_without_a_header_in_its_first_ten_rows_is_not_a_task_list(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "t.xlsx", [["x"]] * 12, header=["姓名", "电话"])

    with pytest.raises(StoreError, match="no header row") as caught:
        read_all(path)
    assert caught.value.reason == "not-a-task-list"


def test_a_file_that_is_not_a_workbook_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    path.write_text("任务编号,督办事项\n", encoding="utf-8")

    with pytest.raises(StoreError) as caught:
        read_all(path)
    assert caught.value.reason == "not-an-xlsx"


def test_an_old_xls_workbook_is_refused_with_a_hint_to_save_it_as_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "t.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)

    with pytest.raises(StoreError, match=r"save it as \.xlsx"):
        read_all(path)


def test_a_missing_file_read_once_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        read_all(tmp_path / "nope.xlsx")
    assert caught.value.reason == "input-missing"


def test_following_an_unchanged_list_yields_idle_ticks_after_its_rows(sheet: Path) -> None:
    reader = source_for(sheet).read(None, follow=True)

    got = [next(reader) for _ in range(7)]
    reader.close()

    assert [r.resume["row"] if r else None for r in got] == [3, 4, 5, 6, 7, None, None]


def test_following_reads_a_new_version_of_the_list_from_the_top(sheet: Path) -> None:
    reader = source_for(sheet).read(None, follow=True)
    [next(reader) for _ in range(6)]  # five rows and an idle tick
    write_sheet(sheet, [HOUSING])

    got = next(reader)
    reader.close()

    assert got is not None
    assert (got.where, json.loads(got.raw)["任务编号"]) == ("台账.xlsx row 3", "DC-2025-002")


# --- parsing --------------------------------------------------------------------------------


def test_row_becomes_the_task_it_describes(source: TaskSheetSource, sheet: Path) -> None:
    assert created(source, read_all(sheet)[0]) == TaskCreated(
        task_id="DC-2025-001",
        actor="office",
        person="",
        title="城区学校扩容工程",
        content="新建教学楼两栋",
        goal="9月开学前投用",
        category="重点项目",
        origin=TaskOrigin.work_report,
        lead_department="edu",
        assisting_departments=("housing", "finance"),
        deadline=date(2025, 8, 31),
        focus=True,
        subtasks=("完成立项审批", "主体封顶"),
    )


def test_departments_named_by_code_map_to_that_code(source: TaskSheetSource, sheet: Path) -> None:
    data = created(source, read_all(sheet)[1])

    assert (data.lead_department, data.assisting_departments) == ("housing", ())


def test_text_deadline_with_chinese_date_units_is_read(
    source: TaskSheetSource, sheet: Path
) -> None:
    assert created(source, read_all(sheet)[1]).deadline == date(2025, 6, 30)


def test_meeting_named_in_the_origin_cell_makes_a_meeting_task(
    source: TaskSheetSource, sheet: Path
) -> None:
    assert created(source, read_all(sheet)[1]).origin is TaskOrigin.meeting


def test_blank_row_between_tasks_is_skipped(source: TaskSheetSource, sheet: Path) -> None:
    assert source.parse(read_all(sheet)[2]) == Skip(reason="blank-row")


def test_unknown_department_is_a_dead_letter(source: TaskSheetSource, sheet: Path) -> None:
    with pytest.raises(ParseError, match="'县卫健局' is not in the directory") as caught:
        source.parse(read_all(sheet)[3])
    assert caught.value.reason == "unknown-department"


def test_row_without_a_task_id_is_a_dead_letter(source: TaskSheetSource, sheet: Path) -> None:
    assert reason_of(source, read_all(sheet)[4]) == "missing-task-id"


def test_envelope_is_the_offices_creation_of_the_task_at_import_time(
    source: TaskSheetSource, sheet: Path
) -> None:
    envelope = source.parse(read_all(sheet)[0])

    assert isinstance(envelope, Envelope)
    assert (envelope.subject, envelope.type, envelope.source) == (
        "DC-2025-001", TaskCreated.type, "midfield://task-sheet/test")  # fmt: skip
    assert (envelope.time, envelope.ingested_at, envelope.topic) == (
        IMPORTED, IMPORTED, "office.supervision.task.v1")  # fmt: skip


def test_event_id_depends_only_on_the_source_and_task_id(
    source: TaskSheetSource, sheet: Path
) -> None:
    envelope = source.parse(read_all(sheet)[0])

    assert isinstance(envelope, Envelope)
    assert envelope.id == event_id("midfield://task-sheet/test", "DC-2025-001/created")


def test_a_changed_row_in_a_new_version_of_the_list_keeps_its_id(
    source: TaskSheetSource, sheet: Path
) -> None:
    before = source.parse(read_all(sheet)[0])
    write_sheet(sheet, [HOUSING, [*SCHOOLS[:2], "城区学校扩容工程（调整）", *SCHOOLS[3:]]])
    after = source.parse(read_all(sheet)[1])

    assert isinstance(before, Envelope) and isinstance(after, Envelope)
    assert isinstance(after.data, TaskCreated)
    assert (after.id, after.data.title) == (before.id, "城区学校扩容工程（调整）")


@pytest.mark.parametrize(
    "text", ["2025-06-30", "2025/6/30", "2025年6月30日", "2025.6.30", "2025-06-30 17:00:00"]
)
def test_deadline_text_in_the_usual_forms_is_read(source: TaskSheetSource, text: str) -> None:
    assert created(source, row(完成时限=text)).deadline == date(2025, 6, 30)


@pytest.mark.parametrize("text", ["6月底", "2025-02-30", "45838", "下周"])
def test_deadline_that_is_not_a_date_is_a_dead_letter(source: TaskSheetSource, text: str) -> None:
    assert reason_of(source, row(完成时限=text)) == "bad-deadline"


@pytest.mark.parametrize(
    ("header", "value", "field", "expected"),
    [
        ("编号", "DC-9", "task_id", "DC-9"),
        ("督查事项", "道路硬化", "title", "道路硬化"),
        ("任务名称", "道路硬化", "title", "道路硬化"),
        ("工作内容", "新建5公里", "content", "新建5公里"),
        ("目标", "年底完工", "goal", "年底完工"),
        ("分类", "民生", "category", "民生"),
        ("责任单位", "县财政局", "lead_department", "finance"),
        ("主办单位", "finance", "lead_department", "finance"),
        ("办结时限", "2025-07-01", "deadline", date(2025, 7, 1)),
        ("时限", "2025-07-01", "deadline", date(2025, 7, 1)),
        ("重点", "√", "focus", True),
        ("任务\n编号", "DC-9", "task_id", "DC-9"),
        ("完成时限（月底前）", "2025-07-01", "deadline", date(2025, 7, 1)),
        ("*牵头单位", "县住建局", "lead_department", "housing"),
    ],
)
def test_header_aliases_fill_their_field(
    source: TaskSheetSource, header: str, value: str, field: str, expected: object
) -> None:
    fields = json.loads(row().raw)
    canonical = {"task_id": "任务编号", "title": "督办事项", "lead_department": "牵头单位",
                 "deadline": "完成时限"}  # fmt: skip
    fields.pop(canonical.get(field, ""), None)
    fields[header] = value
    record = RawRecord(raw=json.dumps(fields, ensure_ascii=False).encode(), where="r", resume={})

    assert getattr(created(source, record), field) == expected


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("政府工作报告", TaskOrigin.work_report),
        ("会议议定", TaskOrigin.meeting),
        ("会议", TaskOrigin.meeting),
        ("领导批示", TaskOrigin.leader_instruction),
        ("县长批示", TaskOrigin.leader_instruction),
        ("", TaskOrigin.work_report),
    ],
)
def test_origin_text_maps_to_its_origin(
    source: TaskSheetSource, text: str, origin: TaskOrigin
) -> None:
    assert created(source, row(来源=text)).origin is origin


def test_unknown_origin_is_a_dead_letter(source: TaskSheetSource) -> None:
    assert reason_of(source, row(来源="群众来信")) == "unknown-origin"


@pytest.mark.parametrize(
    ("text", "focus"),
    [("是", True), ("√", True), ("否", False), ("", False), ("TRUE", True), ("0", False)],
)
def test_focus_cell_reads_yes_and_no(source: TaskSheetSource, text: str, focus: bool) -> None:
    assert created(source, row(是否重点=text)).focus is focus


def test_focus_cell_that_is_neither_yes_nor_no_is_a_dead_letter(source: TaskSheetSource) -> None:
    assert reason_of(source, row(是否重点="待定")) == "bad-focus"


def test_assisting_departments_split_on_chinese_and_latin_separators(
    source: TaskSheetSource,
) -> None:
    data = created(source, row(协办单位="县住建局，finance; 县财政局  housing"))

    assert data.assisting_departments == ("housing", "finance")


def test_several_lead_departments_make_the_first_lead_and_the_others_assist(
    source: TaskSheetSource,
) -> None:
    data = created(source, row(牵头单位="县教育局、县财政局", 协办单位="县住建局"))

    assert (data.lead_department, data.assisting_departments) == ("edu", ("finance", "housing"))


def test_lead_department_also_listed_as_assisting_only_leads(source: TaskSheetSource) -> None:
    data = created(source, row(牵头单位="edu", 协办单位="县教育局、housing"))

    assert data.assisting_departments == ("housing",)


def test_subtasks_split_on_newlines_and_semicolons(source: TaskSheetSource) -> None:
    data = created(source, row(子任务="1.完成立项；2.主体封顶\n3.竣工验收\n"))

    assert data.subtasks == ("1.完成立项", "2.主体封顶", "3.竣工验收")


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ({"督办事项": ""}, "missing-title"),
        ({"牵头单位": ""}, "missing-lead-department"),
        ({"牵头单位": "、"}, "missing-lead-department"),
        ({"完成时限": ""}, "missing-deadline"),
    ],
)
def test_row_without_a_required_field_is_a_dead_letter(
    source: TaskSheetSource, cells: dict[str, str], reason: str
) -> None:
    assert reason_of(source, row(**cells)) == reason


def test_task_id_the_event_refuses_is_an_invalid_event(source: TaskSheetSource) -> None:
    with pytest.raises(ParseError, match="task_id") as caught:
        source.parse(row(任务编号="DC 1/2"))
    assert caught.value.reason == "invalid-event"


def test_raw_that_is_not_a_row_object_is_a_bad_row(source: TaskSheetSource) -> None:
    assert reason_of(source, RawRecord(raw=b"[1, 2]", where="r", resume={})) == "bad-row"


def test_columns_the_ledger_does_not_know_are_ignored(source: TaskSheetSource) -> None:
    assert created(source, row(备注="市级考核", 进展情况="已开工")).task_id == "DC-1"


# --- from the command line's options ---------------------------------------------------------


def test_options_resolve_department_names_through_the_directory(sheet: Path) -> None:
    settings = Settings(departments=DepartmentSettings(file=DEPARTMENTS_FILE))
    source = TaskSheetSource.from_options(TaskSheetOptions(xlsx=sheet), settings)

    assert created(source, row(牵头单位="县住建局")).lead_department == "housing"


def test_options_without_a_department_directory_are_a_config_error(sheet: Path) -> None:
    settings = Settings(departments=DepartmentSettings(file=None))

    with pytest.raises(ConfigError) as caught:
        TaskSheetSource.from_options(TaskSheetOptions(xlsx=sheet), settings)
    assert caught.value.reason == "no-departments"


# --- properties -----------------------------------------------------------------------------

_HEADERS = st.sampled_from(
    [
        "任务编号",
        "督办事项",
        "牵头单位",
        "协办单位",
        "完成时限",
        "来源",
        "是否重点",
        "子任务",
        "备注",
    ]
) | st.text(max_size=6)
_CELLS = st.sampled_from(
    ["edu", "县教育局", "2025-06-30", "是", "会议", "DC-1", "", "、"]
) | st.text(max_size=20)


def assert_parses_or_rejects(raw: bytes) -> None:
    source = TaskSheetSource(path=Path("unused.xlsx"), departments={"edu": "县教育局"},
                             instance="p", zone=ZONE)  # fmt: skip
    result = parsed_or_refused(lambda: source.parse(RawRecord(raw=raw, where="r", resume={})))
    assert isinstance(result, Envelope | Skip) or result.detail


@settings(max_examples=300, deadline=None)
@given(cells=st.dictionaries(_HEADERS, _CELLS, max_size=8))
def test_any_row_of_cells_parses_or_raises_parse_error(cells: dict[str, str]) -> None:
    assert_parses_or_rejects(json.dumps(cells, ensure_ascii=False).encode())
