"""The duty report from a real worker: a shift's report over HTTP holds exactly that shift's
entries (as JSON and as a printable page), and the shift-end timer issues each report once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.harness import Broker, WorkerProcess, http_get_bytes, produce, read_topic, wait_for
from tests.samples import fax_envelope

ZONE = ZoneInfo("Asia/Shanghai")


def test_shift_report_holds_exactly_its_entries_and_is_issued_once(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    day = datetime(2025, 3, 14, tzinfo=ZONE)
    source = f"midfield://fax-log/{unique}"
    times = {
        "before": day.replace(hour=8, minute=29, second=59),
        "first": day.replace(hour=8, minute=30),
        "last": day.replace(hour=17, minute=29, second=59),
        "after": day.replace(hour=17, minute=30),
    }
    commids = {name: f"{n}{unique[:8]}" for n, name in enumerate(times, start=1)}
    with WorkerProcess(
        catalog_topics,
        workdir,
        app_id=f"report-{unique}",
        env_extra={"MIDFIELD_DUTY_REPORT_CHECK_INTERVAL_S": "0.5"},
    ).running() as worker:
        produce(
            catalog_topics, [fax_envelope(commids[n], at, source=source) for n, at in times.items()]
        )

        def mine() -> list[str]:
            status, rep = worker.get("/duty-report?date=2025-03-14&shift=%E7%99%BD%E7%8F%AD")
            assert status == 200, rep
            return sorted(e["subject"] for e in rep["new_items"] if e["source"] == source)

        assert wait_for(
            lambda: mine() == sorted([commids["first"], commids["last"]]) or None,
            timeout=30,
            what="the day shift's two entries",
        )
        status, body, _ = http_get_bytes(
            worker.url + "/duty-report?date=2025-03-14&shift=%E7%99%BD%E7%8F%AD&format=html"
        )
        page = body.decode()
        assert status == 200
        assert "值班报告 2025-03-14 白班" in page and "收到传真" in page
        assert worker.get("/duty-report?date=2025-03-14&shift=nope")[0] == 400

        now = datetime.now(ZONE)
        yesterday = (now - timedelta(days=1)).date().isoformat()

        def issued() -> list[bytes]:
            return [
                r.headers["ce_id"]
                for r in read_topic(catalog_topics, "office.duty.report.v1")
                if r.key == f"{yesterday}/day".encode()
            ]

        ids = wait_for(issued, timeout=30, what="yesterday's report issued")
        assert len(set(ids)) == 1, "one report id per day, whoever issues it"
