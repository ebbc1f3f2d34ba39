"""The supervision ledger in a real worker: task events in, books, notices, dead letters and
reminders out, across a restart."""

from __future__ import annotations

import io
import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from schemas.catalog import DEADLETTER, outbox
from schemas.deadletter import DeadLetter
from schemas.envelope import Envelope
from schemas.events.task import (
    TaskAssigned,
    TaskClosed,
    TaskCreated,
    TaskEvent,
    TaskProgressReported,
    TaskSigned,
)
from streams.views.ledger_sheet import COLUMNS
from tests.harness import (
    Broker,
    RunWorker,
    WorkerProcess,
    departments_file,
    http_get,
    http_get_bytes,
    midfield_env,
    produce,
    read_topic,
    run_cli,
    scrape,
    wait_for,
)

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _wrap(event: TaskEvent, n: int) -> Envelope:
    return Envelope.wrap(
        event,
        source="midfield://tasks/test",
        position=f"{event.task_id}/{n}",
        subject=event.task_id,
        time=datetime.now(ZoneInfo("UTC")),
    )


def _task(task_id: str, lead: str, assisting: str, deadline: date) -> list[TaskEvent]:
    return [
        TaskCreated(
            task_id=task_id,
            actor="office",
            title="城区学校扩容",
            deadline=deadline,
            lead_department=lead,
            assisting_departments=(assisting,),
        ),
        TaskAssigned(task_id=task_id, actor="office", instruction="请按期办结"),
        TaskSigned(task_id=task_id, actor=lead, person="王明"),
    ]


@pytest.fixture
def codes(unique: str) -> tuple[str, str]:
    return f"l{unique}", f"a{unique}"


@pytest.fixture
def worker(run_worker: RunWorker, workdir: Path, codes: tuple[str, str]):
    lead, assisting = codes
    directory = departments_file(workdir / "departments.toml", {lead: "k1", assisting: "k2"})
    fast = {"MIDFIELD_SUPERVISION_REMINDER_CHECK_INTERVAL_S": "0.5"}
    with run_worker("ledger", directory, **fast) as worker:
        yield worker


def _notices(broker: Broker, department: str, task_id: str) -> list[dict]:
    found = [r for r in read_topic(broker, outbox(department)) if r.key == task_id.encode()]
    return [json.loads(r.value) | {"ce_id": r.headers["ce_id"].decode()} for r in found]


def test_task_events_build_the_book_and_notify_both_departments(
    worker: WorkerProcess, catalog_topics: Broker, unique: str, codes: tuple[str, str]
) -> None:
    lead, assisting = codes
    task_id = f"DC-{unique}"
    events = [
        *_task(task_id, lead, assisting, TODAY + timedelta(days=90)),
        TaskProgressReported(task_id=task_id, actor=lead, percent=40, text="主体四成"),
    ]
    produce(catalog_topics, [_wrap(e, n) for n, e in enumerate(events)])

    book = worker.wait_for_status(f"/ledger/{task_id}", "in_progress")
    assert [h["kind"] for h in book["history"]] == ["created", "assigned", "signed", "progress"]
    assert (book["percent"], book["light"], book["signed_by"].keys()) == (40, "green", {lead})
    status, listing = worker.get(f"/ledger?department={assisting}")
    assert status == 200 and [t["task_id"] for t in listing["tasks"]] == [task_id]
    for department in codes:
        [notice] = wait_for(
            lambda d=department: _notices(catalog_topics, d, task_id),
            timeout=30,
            what=f"notice to {department}",
        )
        assert (notice["step"], notice["message"]) == ("assigned", "请按期办结")


def test_a_step_the_lifecycle_forbids_is_dead_lettered_and_not_applied(
    worker: WorkerProcess, catalog_topics: Broker, unique: str, codes: tuple[str, str]
) -> None:
    task_id = f"DC-{unique}"
    events = [
        *_task(task_id, *codes, TODAY + timedelta(days=90)),
        TaskClosed(task_id=task_id, actor="office"),
    ]
    envelopes = [_wrap(e, n) for n, e in enumerate(events)]
    produce(catalog_topics, envelopes)

    def letter() -> tuple[dict, DeadLetter] | None:
        for record in read_topic(catalog_topics, DEADLETTER):
            dead = DeadLetter.from_value(record.value)
            if dead.meta.get("ce_id") == envelopes[-1].id:
                return record.headers, dead
        return None

    headers, dead = wait_for(letter, timeout=30, what="the dead letter")
    assert headers["dlq.reason"] == b"illegal-transition"
    assert headers["dlq.connector"] == b"ledger"
    assert dead.raw_bytes() == envelopes[-1].value()
    status, book = worker.get(f"/ledger/{task_id}")
    assert status == 200 and book["status"] == "signed" and len(book["history"]) == 3


def test_a_notice_for_a_department_outside_the_directory_is_dead_lettered_then_redriven(
    worker: WorkerProcess, catalog_topics: Broker, workdir: Path, unique: str,
    codes: tuple[str, str],
) -> None:  # fmt: skip
    """Production brokers make no topic on first use: a send to the outbox of a department
    nobody configured would wait until the producer gives up, holding every commit. The notice
    is dead-lettered with its outbox and the duty officer alerted; once the department is in the
    directory and its topic made, a re-drive delivers it with its own id."""
    lead, ghost = codes[0], f"g{unique}"
    task_id = f"DC-{unique}"
    events = _task(task_id, lead, ghost, TODAY + timedelta(days=90))
    produce(catalog_topics, [_wrap(e, n) for n, e in enumerate(events)])
    wait_for(lambda: _notices(catalog_topics, lead, task_id), timeout=30, what="the lead's notice")

    def letters() -> list[DeadLetter]:
        found = [DeadLetter.from_value(r.value) for r in read_topic(catalog_topics, DEADLETTER)]
        return [x for x in found if x.reason == "unknown-department"
                and x.source == f"midfield://worker/{worker.app_id}"
                and task_id.encode() in x.raw_bytes()]  # fmt: skip

    [letter] = wait_for(letters, timeout=30, what="the dead letter")
    assert letter.meta["outbox"] == outbox(ghost) and letter.connector == "worker"
    notice_id = letter.meta["ce_id"]
    [alert] = wait_for(
        lambda: [a for a in worker.every("/alerts", "alerts")
                 if a["alert_id"] == f"unknown-department/{ghost}/{task_id}"],
        timeout=30, what="the duty officer's alert",
    )  # fmt: skip
    assert ghost in alert["message"] and "redrive" in alert["message"]

    env = midfield_env(catalog_topics, workdir)
    only_ours = ["--source", letter.source, "--reason", "unknown-department", "--json"]
    env["MIDFIELD_DEPARTMENTS_FILE"] = str(workdir / "departments.toml")
    still = json.loads(run_cli(["replay", "redrive", *only_ours], env, cwd=workdir).stdout)
    # (this worker reads the shared topic: other tests' departments are unknown to it as well)
    assert still["redriven"] == 0 and still["failing"] == still["taken"] >= 1, still

    departments_file(workdir / "with-ghost.toml", {lead: "k1", codes[1]: "k2", ghost: "k3"})
    env["MIDFIELD_DEPARTMENTS_FILE"] = str(workdir / "with-ghost.toml")
    run_cli(["topics", "create"], env, cwd=workdir)
    done = json.loads(run_cli(["replay", "redrive", *only_ours], env, cwd=workdir).stdout)
    assert done["redriven"] == done["events"] >= 1, done
    [notice] = _notices(catalog_topics, ghost, task_id)
    assert (notice["ce_id"], notice["step"]) == (notice_id, "assigned")


def test_unknown_task_answers_404_and_a_bad_filter_400(worker: WorkerProcess) -> None:
    assert worker.get("/ledger/no-such-task")[0] == 404
    status, body = worker.get("/ledger?light=purple")
    assert status == 400 and body["error"] == "bad-filter"


def test_the_ledger_pages_with_a_cursor_and_counts_every_task_it_filters(
    worker: WorkerProcess, catalog_topics: Broker, unique: str, codes: tuple[str, str]
) -> None:
    lead, assisting = codes
    ids = [f"DC-{unique}-{n}" for n in range(5)]
    events = [e for i in ids for e in _task(i, lead, assisting, TODAY + timedelta(days=90))]
    produce(catalog_topics, [_wrap(e, n) for n, e in enumerate(events)])
    worker.wait_for_status(f"/ledger/{ids[-1]}", "signed")

    pages, after = [], ""
    while after is not None:
        status, body = worker.get(f"/ledger?department={lead}&limit=2&after={after}")
        assert status == 200 and body["count"] == 5 and body["lights"]["green"] == 5
        pages.append([t["task_id"] for t in body["tasks"]])
        after = body["next"]
    assert pages == [ids[0:2], ids[2:4], ids[4:5]]
    assert worker.get("/ledger?limit=0")[1]["error"] == "bad-filter"
    assert worker.get("/ledger?limit=1001")[0] == 400


def test_overdue_task_is_red_and_reminded_once_even_across_a_restart(
    worker: WorkerProcess, catalog_topics: Broker, unique: str, codes: tuple[str, str]
) -> None:
    lead, assisting = codes
    task_id = f"DC-{unique}"
    produce(
        catalog_topics,
        [
            _wrap(e, n)
            for n, e in enumerate(_task(task_id, lead, assisting, TODAY - timedelta(days=2)))
        ],
    )

    def reminded(department: str) -> list[dict]:
        return [n for n in _notices(catalog_topics, department, task_id) if n["step"] == "reminded"]

    for department in codes:
        wait_for(lambda d=department: reminded(d), timeout=30, what=f"reminder to {department}")
    status, red = worker.get("/ledger?light=red")
    assert status == 200 and task_id in [t["task_id"] for t in red["tasks"]]
    # the duty report lists it among the overdue (read from the summary's red tasks)
    status, report = worker.get("/duty-report")
    listed = {o["id"]: o for o in report["overdue_items"] if o["kind"] == "task"}
    assert status == 200 and listed[task_id]["reason"] == "逾期 2 天", listed.get(task_id)
    [reminder] = reminded(lead)
    assert (reminder["light"], reminder["message"]) == ("red", "overdue by 2 days")

    sent = scrape(worker.url + "/metrics")[("midfield_reminders_sent_total", (("light", "red"),))]
    assert sent >= 1  # this worker reads the shared topic: other tests' overdue tasks count too

    worker.stop()
    worker.start().wait_ready()
    wait_for(
        lambda: worker.get(f"/ledger/{task_id}")[1].get("reminders") == 1,
        timeout=30,
        what="the book recovered",
    )
    time.sleep(3)  # six reminder checks on the restarted worker
    assert [len(reminded(d)) for d in codes] == [1, 1]
    assert worker.get(f"/ledger/{task_id}")[1]["reminders"] == 1
    # the ledger's summary was made again from the recovered books
    status, red = worker.get(f"/ledger?light=red&department={lead}")
    assert (status, [t["task_id"] for t in red["tasks"]], red["lights"]["red"]) == (
        200, [task_id], 1)  # fmt: skip


def test_a_listed_task_s_row_follows_its_book_on_the_ledger_and_the_dashboard(
    worker: WorkerProcess, catalog_topics: Broker, unique: str, codes: tuple[str, str]
) -> None:
    """Both views remember a listed task's row while its book is unchanged
    (streams/views/rows.py): a progress report must show at the next read, never the row made
    before it."""
    lead, assisting = codes
    task_id = f"DC-{unique}"
    events = [
        *_task(task_id, lead, assisting, TODAY - timedelta(days=2)),
        TaskProgressReported(task_id=task_id, actor=lead, percent=40, text="主体四成"),
    ]
    produce(catalog_topics, [_wrap(e, n) for n, e in enumerate(events)])

    def shown() -> tuple[list[int], list[int]]:
        # the lead's clerk: its own red tasks only, whatever other tests leave on the broker
        ledger = http_get(f"{worker.url}/ledger?light=red", key="k1")[1]["tasks"]
        board = http_get(f"{worker.url}/dashboard.json", key="k1")[1]["supervision"]["red"]
        return [t["percent"] for t in ledger], [t["percent"] for t in board]

    wait_for(lambda: shown() == ([40], [40]), timeout=30, what="the red task at 40%")
    assert shown() == ([40], [40])  # read again: the remembered rows
    produce(catalog_topics, [_wrap(TaskProgressReported(
        task_id=task_id, actor=lead, percent=70, text="主体七成"), len(events))])  # fmt: skip
    wait_for(lambda: shown() == ([70], [70]), timeout=30, what="the red task at 70%")
    status, board = http_get(f"{worker.url}/dashboard.json", key="k1")
    [row] = board["supervision"]["red"]
    assert (status, row["task_id"], row["reason_code"]) == (200, task_id, "overdue")


def test_ledger_xlsx_has_one_row_per_task_with_the_light_as_its_colour(
    worker: WorkerProcess, catalog_topics: Broker, unique: str, codes: tuple[str, str]
) -> None:
    late, fine = f"DC-{unique}-late", f"DC-{unique}-fine"
    envelopes = [
        _wrap(e, n)
        for n, e in enumerate(
            [
                *_task(late, *codes, TODAY - timedelta(days=1)),
                *_task(fine, *codes, TODAY + timedelta(days=90)),
            ]
        )
    ]
    produce(catalog_topics, envelopes)
    wait_for(
        lambda: all(worker.get(f"/ledger/{t}")[0] == 200 for t in (late, fine)),
        timeout=30,
        what="both books",
    )

    status, body, headers = http_get_bytes(worker.url + "/ledger.xlsx")
    assert status == 200
    assert headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    header = [c.value for c in sheet[2]]
    assert header == list(COLUMNS)
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=3) if row[1].value in (late, fine)}
    light = COLUMNS.index("亮灯")
    assert (rows[late][light].value, rows[late][light].fill.fgColor.rgb[-6:]) == ("红", "FF0000")
    assert (rows[fine][light].value, rows[fine][light].fill.fgColor.rgb[-6:]) == ("绿", "00B050")
    assert rows[late][COLUMNS.index("牵头单位")].value == f"部门{codes[0]}"
