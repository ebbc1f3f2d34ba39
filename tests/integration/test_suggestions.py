"""Suggested departments in a real worker (docs/suggestions.md): 60 messages dispatched to three
departments teach the ``dispatches`` book's model as they are applied; a message that arrives
without a department is then suggested the right one first, by ``GET /suggestions/{id}`` and on
the dashboard, beside an unassigned work order; a department's key is refused both.

On a private broker (``own_broker``): the shared one holds other tests' messages, which would
teach the model too."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas.envelope import Envelope, EventData
from schemas.events.message import MessageChannel, PublicMessageReceived
from schemas.events.workorder import WorkOrderStep, WorkOrderStepped
from tests.harness import Broker, WorkerProcess, departments_file, http_get, produce

pytestmark = pytest.mark.xdist_group("suggestions")  # one private broker for the module
ZONE = ZoneInfo("Asia/Shanghai")
KEYS = {"housing": "housing-key-1f2e3d4c5b6a7980", "edu": "edu-key-0a9b8c7d6e5f4a3b",
        "urban": "urban-key-5e4d3c2b1a0f9e8d"}  # fmt: skip
TOPICS = {
    "housing": (["小区电梯坏了", "物业乱收费", "电梯经常停运", "物业不管楼道漏水", "小区电梯困人"],
                ["，物业一直不修", "，找物业没人管", "，业主很着急", "，电梯年检过期"]),
    "edu": (["孩子上小学学区怎么划分", "学校老师有偿补课", "小学入学报名材料", "学校食堂收费太高",
             "初中学区房政策"],
            ["，请教育局答复", "，家长很担心", "，学校不回应", "，开学在即"]),
    "urban": (["东风路路灯不亮", "人民路占道经营", "街边垃圾没人清运", "路灯坏了好几盏",
               "夜市占道经营扰民"],
              ["，晚上很黑", "，城管不管", "，影响通行", "，已经一周了"]),
}  # fmt: skip
"""Per department: topics and endings, 5 × 4 = 20 messages each."""


def _wrap(data: EventData, subject: str, n: int, when: datetime) -> Envelope:
    return Envelope.wrap(data, source="midfield://suggest/test", position=f"{subject}/{n}",
                         subject=subject, time=when)  # fmt: skip


def _dispatched(unique: str, now: datetime) -> list[Envelope]:
    out = []
    for department, (topics, endings) in TOPICS.items():
        for n, (topic, ending) in enumerate((t, e) for t in topics for e in endings):
            mid = f"board-{unique}-{department}-{n}"
            data = PublicMessageReceived(message_id=mid, channel=MessageChannel.board,
                                         title=topic, content=topic + ending,
                                         department=department)  # fmt: skip
            out.append(_wrap(data, mid, 0, now - timedelta(days=2, minutes=n)))
    return out


@pytest.fixture(scope="module")
def worker(own_broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    workdir = tmp_path_factory.mktemp("suggestions")
    directory = departments_file(workdir / "departments.toml", KEYS)
    unique = str(int(time.time() * 1000))[-9:]
    env = {"MIDFIELD_DEPARTMENTS_FILE": str(directory), "MIDFIELD_WORKER_STALL_LOG_MS": "300"}
    process = WorkerProcess(own_broker, workdir, app_id=f"suggest-{unique}", env_extra=env)
    with process.running() as running:
        yield running


def _unassigned(unique: str, now: datetime) -> tuple[str, str, list[Envelope]]:
    """A message without a department (two hours ago) and a work order accepted and not
    dispatched (an hour ago): their ids, and their events."""
    lone, order = f"board-{unique}-lone", f"12345-{unique}-lone"
    message = PublicMessageReceived(
        message_id=lone, channel=MessageChannel.board, title="电梯又坏了",
        content="我们小区电梯又坏了，物业一直不来修",
    )  # fmt: skip
    accepted = WorkOrderStepped(
        order_number=order, step=WorkOrderStep.accepted, category="help",
        note="东风路的路灯不亮，晚上很黑",
    )  # fmt: skip
    return lone, order, [_wrap(message, lone, 0, now - timedelta(hours=2)),
                         _wrap(accepted, order, 0, now - timedelta(hours=1))]  # fmt: skip


def test_an_unassigned_message_is_suggested_the_department_of_like_messages(
    own_broker: Broker, worker: WorkerProcess
) -> None:
    """On ``GET /suggestions/{id}`` and on the dashboard, beside the unassigned work order."""
    unique = worker.app_id.removeprefix("suggest-")
    now = datetime.now(ZONE)
    lone, order, events = _unassigned(unique, now)
    produce(own_broker, [*_dispatched(unique, now), *events])

    answer = worker.wait(
        lambda: (got := worker.get(f"/suggestions/{lone}"))[0] == 200
        and got[1]["learned_from"] == 60 and got[1],
        timeout=60, what="the 60 dispatched messages learned",
    )  # fmt: skip
    first = answer["suggestions"][0]
    assert first["department"] == "housing", answer
    assert len(answer["suggestions"]) == 3 and answer["units"] == []
    assert first["name"] == "部门housing" and 0.5 < first["score"] <= 1 and "电梯" in first["words"]
    scores = [s["score"] for s in answer["suggestions"]]
    assert scores == sorted(scores, reverse=True) and sum(scores) <= 1.0001

    took = []
    for _ in range(10):
        start = time.perf_counter()
        assert worker.get(f"/suggestions/{lone}")[0] == 200
        took.append((time.perf_counter() - start) * 1000)
    print(f"\nGET /suggestions/{{id}} over HTTP: median {statistics.median(took):.1f} ms, "
          f"slowest {max(took):.1f} ms of 10 (model of 60 examples)")  # fmt: skip

    board = worker.wait(
        lambda: (b := worker.get("/dashboard.json")[1])["unassigned"]["count"] >= 2 and b,
        timeout=30, what="the message and the order on the dashboard",
    )["unassigned"]  # fmt: skip
    assert board["shown"]
    listed = [i for i in board["items"] if i["subject"] in {lone, order}]
    assert [i["subject"] for i in listed] == [lone, order], "oldest first"
    assert listed[0]["kind"] == "message" and listed[0]["title"] == "电梯又坏了"
    assert listed[0]["suggestions"][0]["department"] == "housing"
    assert (
        listed[1]["kind"] == "work_order" and listed[1]["suggestions"][0]["department"] == "urban"
    )
    assert not any(i["subject"].startswith(f"board-{unique}-housing") for i in board["items"])


def test_a_department_gets_no_suggestion_and_an_unknown_subject_is_404(
    worker: WorkerProcess,
) -> None:
    assert http_get(f"{worker.url}/suggestions/anything", key=KEYS["housing"])[0] == 403
    status, board = http_get(f"{worker.url}/dashboard.json", key=KEYS["housing"])
    assert status == 200 and board["unassigned"] == {"shown": False, "count": 0, "items": []}
    assert worker.get("/suggestions/no-such-message")[0] == 404


def test_the_dictionary_is_loaded_off_the_event_loop(
    own_broker: Broker, worker: WorkerProcess
) -> None:
    """jieba's dictionary (1–2 s) is loaded in a thread before the worker's first batch of
    messages, not on the event loop at its first message, where it held every view and every
    other event that long. The worker logs each step that held its loop 300 ms or longer with
    where it was (``MIDFIELD_WORKER_STALL_LOG_MS``): none of them is jieba's."""
    unique = worker.app_id.removeprefix("suggest-") + "-off-loop"
    message = PublicMessageReceived(message_id=f"board-{unique}", channel=MessageChannel.board,
                                    title="路灯不亮", content="东风路的路灯坏了一周")  # fmt: skip
    produce(own_broker, [_wrap(message, f"board-{unique}", 0, datetime.now(ZONE))])
    worker.wait(lambda: worker.get(f"/suggestions/board-{unique}")[0] == 200,
                timeout=60, what="the message applied")  # fmt: skip
    log = (worker.workdir / f"worker-{worker.starts}.log").read_text(errors="replace")
    held = [json.loads(line) for line in log.splitlines() if '"event loop held"' in line]
    by_jieba = [h for h in held if any("jieba/" in where for where in h.get("where", []))]
    assert not by_jieba, by_jieba
