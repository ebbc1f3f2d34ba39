"""The dashboard in a real headless Chromium (Debian's, installed by `make test`): it loads from a
real worker, shows the red task the test produced, keeps hostile text as text, and leaves a
screenshot in tests/artifacts/dashboard.png."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.task import TaskAssigned, TaskCreated, TaskEvent
from tests.harness import (
    REPO,
    Broker,
    WorkerProcess,
    departments_file,
    produce,
    scrape,
    wait_for,
)
from tests.samples import fax_envelope

ZONE = ZoneInfo("Asia/Shanghai")
ARTIFACTS = REPO / "tests" / "artifacts"
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium: `make system-deps` (run by `make test`) installs it"
)


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--no-first-run",
            "--hide-scrollbars",
            "--virtual-time-budget=8000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


def _wrap(event: TaskEvent, n: int) -> Envelope:
    now = datetime.now(ZONE)
    return Envelope.wrap(
        event,
        source="midfield://tasks/dashboard",
        subject=event.task_id,
        position=f"{event.task_id}/{n}",
        time=now,
    )


def _task(task_id: str, title: str, lead: str, deadline_in_days: int) -> list[Envelope]:
    deadline = datetime.now(ZONE).date() + timedelta(days=deadline_in_days)
    return [
        _wrap(
            TaskCreated(
                task_id=task_id,
                actor="office",
                title=title,
                deadline=deadline,
                lead_department=lead,
                focus=True,
            ),
            0,
        ),
        _wrap(TaskAssigned(task_id=task_id, actor="office"), 1),
    ]


def test_dashboard_shows_the_red_task_in_chromium_and_leaves_a_screenshot(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    lead = f"d{unique}"
    directory = departments_file(workdir / "departments.toml", {lead: "k"})
    red, green = f"DC-{unique}-R", f"DC-{unique}-G"
    worker = WorkerProcess(
        catalog_topics,
        workdir,
        app_id=f"dash-{unique}",
        env_extra={
            "MIDFIELD_DEPARTMENTS_FILE": str(directory),
            "MIDFIELD_WORKER_LAG_INTERVAL_S": "1",
        },
    ).start()
    try:
        worker.wait_ready()
        alert = AlertRaised(
            alert_id=f"security/test/{unique}",
            kind="security",
            severity=Severity.critical,
            message=f"越权操作 {HOSTILE}",
        )
        today = datetime.now(ZONE).replace(hour=9, minute=41, second=0, microsecond=0)
        produce(
            catalog_topics,
            [
                *_task(red, "汛前病险水库除险加固", lead, -3),
                *_task(green, "城区学校扩容工程", lead, 90),
                Envelope.wrap(
                    alert,
                    source="midfield://tasks/dashboard",
                    position=alert.alert_id,
                    subject=alert.alert_id,
                    time=datetime.now(ZONE),
                ),
                fax_envelope(f"9{unique[:8]}", today, source=f"midfield://fax-log/{unique}"),
            ],
        )
        wait_for(
            lambda: (
                (r := worker.get("/dashboard.json"))[0] == 200
                and red in str(r[1]["supervision"]["red"])
                and r[1]["alerts"]["open"]
                and r[1]["duty_log"]["count"]
            ),
            timeout=30,
            what="the books",
        )

        open_alerts = wait_for(
            lambda: scrape(worker.url + "/metrics").get(
                ("midfield_alerts_open", (("severity", "critical"),))
            ),
            timeout=30,
            what="the open-alerts gauge",
        )
        assert open_alerts >= 1
        dom = _chromium("--dump-dom", worker.url + "/").stdout
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        shot.unlink(missing_ok=True)
        _chromium(f"--screenshot={shot}", "--window-size=1400,1100", worker.url + "/")
    finally:
        worker.stop()

    assert 'data-loaded="true"' in dom, "the page's script did not render the data"
    red_list = re.search(r'<tbody id="red-list">(.*?)</tbody>', dom, re.S)
    assert red_list and red in red_list.group(1) and "汛前病险水库除险加固" in red_list.group(1)
    assert green not in red_list.group(1)
    assert "逾期 3 天" in red_list.group(1)
    alerts = re.search(r'<tbody id="alert-list">(.*?)</tbody>', dom, re.S)
    assert alerts and "&lt;img src=x" in alerts.group(1), "hostile text must stay text"
    assert "<img" not in alerts.group(1) and "pwned" not in dom.split("<title>")[1][:40]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
