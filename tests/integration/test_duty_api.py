"""The duty officer's API as a real process, into a real worker: a call in the duty log, an
emergency with a numbered follow-up open in the duty report until closed, and what is refused."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.harness import (
    Broker,
    WorkerProcess,
    departments_file,
    http_post,
    midfield_env,
    produce,
    read_topic,
    serving,
    wait_for,
)
from tests.samples import fax_envelope

OFFICE = {"Authorization": "Bearer office-key"}
ZONE = ZoneInfo("Asia/Shanghai")


@contextmanager
def _duty_api(
    broker: Broker, workdir: Path, directory: Path, app_id: str, **worker_env: str
) -> Iterator[tuple[str, WorkerProcess]]:
    """``midfield connect duty``, ready, and a worker under ``app_id``, both with the departments
    file ``directory``: the API's URL and the worker, both stopped at the end."""
    env = midfield_env(broker, workdir, MIDFIELD_DEPARTMENTS_FILE=str(directory))
    worker_env |= {"MIDFIELD_DEPARTMENTS_FILE": str(directory)}
    worker = WorkerProcess(broker, workdir, app_id=app_id, env_extra=worker_env).start()
    try:
        with serving("duty", env, cwd=workdir) as api:
            yield api, worker
    finally:
        worker.stop()


def test_calls_and_emergencies_reach_the_duty_log_and_report(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    directory = departments_file(workdir / "departments.toml", {"edu": f"edu-{unique}"})
    entry, report = f"D-{unique}", f"EM-{unique}"
    with _duty_api(catalog_topics, workdir, directory, f"duty-{unique}") as (api, worker):
        call = {
            "entry_id": entry,
            "kind": "call",
            "time": "2025-07-02T14:05:00",
            "unit": "城关镇人民政府",
            "person": "张伟",
            "content": "东街水管爆裂",
            "recorder": "李华",
        }
        assert http_post(api + "/duty/entries", call, headers=OFFICE)[0] == 201
        assert http_post(api + "/duty/entries", call, headers=OFFICE)[0] == 201  # a retry
        first = {
            "report_id": report,
            "title": "城东内涝",
            "unit": "县应急管理局",
            "content": "积水 50 厘米",
            "recorder": "李华",
            "time": "2025-07-02T14:10:00",
        }
        assert http_post(api + "/duty/emergencies", first, headers=OFFICE)[0] == 201
        follow = {
            "sequence": 1,
            "title": "城东内涝",
            "content": "积水回落",
            "recorder": "李华",
            "time": "2025-07-02T15:10:00",
        }
        assert (
            http_post(api + f"/duty/emergencies/{report}/follow-ups", follow, headers=OFFICE)[0]
            == 201
        )

        worker.wait_ready()

        def lines() -> list[str]:
            entries = worker.every("/duty-log?date=2025-07-02", "entries")
            return [e["content"] for e in entries if e["subject"] in (entry, report)]

        assert wait_for(lambda: len(lines()) == 3 or None, timeout=30, what="3 duty-log lines")
        assert lines() == [
            "东街水管爆裂",
            "【首报】城东内涝：积水 50 厘米",
            "【续报一】城东内涝：积水回落",
        ]

        def open_ids() -> list[str]:
            rep = worker.get("/duty-report?date=2025-07-02")[1]
            return [x["report_id"] for x in rep["open_emergencies"]]

        assert report in wait_for(open_ids, timeout=30, what="the open emergency")
        close = {"note": "险情解除", "recorder": "李华"}
        assert http_post(api + f"/duty/emergencies/{report}/close", close, headers=OFFICE)[0] == 202
        wait_for(lambda: report not in open_ids(), timeout=30, what="the emergency closed")

        # refused: a department's key (audited: issue 18, finding 10), a missing field, a
        # follow-up of an unknown emergency
        department = {"Authorization": f"Bearer edu-{unique}"}
        assert http_post(api + "/duty/entries", call, headers=department)[0] == 403

        def denied() -> list[dict[str, Any]]:
            records = [json.loads(r.value) for r in read_topic(catalog_topics, "office.audit.v1")]
            return [r for r in records if r["principal"] == "department:edu"
                    and r["service"] == "duty" and r["outcome"] == "denied"]  # fmt: skip

        assert wait_for(denied, timeout=20, what="the denial in the audit trail")
        status, body = http_post(
            api + "/duty/entries", {"kind": "call", "recorder": "李华"}, headers=OFFICE
        )
        assert (status, [f["field"] for f in body["fields"]]) == (422, ["content"])
        ghost = f"EM-ghost-{uuid.uuid4().hex[:6]}"
        status, body = http_post(
            api + f"/duty/emergencies/{ghost}/follow-ups", follow, headers=OFFICE
        )
        assert (status, body["error"]) == (404, "unknown-emergency")
        with urllib.request.urlopen(api + "/duty", timeout=5) as resp:
            assert "值班登记" in resp.read().decode()

        visit = {
            "kind": "visit",
            "content": f"来访反映噪音{unique}",
            "recorder": "李华",
            "time": "2025-07-02T16:00:00",
        }
        retried = [
            http_post(
                api + "/duty/entries",
                visit,
                headers=OFFICE | {"Idempotency-Key": f"visit-{unique}"},
            )
            for _ in range(2)
        ]
        assert [s for s, _ in retried] == [201, 201]
        assert retried[0][1]["subject"] == retried[1][1]["subject"]

        def visits() -> list[str]:
            entries = worker.every("/duty-log?date=2025-07-02", "entries")
            return [e["id"] for e in entries if e["content"] == visit["content"]]

        wait_for(visits, timeout=30, what="the visit")
        time.sleep(1)
        assert len(visits()) == 1


def test_an_incoming_fax_signed_urgent_goes_overdue_then_closing_resolves_its_alert(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    directory = departments_file(workdir / "departments.toml", {})
    commid = f"5{unique[:8]}"
    three_days_ago = datetime.now(ZONE) - timedelta(days=3)
    often = {"MIDFIELD_DUTY_REPORT_CHECK_INTERVAL_S": "0.5"}  # the overdue check
    with _duty_api(catalog_topics, workdir, directory, f"items-{unique}", **often) as (api, worker):
        produce(
            catalog_topics,
            [fax_envelope(commid, three_days_ago, source=f"midfield://fax-log/{unique}")],
        )
        worker.wait_ready()

        def alert() -> dict | None:
            found = [
                a
                for a in worker.every("/alerts?open=false", "alerts")
                if a["alert_id"] == f"overdue/item/{commid}"
            ]
            return found[0] if found else None

        sign = {"urgency": "特提", "by": "王主任", "note": "请速办"}
        wait_for(
            lambda: (
                http_post(api + f"/duty/items/{commid}/sign", sign, headers=OFFICE)[0] == 202
                and alert()
            ),
            timeout=30,
            what="the overdue alert",
        )
        assert (alert() or {})["severity"] == "critical"
        today = datetime.now(ZONE).date().isoformat()
        overdue = worker.get(f"/duty-report?date={today}")[1]["overdue_items"]
        assert commid in [o["id"] for o in overdue]

        ack = http_post(
            api + f"/duty/alerts/overdue/item/{commid}/acknowledge", {"by": "李华"}, headers=OFFICE
        )
        assert ack[0] == 202
        wait_for(
            lambda: (alert() or {}).get("acknowledged_by") == "李华",
            timeout=30,
            what="acknowledged",
        )
        assert (alert() or {})["open"] is True

        document = {
            "number": f"×政发〔2025〕{unique}号",
            "title": "重点工作分工",
            "issuer": "×市人民政府",
            "urgency": "加急",
            "by": "李华",
        }
        assert http_post(api + "/duty/items", document, headers=OFFICE)[0] == 201
        quoted = urllib.parse.quote(document["number"])
        item = wait_for(
            lambda: (r := worker.get(f"/items/{quoted}"))[0] == 200 and r[1],
            timeout=30,
            what="the document registered",
        )
        assert (item["kind"], item["urgency"], item["status"]) == ("document", "加急", "registered")

        close = {"by": "李华", "note": "已办结"}
        assert http_post(api + f"/duty/items/{commid}/close", close, headers=OFFICE)[0] == 202
        wait_for(lambda: not (alert() or {"open": True})["open"], timeout=30, what="resolved")
