"""The tasks API as departments use it: a real ``midfield connect tasks`` process on 127.0.0.1,
real keys, real events on the broker, and the ledger of a real worker behind it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.harness import (
    Broker,
    WorkerProcess,
    dead_letters,
    departments_file,
    http_post,
    midfield_env,
    read_topic,
    serving,
    wait_for,
)

DEADLINE = (date.today() + timedelta(days=60)).isoformat()


@dataclass
class Api:
    url: str
    keys: dict[str, str]
    lead: str
    other: str
    connector: str

    def post(self, path: str, body: Any, who: str, **headers: str) -> tuple[int, Any]:
        auth = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return http_post(self.url + path, body, headers=auth | headers)

    def create(self, task_id: str, lead: str | None = None) -> None:
        status, body = self.post(
            "/tasks",
            {
                "task_id": task_id,
                "title": "城区学校扩容",
                "deadline": DEADLINE,
                "lead_department": lead or self.lead,
            },
            "office",
        )
        assert status == 201, body
        assert self.post(f"/tasks/{task_id}/assign", {}, "office")[0] == 202


@pytest.fixture(scope="module")
def api(catalog_topics: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    workdir = tmp_path_factory.mktemp("tasks-api")
    unique = uuid.uuid4().hex[:8]
    lead, other = f"l{unique}", f"o{unique}"
    keys = {"office": "office-key", lead: f"key-{lead}", other: f"key-{other}"}
    directory = departments_file(
        workdir / "departments.toml", {lead: keys[lead], other: keys[other]}
    )
    env = midfield_env(catalog_topics, workdir, MIDFIELD_DEPARTMENTS_FILE=str(directory))
    args = ["--instance", unique, "--max-body-bytes", "4096"]
    with serving("tasks", env, cwd=workdir, args=args) as url:
        yield Api(url, keys, lead, other, f"midfield://tasks/{unique}")


def _task_id() -> str:
    return f"DC-{uuid.uuid4().hex[:8]}"


def _events(broker: Broker, task_id: str) -> list[tuple[str, dict]]:
    records = read_topic(broker, "office.supervision.task.v1")
    return [
        (r.headers["ce_type"].decode().split(".")[-2], json.loads(r.value))
        for r in records
        if r.key == task_id.encode()
    ]


def _kinds(broker: Broker, task_id: str) -> list[str]:
    return [kind for kind, _ in _events(broker, task_id)]


def _working_task(api: Api) -> str:
    """A task created, assigned to the lead department and signed for: ready for reports."""
    task_id = _task_id()
    api.create(task_id)
    assert api.post(f"/tasks/{task_id}/sign", {}, api.lead)[0] == 202
    return task_id


def test_department_reports_progress_on_its_own_task(api: Api, catalog_topics: Broker) -> None:
    task_id = _task_id()
    api.create(task_id)
    assert api.post(f"/tasks/{task_id}/sign", {"person": "王明"}, api.lead)[0] == 202
    status, body = api.post(f"/tasks/{task_id}/progress", {"percent": 40, "text": "过半"}, api.lead)
    assert (status, body["step"]) == (202, "progress")
    kinds = [(kind, data["actor"]) for kind, data in _events(catalog_topics, task_id)]
    assert kinds == [
        ("created", "office"),
        ("assigned", "office"),
        ("signed", api.lead),
        ("progress", api.lead),
    ]


def test_department_cannot_act_on_another_departments_task(
    api: Api, catalog_topics: Broker
) -> None:
    task_id = _task_id()
    api.create(task_id)
    status, body = api.post(f"/tasks/{task_id}/progress", {"percent": 90, "text": "x"}, api.other)
    assert (status, body["error"]) == (403, "not-a-task-department")

    def audited() -> dict | None:
        for record in read_topic(catalog_topics, "office.audit.v1"):
            data = json.loads(record.value)
            if data["target"] == task_id and data["outcome"] == "denied":
                return data
        return None

    denied = wait_for(audited, timeout=20, what="the denial in the audit trail")
    assert (denied["principal"], denied["service"], denied["route"], denied["status"]) == (
        f"department:{api.other}",
        "tasks",
        "/tasks/{task_id}/progress",
        403,
    )
    assert _kinds(catalog_topics, task_id) == ["created", "assigned"]


def test_a_flood_of_forbidden_calls_raises_one_grouped_alert_not_one_each(
    api: Api, catalog_topics: Broker, tmp_path: Path
) -> None:
    """Issue 18, finding 5: 30 forbidden calls made 30 critical alerts, each with a random id."""
    worker = WorkerProcess(catalog_topics, tmp_path, app_id=f"flood-{uuid.uuid4().hex[:8]}")
    worker.start()
    try:
        worker.wait_ready()
        task_id = _task_id()
        api.create(task_id)
        statuses = {
            api.post(f"/tasks/{task_id}/completion", {"text": "x"}, api.other)[0] for _ in range(30)
        }
        assert statuses == {403}
        day = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
        alert_id = f"security/denied/{day}/department:{api.other}"

        def shown() -> dict | None:
            found = worker.every("/alerts", "alerts")
            return next((a for a in found if a["alert_id"] == alert_id), None)

        # a fresh worker on the shared broker reads its whole history first (it returns as
        # soon as the alert is there; 30 s ran out once on Apache Kafka under a full run)
        alert = wait_for(shown, timeout=90, what="the grouped alert")
        wait_for(
            lambda: worker.get(f"/audit?principal=department:{api.other}")[1]["denied"] >= 30,
            timeout=60,
            what="every denial in the audit book",
        )
    finally:
        worker.stop()
    about_it = [
        json.loads(r.value)
        for r in read_topic(catalog_topics, "office.alerts.v1")
        if b"security" in r.value and api.other.encode() in r.value
    ]
    assert [a["alert_id"] for a in about_it] == [alert_id], "one alert, not one per request"
    assert (alert["kind"], alert["actor"], alert["open"]) == (
        "security",
        f"department:{api.other}",
        True,
    )


def test_department_cannot_take_the_offices_steps(api: Api) -> None:
    task_id = _task_id()
    api.create(task_id)
    status, body = api.post(f"/tasks/{task_id}/close", {}, api.lead)
    assert (status, body["error"]) == (403, "office-only")
    assert (
        api.post(
            "/tasks", {"title": "t", "deadline": DEADLINE, "lead_department": api.lead}, api.lead
        )[0]
        == 403
    )


@pytest.mark.parametrize("header", [None, "Bearer nobody-has-this-key", "Basic b2ZmaWNl"])
def test_missing_or_unknown_key_is_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    status, body = http_post(api.url + "/tasks", {"title": "t"}, headers=headers)
    assert (status, body["error"]) == (401, "unauthenticated")


def test_office_key_takes_a_task_through_its_whole_life_into_the_ledger(
    api: Api, catalog_topics: Broker, tmp_path: Path
) -> None:
    task_id = _task_id()
    worker = WorkerProcess(catalog_topics, tmp_path, app_id=f"api-{task_id}").start()
    try:
        api.create(task_id)
        steps = [
            ("sign", {}),
            ("progress", {"percent": 50, "text": "半"}),
            ("extension", {"deadline": "2099-12-31", "reason": "汛期"}),
            ("extension/approve", {"deadline": "2099-06-30"}),
            ("completion", {"text": "完成"}),
            ("review", {"accepted": False, "reason": "缺材料"}),
            ("completion", {"text": "已补材料"}),
            ("review", {"accepted": True}),
            ("close", {"note": "办结"}),
        ]
        for path, body in steps:
            status, answer = api.post(f"/tasks/{task_id}/{path}", body, "office")
            assert status == 202, (path, answer)
        worker.wait_ready()
        book = worker.wait_for_status(f"/ledger/{task_id}", "closed")
        assert (book["delay_count"], book["deadline"]) == (1, "2099-06-30")
        assert len(book["history"]) == 2 + len(steps)
    finally:
        worker.stop()


def test_a_step_out_of_order_is_409(api: Api) -> None:
    task_id = _task_id()
    api.create(task_id)
    status, body = api.post(f"/tasks/{task_id}/close", {}, "office")
    assert (status, body["error"]) == (409, "illegal-transition")
    assert api.post("/tasks/DC-none/sign", {}, api.lead)[0] == 404


def test_invalid_fields_are_422_with_reasons_and_a_dead_letter(
    api: Api, catalog_topics: Broker
) -> None:
    task_id = _working_task(api)
    marker = uuid.uuid4().hex
    status, body = api.post(
        f"/tasks/{task_id}/progress", {"percent": 140, "text": marker}, api.lead
    )
    assert (status, body["error"]) == (422, "invalid-request")
    assert [f["field"] for f in body["fields"]] == ["percent"]

    letters = dead_letters(catalog_topics)
    [letter] = [d for d in letters if marker in d.raw]
    assert (letter.reason, letter.connector, letter.source) == (
        "invalid-request",
        "tasks",
        api.connector,
    )


def test_a_body_that_is_not_json_is_400(api: Api) -> None:
    status, body = api.post("/tasks", b"{not json", "office")
    assert (status, body["error"]) == (400, "bad-json")


def test_a_body_over_the_limit_is_413(api: Api) -> None:
    status, body = api.post("/tasks", {"title": "x" * 10_000}, "office")
    assert (status, body["error"]) == (413, "body-too-large")


def test_a_retry_with_the_same_idempotency_key_is_one_event(
    api: Api, catalog_topics: Broker
) -> None:
    task_id = _working_task(api)
    body = {"percent": 10, "text": "起步"}
    first = api.post(f"/tasks/{task_id}/progress", body, api.lead, **{"Idempotency-Key": "r-1"})
    again = api.post(f"/tasks/{task_id}/progress", body, api.lead, **{"Idempotency-Key": "r-1"})
    assert (first[0], again[0]) == (202, 200)
    assert first[1]["id"] == again[1]["id"] and again[1]["duplicate"] is True
    assert _kinds(catalog_topics, task_id).count("progress") == 1


def test_an_idempotency_key_reused_for_another_step_is_422_not_a_silent_drop(
    api: Api, catalog_topics: Broker
) -> None:
    task_id = _working_task(api)
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    progress = api.post(
        f"/tasks/{task_id}/progress", {"percent": 90, "text": "收尾"}, api.lead, **key
    )
    completion = api.post(f"/tasks/{task_id}/completion", {"text": "已完工"}, api.lead, **key)

    assert progress[0] == 202
    assert (completion[0], completion[1]["error"]) == (422, "idempotency-key-reused")
    assert _kinds(catalog_topics, task_id).count("completion") == 0
    fresh = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    assert api.post(f"/tasks/{task_id}/completion", {"text": "已完工"}, api.lead, **fresh)[0] == 202


def test_an_idempotency_key_reused_on_another_task_is_422(api: Api) -> None:
    first, second = _working_task(api), _working_task(api)
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    body = {"percent": 30, "text": "推进中"}
    assert api.post(f"/tasks/{first}/progress", body, api.lead, **key)[0] == 202

    status, answer = api.post(f"/tasks/{second}/progress", body, api.lead, **key)
    assert (status, answer["error"]) == (422, "idempotency-key-reused")


def test_an_idempotency_key_reused_with_another_body_is_422(api: Api) -> None:
    task_id = _working_task(api)
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    assert (
        api.post(f"/tasks/{task_id}/progress", {"percent": 30, "text": "a"}, api.lead, **key)[0]
        == 202
    )

    status, answer = api.post(
        f"/tasks/{task_id}/progress", {"percent": 60, "text": "b"}, api.lead, **key
    )
    assert (status, answer["error"]) == (422, "idempotency-key-reused")


def test_the_same_key_of_another_department_is_its_own_request(api: Api) -> None:
    """A key is the sender's: two departments may happen to choose the same one."""
    task_id = _task_id()
    api.create(task_id)
    assert (
        api.post(f"/tasks/{task_id}/assign", {"assisting_departments": [api.other]}, "office")[0]
        == 202
    )
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    assert api.post(f"/tasks/{task_id}/sign", {}, api.lead, **key)[0] == 202
    assert api.post(f"/tasks/{task_id}/sign", {}, api.other, **key)[0] == 202
