"""The dashboard in a real headless Chromium (Debian's, installed by `make test`), driven over the
DevTools protocol as a person would use it: signed out it sends you to sign in; a director signs
in and sees the red task the test produced, hostile text kept as text, the page refreshing by
itself and after a reload; sign-out ends it; a department's clerk sees only their own tasks.
Screenshots go to tests/artifacts/ (dashboard.png, dashboard-department.png, login.png)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.task import TaskAssigned, TaskCreated, TaskEvent
from tests.browser import CHROMIUM, Browser, browser
from tests.harness import REPO, Broker, WorkerProcess, people_file, produce, scrape, wait_for
from tests.samples import fax_envelope

ZONE = ZoneInfo("Asia/Shanghai")
ARTIFACTS = REPO / "tests" / "artifacts"
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
PASSWORD = "a long demo password"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium: `make system-deps` (run by `make test`) installs it"
)


async def _sign_in(page: Browser, url: str, login: str) -> None:
    """Open the dashboard signed out, land on the sign-in page, type and press 登录."""
    await page.goto(url + "/")
    assert "/login" in await page.url(), "signed out, the dashboard must ask to sign in"
    await page.evaluate(
        f"document.getElementById('login').value = {login!r};"
        f"document.getElementById('password').value = {PASSWORD!r};"
        "document.getElementById('sign-in').click()"
    )
    await page.wait_for("location.pathname === '/' && document.body.dataset.loaded === 'true'")


async def _dom(page: Browser) -> str:
    return str(await page.evaluate("document.documentElement.outerHTML"))


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


async def test_dashboard_signs_in_shows_the_red_task_refreshes_and_signs_out(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    lead, other = f"d{unique}", f"o{unique}"
    directory = people_file(
        workdir / "directory.toml",
        {"director": (("director",), None, PASSWORD), "clerk": (("department",), lead, PASSWORD)},
        {lead: f"key-{lead}", other: f"key-{other}"},
    )
    red, green, theirs = f"DC-{unique}-R", f"DC-{unique}-G", f"DC-{unique}-X"
    worker = WorkerProcess(
        catalog_topics,
        workdir,
        app_id=f"dash-{unique}",
        env_extra={
            "MIDFIELD_DEPARTMENTS_FILE": str(directory),
            "MIDFIELD_WORKER_LAG_INTERVAL_S": "1",
        },
    ).start()
    ARTIFACTS.mkdir(exist_ok=True)
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
                *_task(theirs, "别的部门的红灯任务", other, -5),
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
                and theirs in str(r[1]["supervision"]["red"])
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
        async with browser() as page:
            await page.goto(worker.url + "/")
            await page.screenshot(ARTIFACTS / "login.png")
            await _sign_in(page, worker.url, "director")
            dom = await _dom(page)
            cookie = next(c for c in await page.cookies() if c["name"] == "midfield_session")
            await page.screenshot(ARTIFACTS / "dashboard.png")
            updated = await page.evaluate("document.getElementById('updated').textContent")
            await page.wait_for(  # the page refreshes by itself, still signed in
                f"document.getElementById('updated').textContent !== {updated!r}", timeout=30
            )
            await page.goto(worker.url + "/")  # and after a reload
            await page.wait_for("document.body.dataset.loaded === 'true'")
            await page.evaluate("document.getElementById('sign-out').click()")
            await page.wait_for("location.pathname === '/login'")
            signed_out = await page.evaluate("fetch('/dashboard.json').then(r => r.status)")
            await page.goto(worker.url + "/")
            back_to_login = await page.url()
    finally:
        worker.stop()

    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert signed_out == 401 and "/login" in back_to_login
    assert 'data-loaded="true"' in dom, "the page's script did not render the data"
    assert "director" in re.search(r'<span id="who">(.*?)</span>', dom).group(1)  # type: ignore[union-attr]
    red_list = re.search(r'<tbody id="red-list">(.*?)</tbody>', dom, re.S)
    assert red_list and red in red_list.group(1) and "汛前病险水库除险加固" in red_list.group(1)
    assert green not in red_list.group(1) and theirs in red_list.group(1)
    assert "逾期 3 天" in red_list.group(1)
    alerts = re.search(r'<tbody id="alert-list">(.*?)</tbody>', dom, re.S)
    assert alerts and "&lt;img src=x" in alerts.group(1), "hostile text must stay text"
    assert "<img" not in alerts.group(1) and "pwned" not in dom.split("<title>")[1][:40]
    shot = ARTIFACTS / "dashboard.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


async def test_a_department_clerk_sees_only_their_own_tasks(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    lead, other = f"d{unique}", f"o{unique}"
    directory = people_file(
        workdir / "directory.toml",
        {"clerk": (("department",), lead, PASSWORD)},
        {lead: f"key-{lead}", other: f"key-{other}"},
    )
    mine, theirs = f"DC-{unique}-M", f"DC-{unique}-T"
    worker = WorkerProcess(
        catalog_topics,
        workdir,
        app_id=f"dash-dept-{unique}",
        env_extra={"MIDFIELD_DEPARTMENTS_FILE": str(directory)},
    ).start()
    try:
        worker.wait_ready()
        produce(
            catalog_topics,
            [
                *_task(mine, "本部门的逾期任务", lead, -2),
                *_task(theirs, "他部门的逾期任务", other, -2),
            ],
        )
        wait_for(
            lambda: theirs in str(worker.get("/dashboard.json")[1]["supervision"]["red"]),
            timeout=30,
            what="both tasks in the books",
        )
        async with browser() as page:
            await _sign_in(page, worker.url, "clerk")
            await page.wait_for(f"document.body.innerText.includes({mine!r})")
            dom = await _dom(page)
            await page.screenshot(ARTIFACTS / "dashboard-department.png")
    finally:
        worker.stop()
    assert mine in dom and "本部门的逾期任务" in dom
    assert theirs not in dom and "他部门的逾期任务" not in dom
