"""The weekly brief through a real worker: a county's nine weeks of messages, work orders,
tasks and faxes (tests/brief_samples.py, the brief's week the last full one) produced to a
private broker, then ``GET /brief`` and ``GET /brief.docx`` as the director reads them, and this
week's brief in the leaders' outbox, sent by the worker's timer (due since today 00:00)."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import docx
import pytest

from schemas.catalog import outbox
from schemas.events.brief import BriefIssued
from streams.brief.week import Week
from tests.brief_samples import ZONE, county
from tests.harness import (
    Broker,
    WorkerProcess,
    departments_file,
    http_get_bytes,
    produce,
    read_topic,
)

pytestmark = pytest.mark.xdist_group("brief")  # a private broker for the module


def test_the_brief_of_last_week_from_a_real_worker(own_broker: Broker, workdir: Path,
                                                   unique: str) -> None:  # fmt: skip
    week = Week.of(datetime.now(ZONE), ZONE).before(1)
    made = county(week=week)
    codes = ("edu", "env", "housing", "water", "health", "transport", "agri", "leaders")
    keys = {code: f"key-{code}" for code in codes}
    directory = departments_file(workdir / "departments.toml", keys)
    today = datetime.now(ZONE).isoweekday()
    env = {
        "MIDFIELD_DEPARTMENTS_FILE": str(directory),
        "MIDFIELD_BRIEF_SEND_WEEKDAY": str(today),
        "MIDFIELD_BRIEF_SEND_AT": "00:00",
        "MIDFIELD_BRIEF_CHECK_INTERVAL_S": "1",
    }
    worker = WorkerProcess(own_broker, workdir, app_id=f"brief-{unique}", env_extra=env).start()
    try:
        worker.wait_ready()
        produce(own_broker, made.envelopes)

        def brief() -> dict | None:
            status, body = worker.get(f"/brief?week={week.label}")
            assert status == 200, body
            done = body["totals"]["messages"] >= 70 and body["totals"]["red-task"] == 1
            return body if done and body["hotspots"] else None

        body = worker.wait(brief, timeout=120, what="the week's messages and tasks in the books")
        first = body["hotspots"][0]
        assert (first["label"], first["places"][0]["name"]) == ("学区划分", "桃源镇")
        focus = {(e["kind"], e["id"]) for e in body["focus"]}
        assert {("red-task", "DC-red"), ("overdue-order", "12345-late")} <= focus
        red = next(e for e in body["focus"] if e["id"] == "DC-red")
        assert red["department_name"] == "部门water"  # the directory's name
        assert body["start"] == week.start.isoformat()

        status, document, headers = http_get_bytes(f"{worker.url}/brief.docx?week={week.label}")
        assert status == 200 and headers["Content-Type"].startswith(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        )
        paragraphs = [p.text for p in docx.Document(io.BytesIO(document)).paragraphs]
        assert paragraphs[0] == f"{week.year}年第{week.number}周工作简报"
        assert "（一）学区划分（话题）" in paragraphs

        assert worker.get("/brief?week=2026-49")[0] == 400

        this_week = Week.of(datetime.now(ZONE), ZONE).label
        sent = worker.wait(lambda: _issued(own_broker), timeout=60, what="the brief in the outbox")
        assert [b["week"] for b in sent] == [this_week]  # once, though the timer ticks every 1 s
        assert sent[0]["document"] == f"/brief.docx?week={this_week}"
    finally:
        worker.stop()


def _issued(broker: Broker) -> list[dict[str, Any]]:
    if not read_topic(broker, outbox("leaders")):
        return []
    time.sleep(3)  # a second one, sent by mistake, would have come by now
    records = read_topic(broker, outbox("leaders"))
    return [json.loads(r.value) for r in records
            if r.headers.get("ce_type") == BriefIssued.type.encode()]  # fmt: skip
