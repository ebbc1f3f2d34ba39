"""The message board: its signed webhook served by a real ``connect board``, and its XLSX and CSV
exports imported twice — each message and reply applied once, bad rows dead-lettered by row."""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness import (
    Broker,
    dead_letters,
    departments_file,
    http_post,
    read_topic,
    run_cli,
    serving,
)
from tests.intakes import BOARD_SECRET, import_twice, intake_env
from tests.samples import BOARD_EXPORT_HEADER, write_export
from tests.webhooks import signed

TOPIC = "office.intake.message.v1"


def _signed(body: dict) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=False).encode()
    return raw, signed(BOARD_SECRET, raw)


def _env(broker: Broker, workdir: Path, unique: str) -> dict[str, str]:
    directory = departments_file(workdir / "departments.toml", {f"e{unique}": "k"})
    return intake_env(broker, workdir, directory)


def _mine(broker: Broker, unique: str) -> list:
    return [r for r in read_topic(broker, TOPIC) if unique.encode() in (r.key or b"")]


def test_signed_webhook_messages_and_replies(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    with serving("board", _env(catalog_topics, workdir, unique), cwd=workdir) as url:
        message = {
            "id": f"M{unique}",
            "category": "咨询",
            "title": "学区划分",
            "content": "请问学区？",
            "contact": "13800138000",
            "department": f"e{unique}",
            "received_at": "2025-06-01T09:00:00",
        }
        raw, headers = _signed(message)
        assert http_post(url + "/board/messages", raw, headers=headers)[0] == 202
        assert http_post(url + "/board/messages", raw, headers=headers)[0] == 202  # re-sent
        reply, headers = _signed(
            {"message_id": f"M{unique}", "reply": "已公布", "replied_at": "2025-06-03T10:00:00"}
        )
        assert http_post(url + "/board/replies", reply, headers=headers)[0] == 202
        forged = headers | {"webhook-signature": "v1,AAAA"}
        assert http_post(url + "/board/messages", raw, headers=forged)[0] == 401
        bad, headers = _signed(message | {"id": f"B{unique}", "category": "闲聊"})
        status, body = http_post(url + "/board/messages", bad, headers=headers)
        assert (status, body["error"]) == (422, "unknown-category")
    records = _mine(catalog_topics, unique)
    types = sorted({r.headers["ce_type"].decode().split(".")[-2] for r in records})
    assert types == ["received", "replied"] and len({r.headers["ce_id"] for r in records}) == 2
    assert all(b"13800138000" not in r.value for r in records), "the phone number never travels"


def _export(path: Path, unique: str) -> Path:
    rows = [
        [
            f"X{unique}-1",
            "2025-06-01 09:00:00",
            "投诉",
            "噪音",
            "夜间施工",
            "13900000001",
            "部门e" + unique,
            "已处理",
            "2025-06-02 10:00:00",
        ],
        [
            f"X{unique}-2",
            "2025-06-01 10:00:00",
            "建议",
            "增设公交",
            "建议增设",
            "",
            f"e{unique}",
            "",
            "",
        ],
        [
            f"X{unique}-3",
            "2025-06-01 11:00:00",
            "求助",
            "断水",
            "断水三天",
            "",
            "不存在的局",
            "",
            "",
        ],
    ]
    return write_export(path, [BOARD_EXPORT_HEADER, *rows])


def test_an_export_imported_twice_applies_each_message_once(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    env = _env(catalog_topics, workdir, unique)
    xlsx = _export(workdir / "board.xlsx", unique)
    csv_file = _export(workdir / "board.csv", unique)
    import_twice("board", xlsx, unique, env, workdir)
    run_cli(
        ["connect", "board", "--csv", str(csv_file), "--instance", unique, "--once"],
        env,
        cwd=workdir,
    )
    records = _mine(catalog_topics, unique)
    ids = {r.headers["ce_id"] for r in records}
    assert len(ids) == 3  # X-1 received and replied, X-2 received; X-3 is a dead letter
    letters = dead_letters(catalog_topics, f"midfield://board/{unique}")
    assert {(d.reason, d.position) for d in letters} == {
        ("unknown-department", "board.xlsx row 4"),
        ("unknown-department", "board.csv row 4"),
    }
