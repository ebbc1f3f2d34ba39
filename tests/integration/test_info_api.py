"""The information reports intake as a real ``midfield connect info`` process, into a real
worker: a report's whole life recorded over HTTP and read back from ``/info-reports`` and its
tallies, who may take which step, what a person signed in records, and what is refused."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.fernet import Fernet

from midfield.access import Sessions
from tests.harness import (
    Broker,
    WorkerProcess,
    dead_letters,
    http_post,
    midfield_env,
    people_file,
    read_topic,
    serving,
    wait_for,
)

SESSION_KEY = Fernet.generate_key().decode()
UNIQUE = uuid.uuid4().hex[:6]
"""In the logins: a drafter's figures are this run's alone, whatever the broker kept."""
STAFF, CLERK, OPS = f"lihua-{UNIQUE}", f"clerk-{UNIQUE}", f"ops-{UNIQUE}"
PEOPLE = {
    STAFF: (("duty-officer",), None, "pw-staff"),
    CLERK: (("department",), "edu", "pw-clerk"),
    OPS: (("ops",), None, "pw-ops"),
}
KEYS = {"edu": "edu-key-info"}


@dataclass
class Info:
    url: str
    worker: WorkerProcess
    source: str

    def post(self, path: str, body: Any, who: str, **headers: str) -> tuple[int, Any]:
        """POST as ``who``: ``office`` or ``edu`` (their API key), or a person's login (a
        dashboard session, as a signed-in browser sends it)."""
        if who in ("office", "edu"):
            auth = {"Authorization": f"Bearer {'office-key' if who == 'office' else KEYS['edu']}"}
        else:
            cookie = Sessions(SESSION_KEY, 3600).issue(who, time.time())
            auth = {"Cookie": f"{Sessions.COOKIE}={cookie}"}
        return http_post(self.url + path, body, headers=auth | headers)

    def shown(self, report_id: str) -> dict[str, Any] | None:
        reports = self.worker.get("/info-reports")[1]["reports"]
        return next((r for r in reports if r["report_id"] == report_id), None)


@pytest.fixture(scope="module")
def info(catalog_topics: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Info]:
    workdir = tmp_path_factory.mktemp("info-api")
    unique = uuid.uuid4().hex[:8]
    directory = people_file(workdir / "directory.toml", PEOPLE, KEYS)
    access = {
        "MIDFIELD_DEPARTMENTS_FILE": str(directory),
        "MIDFIELD_ACCESS_SESSION_KEY": SESSION_KEY,
    }
    worker = WorkerProcess(catalog_topics, workdir, app_id=f"info-{unique}", env_extra=access)
    worker.start()
    try:
        env = midfield_env(catalog_topics, workdir, **access)
        with serving("info", env, cwd=workdir, args=["--instance", unique]) as url:
            worker.wait_ready()
            yield Info(url, worker, f"midfield://info/{unique}")
    finally:
        worker.stop()


def _rid() -> str:
    return f"XX-{uuid.uuid4().hex[:8]}"


def _events(broker: Broker, report_id: str) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in read_topic(broker, "office.info.report.v1")
            if r.key == report_id.encode()]  # fmt: skip


def test_a_report_s_whole_life_reaches_the_book_and_its_tallies(info: Info) -> None:
    rid = _rid()
    steps = [
        ("", {"report_id": rid, "source": "duty_entry", "reference": "D-20250314-0003",
              "title": "东街供水管道爆裂", "time": "2025-03-14T11:00:00"}, 201),
        ("draft", {"title": "XX县快速处置城区供水突发事件", "text": "3月14日9时……",
                   "time": "2025-03-14T15:00:00"}, 202),
        ("submit", {"to": ["市委办", "市政府办"], "time": "2025-03-15T09:00:00"}, 202),
        ("adopt", {"office": "市政府办", "publication": "《XX政务信息》", "issue": "2025年第12期",
                   "time": "2025-03-20T10:00:00+08:00"}, 202),
        ("endorse", {"leader": "张明", "post": "市长", "level": "city",
                     "instruction": "此做法很好。", "time": "2025-03-22T10:00:00"}, 202),
    ]  # fmt: skip
    for step, body, expected in steps:
        path = f"/info/reports/{rid}/{step}" if step else "/info/reports"
        status, answer = info.post(path, body, STAFF)
        assert (status, answer["report_id"]) == (expected, rid), answer

    book = wait_for(lambda: (b := info.shown(rid)) and b["status"] == "endorsed" and b,
                    timeout=60, what="the endorsed report")  # fmt: skip
    assert (book["drafter"], book["drafter_name"], book["department"]) == (
        f"person:{STAFF}", STAFF, "office")  # fmt: skip
    assert book["submitted_to"] == ["市委办", "市政府办"]
    assert book["endorsements"][0]["leader"] == "张明"
    assert book["adopted_at"] == "2025-03-20T10:00:00+08:00"

    def mine(period: str) -> dict[str, Any]:
        rows = info.worker.get(f"/info-reports/tallies?period={period}")[1]["drafters"]
        return next(d for d in rows if d["drafter"] == f"person:{STAFF}")

    march = mine("2025-03")
    assert (march["proposed"], march["submitted"], march["adopted"]) == (1, 1, 1)
    assert (march["endorsements"]["city"], march["adoption_rate"]) == (1, 1.0)
    week = mine("2025-W12")  # 17-23 March: the adoption and the endorsement, nothing earlier
    counts = [week[k] for k in ("proposed", "submitted", "adoptions", "endorsed")]
    assert counts == [0, 0, 1, 1]
    assert mine("2025-Q2")["adoption_rate"] is None
    found = info.worker.get("/info-reports?status=endorsed&period=2025-Q1")[1]["reports"]
    assert rid in {r["report_id"] for r in found}
    assert rid not in {r["report_id"] for r in info.worker.get("/info-reports?period=2025-Q2")[1]
                       ["reports"]}  # fmt: skip
    assert info.worker.get("/info-reports?status=nonsense")[0] == 400
    assert info.worker.get("/info-reports/tallies?period=2025-W54")[0] == 400


def test_a_clerk_s_candidate_records_the_signed_in_person_and_the_department(
    info: Info, catalog_topics: Broker
) -> None:
    rid = _rid()
    body = {"report_id": rid, "source": "hotspot", "reference": "城区学校扩容", "title": "扩容"}
    assert info.post("/info/reports", body, CLERK)[0] == 201
    typed = {"title": "扩容进展", "text": "正文", "by": "person:director"}
    status, answer = info.post(f"/info/reports/{rid}/draft", typed, CLERK)
    assert (status, answer["fields"][0]["field"]) == (422, "by")
    draft = {"title": "扩容进展", "text": "正文"}
    assert info.post(f"/info/reports/{rid}/draft", draft, CLERK)[0] == 202
    events = wait_for(lambda: len(e := _events(catalog_topics, rid)) == 2 and e, timeout=20,
                      what="both events")  # fmt: skip
    who = {(e["actor"], e["by"], e["by_name"]) for e in events}
    assert who == {("edu", f"person:{CLERK}", CLERK)}
    submit = {"to": ["市政府办"]}
    status, answer = info.post(f"/info/reports/{rid}/submit", submit, CLERK)
    assert (status, answer["error"]) == (403, "office-only")
    assert info.post(f"/info/reports/{rid}/submit", submit, OPS)[0] == 403  # acts for nobody
    assert info.post(f"/info/reports/{rid}/submit", submit, STAFF)[0] == 202


def test_a_department_acts_only_on_its_own_reports(info: Info) -> None:
    rid = _rid()
    assert info.post("/info/reports", {"report_id": rid, "source": "by_hand", "title": "t"},
                     "office")[0] == 201  # fmt: skip
    status, answer = info.post(f"/info/reports/{rid}/draft", {"title": "t", "text": "x"}, "edu")
    assert (status, answer["error"]) == (403, "not-its-report")


def test_unknown_reports_illegal_steps_and_bad_bodies_are_refused(
    info: Info, catalog_topics: Broker
) -> None:
    draft = {"title": "t", "text": "x"}
    status, answer = info.post(f"/info/reports/{_rid()}/draft", draft, "office")
    assert (status, answer["error"]) == (404, "unknown-report")
    rid = _rid()
    assert info.post("/info/reports", {"report_id": rid, "source": "by_hand", "title": "t"},
                     "office")[0] == 201  # fmt: skip
    status, answer = info.post(f"/info/reports/{rid}/submit", {"to": ["市政府办"]}, "office")
    assert (status, answer["error"]) == (409, "illegal-transition")
    again = {"report_id": rid, "source": "by_hand", "title": "又一次"}
    assert info.post("/info/reports", again, "office")[1]["error"] == "report-exists"
    status, answer = info.post("/info/reports", {"source": "hotspot", "title": "t"}, "office")
    assert (status, answer["fields"][0]["field"]) == (422, "reference")
    assert info.post("/info/reports", b"{not json", "office")[0] == 400

    def reasons() -> set[str]:
        return {d.reason for d in dead_letters(catalog_topics, info.source)}

    wait_for(lambda: reasons() >= {"bad-json", "invalid-request"}, timeout=20,
             what="both bad bodies dead-lettered")  # fmt: skip


def test_a_retried_request_is_one_event_and_a_reused_key_is_refused(
    info: Info, catalog_topics: Broker
) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"source": "by_hand", "title": "秸秆综合利用"}
    first = info.post("/info/reports", body, "office", **key)
    second = info.post("/info/reports", body, "office", **key)
    assert (first[0], second[0], second[1]["duplicate"]) == (201, 200, True)
    assert first[1]["id"] == second[1]["id"] and first[1]["report_id"] == second[1]["report_id"]
    status, answer = info.post("/info/reports", body | {"title": "另一条"}, "office", **key)
    assert (status, answer["error"]) == (422, "idempotency-key-reused")
    rid = first[1]["report_id"]
    wait_for(lambda: info.shown(rid), timeout=60, what="the candidate in the book")
    assert len(_events(catalog_topics, rid)) == 1
