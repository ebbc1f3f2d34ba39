"""The hotline: its signed webhook served by a real ``connect hotline``, and its XLSX export
imported twice and then again with orders moved on — each step applied once."""

from __future__ import annotations

import json
from pathlib import Path

from tests import harness
from tests.intakes import HOTLINE_SECRET, import_twice, intake_env
from tests.samples import HOTLINE_EXPORT_HEADER, write_export
from tests.webhooks import signed

TOPIC = "office.hotline.workorder.v1"
HEADER = [*HOTLINE_EXPORT_HEADER, "备注"]
"""The export's columns and one the import ignores."""


def _env(broker: harness.Broker, workdir: Path, unique: str) -> dict[str, str]:
    directory = harness.departments_file(workdir / "departments.toml", {f"w{unique}": "k"})
    return intake_env(broker, workdir, directory)


def _steps(broker: harness.Broker, unique: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for record in harness.read_topic(broker, TOPIC):
        if record.key and unique.encode() in record.key:
            step = json.loads(record.value)["step"]
            found.setdefault(record.key.decode(), set()).add(
                f"{step}:{record.headers['ce_id'].decode()}"
            )
    return found


def _export(path: Path, unique: str, *, later: bool = False) -> Path:
    """Four orders by column name: one replied (closed with a satisfied callback when
    ``later``), one dispatched, one sent to a unit not in the departments file, one unnumbered."""
    unit = f"w{unique}"
    replied = {
        "工单编号": f"H{unique}-1",
        "来电时间": "2025-06-01 09:00:00",
        "诉求类型": "求助",
        "诉求内容": "路灯不亮",
        "承办单位": unit,
        "工单状态": "已答复",
        "派单时间": "2025-06-01 09:30:00",
        "签收时间": "2025-06-01 10:00:00",
        "答复时间": "2025-06-02 09:00:00",
        "备注": "x",
    }
    if later:
        replied |= {
            "工单状态": "已办结",
            "回访时间": "2025-06-03 09:00:00",
            "办结时间": "2025-06-03 10:00:00",
            "满意度": "满意",
        }
    rows = [
        replied,
        {
            "工单编号": f"H{unique}-2",
            "来电时间": "2025-06-01 11:00:00",
            "诉求类型": "咨询",
            "诉求内容": "社保查询",
            "承办单位": unit,
            "工单状态": "已派单",
            "派单时间": "2025-06-01 11:10:00",
        },
        {
            "工单编号": f"H{unique}-3",
            "来电时间": "2025-06-01 12:00:00",
            "诉求类型": "投诉",
            "诉求内容": "噪音",
            "承办单位": "不存在的单位",
            "工单状态": "已派单",
        },
        {
            "来电时间": "2025-06-01 13:00:00",
            "诉求类型": "投诉",
            "诉求内容": "无编号",
            "承办单位": unit,
            "工单状态": "已受理",
        },
    ]
    return write_export(
        path, [HEADER, *([row.get(column, "") for column in HEADER] for row in rows)]
    )


def test_export_imported_twice_then_moved_on_applies_each_step_once(
    catalog_topics: harness.Broker, workdir: Path, unique: str
) -> None:
    env = _env(catalog_topics, workdir, unique)
    first = _export(workdir / "12345.xlsx", unique)
    import_twice("hotline", first, unique, env, workdir)
    steps = _steps(catalog_topics, unique)
    kinds = {order: sorted(s.split(":")[0] for s in found) for order, found in steps.items()}
    assert kinds == {
        f"H{unique}-1": ["accepted", "dispatched", "replied", "signed"],
        f"H{unique}-2": ["accepted", "dispatched"],
    }
    later = _export(workdir / "12345-later.xlsx", unique, later=True)
    harness.run_cli(
        ["connect", "hotline", "--xlsx", str(later), "--instance", unique, "--once"],
        env,
        cwd=workdir,
    )
    moved = {s.split(":")[0] for s in _steps(catalog_topics, unique)[f"H{unique}-1"]}
    assert moved == {"accepted", "dispatched", "signed", "replied", "callback", "closed"}
    assert len(_steps(catalog_topics, unique)[f"H{unique}-1"]) == 6  # one id per step, ever
    letters = harness.dead_letters(catalog_topics, f"midfield://hotline/{unique}")
    assert {(d.reason, d.position) for d in letters} == {
        ("unknown-unit", "12345.xlsx row 4"),
        ("missing-order-number", "12345.xlsx row 5"),
        ("unknown-unit", "12345-later.xlsx row 4"),
        ("missing-order-number", "12345-later.xlsx row 5"),
    }


def test_a_signed_webhook_step_and_a_wrong_signature(
    catalog_topics: harness.Broker, workdir: Path, unique: str
) -> None:
    with harness.serving("hotline", _env(catalog_topics, workdir, unique), cwd=workdir) as base:
        url = base + "/hotline/steps"
        body = json.dumps(
            {
                "order_number": f"W{unique}",
                "step": "accepted",
                "category": "help",
                "time": "2025-06-01T09:00:00",
            }
        ).encode()
        headers = signed(HOTLINE_SECRET, body)
        assert harness.http_post(url, body, headers=headers)[0] == 202
        assert harness.http_post(url, body, headers=headers)[0] == 202  # a retry
        forged = headers | {"webhook-signature": "v1,bad"}
        assert harness.http_post(url, body, headers=forged)[0] == 401
        assert harness.http_post(url, body, headers={})[0] == 401
    assert len(_steps(catalog_topics, unique)[f"W{unique}"]) == 1
