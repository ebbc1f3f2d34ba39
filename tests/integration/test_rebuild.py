"""The books are a function of the log: a second worker under a new application id, reading every
topic from the beginning, ends with the same books as the live worker — duty log, ledger and
work orders (each with a refused step), reply tallies and alerts — compared entity by entity."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.duty import EmergencyReported, ItemHandled
from schemas.events.message import MessageChannel, PublicMessageReceived, PublicMessageReplied
from schemas.events.task import TaskAssigned, TaskClosed, TaskCreated, TaskProgressReported
from schemas.events.workorder import WorkOrderStepped
from tests.harness import Broker, WorkerProcess, departments_file, produce, wait_for
from tests.samples import fax_envelope

ZONE = ZoneInfo("Asia/Shanghai")


def _events(unique: str, dept: str) -> list[Envelope]:
    now = datetime.now(ZONE)
    source = f"midfield://rebuild/{unique}"

    def wrap(event: Any, subject: str, n: int, at: datetime = now) -> Envelope:
        return Envelope.wrap(
            event, source=source, position=f"{subject}/{n}", subject=subject, time=at
        )

    task, order, commid = f"DC-{unique}", f"o-{unique}", f"7{unique[:8]}"
    return [
        wrap(ItemHandled(item_id=commid, step="signed", urgency="加急", by="王主任"), commid, 0),
        wrap(
            EmergencyReported(
                report_id=f"EM-{unique}", sequence=1, title="内涝", content="续", recorder="李华"
            ),
            f"EM-{unique}",
            1,
        ),  # refused: before its first
        wrap(
            EmergencyReported(
                report_id=f"EM-{unique}", sequence=0, title="内涝", content="首", recorder="李华"
            ),
            f"EM-{unique}",
            0,
        ),
        wrap(WorkOrderStepped(order_number=order, step="accepted"), order, 0),
        wrap(WorkOrderStepped(order_number=order, step="closed"), order, 1),  # refused
        wrap(WorkOrderStepped(order_number=order, step="dispatched", units=(dept,)), order, 2),
        fax_envelope(f"7{unique[:8]}", now.replace(hour=8), source=f"midfield://fax-log/{unique}"),
        wrap(
            TaskCreated(
                task_id=task,
                actor="office",
                title="t",
                lead_department=dept,
                deadline=now.date() + timedelta(days=60),
            ),
            task,
            0,
        ),
        wrap(TaskAssigned(task_id=task, actor="office"), task, 1),
        wrap(TaskClosed(task_id=task, actor="office"), task, 2),  # refused: not reviewed
        wrap(
            TaskProgressReported(task_id=task, actor=dept, percent=10, text="x"), task, 3
        ),  # refused
        wrap(
            PublicMessageReceived(
                message_id=f"m-{unique}",
                channel=MessageChannel.wechat,
                title="咨询",
                department=dept,
            ),
            f"m-{unique}",
            0,
            now - timedelta(days=40),
        ),
        wrap(
            PublicMessageReceived(
                message_id=f"n-{unique}", channel=MessageChannel.board, department=dept
            ),
            f"n-{unique}",
            0,
            now - timedelta(days=3),
        ),
        wrap(
            PublicMessageReplied(message_id=f"n-{unique}", department=dept),
            f"n-{unique}",
            1,
            now - timedelta(days=1),
        ),
        wrap(
            AlertRaised(
                alert_id=f"security/{unique}",
                kind="security",
                severity=Severity.critical,
                message="越权",
            ),
            f"security/{unique}",
            0,
        ),
    ]


def _books(worker: WorkerProcess, unique: str, dept: str) -> dict[str, Any]:
    day = datetime.now(ZONE).date().isoformat()
    duty = [
        e for e in worker.every(f"/duty-log?date={day}", "entries") if e["source"].endswith(unique)
    ]
    alerts = [a for a in worker.every("/alerts?open=false", "alerts") if unique in a["alert_id"]]
    return {
        "duty_log": duty,
        "task": worker.get(f"/ledger/DC-{unique}"),
        "replies": worker.get(f"/reply-rate?department={dept}&period=all")[1]["total"],
        "alerts": sorted(alerts, key=lambda a: a["alert_id"]),
        "order": worker.get(f"/work-orders/o-{unique}"),
        "item": worker.get(f"/items/7{unique[:8]}"),
        "emergencies": [
            e
            for e in worker.get("/duty-report")[1]["open_emergencies"]
            if e["report_id"] == f"EM-{unique}"
        ],
    }


def test_books_rebuilt_from_the_beginning_equal_the_live_books(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    dept = f"b{unique}"
    directory = departments_file(workdir / "departments.toml", {dept: "k"})
    env = {"MIDFIELD_DEPARTMENTS_FILE": str(directory), "MIDFIELD_REPLIES_CHECK_INTERVAL_S": "0.5"}
    live = WorkerProcess(catalog_topics, workdir / "live", app_id=f"live-{unique}", env_extra=env)
    rebuilt = WorkerProcess(
        catalog_topics, workdir / "rebuilt", app_id=f"rebuilt-{unique}", env_extra=env
    )
    for worker in (live, rebuilt):
        worker.workdir.mkdir()
    live.start()
    try:
        live.wait_ready()
        produce(catalog_topics, _events(unique, dept))

        def settled(worker: WorkerProcess) -> dict[str, Any] | None:
            books = _books(worker, unique, dept)
            done = (
                books["duty_log"]
                and books["task"][0] == 200
                and books["replies"]["received"] == 2
                and len(books["alerts"]) == 2
                and books["order"][0] == 200
                and books["item"][0] == 200
                and books["emergencies"]
            )
            return books if done else None

        wait_for(lambda: settled(live), timeout=30, what="the live books")
        rebuilt.start().wait_ready(timeout=120)
        wait_for(lambda: settled(rebuilt), timeout=120, what="the rebuilt books")

        def caught_up() -> tuple[dict[str, Any], dict[str, Any]] | None:
            """The rebuilt worker reads the shared broker's whole history: its books exist
            before they are complete, so wait until both answer the same (or time out and
            show the difference below)."""
            pair = _books(rebuilt, unique, dept), _books(live, unique, dept)
            return pair if pair[0] == pair[1] else None

        try:
            got, expected = wait_for(caught_up, timeout=60, what="the rebuilt books to catch up")
        except AssertionError:
            got, expected = _books(rebuilt, unique, dept), _books(live, unique, dept)
    finally:
        rebuilt.stop()
        live.stop()
    assert got["task"][1]["history"] == expected["task"][1]["history"]
    assert [h["kind"] for h in got["task"][1]["history"]] == ["created", "assigned"]
    assert got["order"][1]["status"] == "dispatched"  # the early close refused, both times
    assert got["item"][1]["urgency"] == "加急"  # signed before its fax arrived: held, replayed
    assert got["emergencies"][0]["reports"] == 1  # the early follow-up refused, both times
    assert got == expected
