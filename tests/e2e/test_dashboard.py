"""The dashboard in a real headless Chromium (Debian's, installed by `make test`), driven over the
DevTools protocol as a person would use it: signed out it sends you to sign in; a director signs
in and sees the red task the test produced, hostile text kept as text, everything worded in
Chinese (alerts by their reason, alert kinds, channels), the on-time reply rate coloured by the
thresholds in settings, and what needs a person (dead letters waiting, open emergencies with their
last follow-up, hotline orders at risk) in the third column, a message no department has with
its suggested departments; the page refreshing by itself and after a reload; sign-out ends it; a
department's clerk sees only their own tasks and work orders and none of the office-wide panels.
Screenshots go to tests/artifacts/ (dashboard.png, dashboard-department.png, login.png)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from schemas.catalog import DEADLETTER
from schemas.deadletter import DeadLetter
from schemas.envelope import Envelope, EventData
from schemas.events.alert import AlertRaised, Severity
from schemas.events.duty import EmergencyReported
from schemas.events.message import PublicMessageReceived, PublicMessageReplied
from schemas.events.task import TaskAssigned, TaskCreated, TaskEvent
from schemas.events.workorder import WorkOrderStepped
from tests.browser import CHROMIUM, Browser, browser
from tests.harness import REPO, Broker, RunWorker, people_file, produce, scrape, wait_for
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


def _event(event: EventData, subject: str, n: int, when: datetime) -> Envelope:
    return Envelope.wrap(
        event, source="midfield://dashboard/test", subject=subject, position=f"{subject}/{n}",
        time=when,
    )  # fmt: skip


def _order(number: str, unit: str, category: str, accepted: datetime) -> list[Envelope]:
    """A hotline order accepted at ``accepted`` and dispatched to ``unit``."""
    return [
        _event(
            WorkOrderStepped(order_number=number, step="accepted", category=category),
            number,
            0,
            accepted,
        ),
        _event(
            WorkOrderStepped(order_number=number, step="dispatched", units=(unit,)),
            number,
            1,
            accepted + timedelta(minutes=1),
        ),
    ]


def _needs_a_person(unique: str, lead: str) -> list[Envelope]:
    """An English alert from before the labels table, an unanswered-message alert, a message
    answered late (on-time rate 0 %), a message no department has, an emergency with a
    follow-up, and an order overdue."""
    now = datetime.now(ZONE)
    old = AlertRaised(
        alert_id=f"security/tasks/edu/{unique}",
        kind="security",
        severity=Severity.critical,
        about=f"DC-{unique}-R",
        actor=lead,
        reason="not-a-task-department",
        message=f"edu is not a department of DC-{unique}-R (POST /tasks/DC-{unique}-R/progress)",
    )
    late = AlertRaised(
        alert_id=f"unanswered/board-{unique}",
        kind="unanswered",
        severity=Severity.critical,  # critical, so other tests' alerts do not push it off the list
        about=f"board-{unique}",
        actor=lead,
        level=30,
        reason="unanswered-30-days",
        message="留言已 31 天未答复（30 天预警）",
    )
    message = f"board-{unique}-late"
    return [
        _event(old, old.alert_id, 0, now),
        _event(late, late.alert_id, 0, now),
        _event(PublicMessageReceived(message_id=message, channel="board", title="路灯不亮",
                                     department=lead), message, 0, _earlier_today(now, 2 * 60)),
        _event(PublicMessageReplied(message_id=message, department=lead, reply="已修复"),
               message, 1, _earlier_today(now, 1)),
        _event(EmergencyReported(report_id=f"EM-{unique}", sequence=0, title="城东片区内涝",
                                 unit="县应急管理局", content="积水50厘米", recorder="李华"),
               f"EM-{unique}", 0, _earlier_today(now, 60)),
        _event(EmergencyReported(report_id=f"EM-{unique}", sequence=1, title="城东片区内涝",
                                 unit="县应急管理局", content="积水已退至20厘米，无人员伤亡",
                                 recorder="李华"), f"EM-{unique}", 1, now),
        _event(PublicMessageReceived(message_id=f"board-{unique}-nobody", channel="board",
                                     title="路灯坏了没人修", content="东风路路灯不亮"),
               f"board-{unique}-nobody", 0, now - timedelta(days=800)),  # the oldest: listed
        *_order(f"12345-{unique}-LATE", lead, "consultation", now - timedelta(days=30)),
        *_order(f"12345-{unique}-FINE", lead, "complaint", now - timedelta(hours=1)),
    ]  # fmt: skip


def _away_from_midnight() -> None:
    """Wait out the first two minutes of an office day: the sample's events must fall on one
    office day, with the late reply more than the on-time window after its message."""
    now = datetime.now(ZONE)
    since_midnight = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    time.sleep(max(0.0, 120 - since_midnight))


def _earlier_today(now: datetime, minutes: float) -> datetime:
    """``minutes`` before ``now``, or less, so that it falls on the same office day (and month):
    the duty log and the reply tallies count by the office's day. Longer spans are kept in
    order: 2 h before 1 min is also half before a quarter of the time since midnight."""
    since_midnight = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now - min(timedelta(minutes=minutes), since_midnight * (minutes / 240))


def _letter(unique: str) -> DeadLetter:
    """What a fax-log reader writes for a line it cannot parse."""
    return DeadLetter.of(
        b"RECV\tbroken",
        reason="bad-field-count",
        error="2 fields, 14 expected",
        source=f"midfield://fax-log/{unique}",
        position="line 7",
        connector="fax-log",
        first_seen=datetime.now(ZONE),
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


def _directory(workdir: Path, unique: str, *logins: str) -> tuple[str, str, Path]:
    """A lead department and another, and a directory with both and ``logins`` of: the
    ``director``, the lead department's ``clerk``."""
    lead, other = f"d{unique}", f"o{unique}"
    people = {
        "director": (("director",), None, PASSWORD),
        "clerk": (("department",), lead, PASSWORD),
    }
    departments = {lead: f"key-{lead}", other: f"key-{other}"}
    chosen = {login: people[login] for login in logins}
    return lead, other, people_file(workdir / "directory.toml", chosen, departments)


async def test_dashboard_signs_in_shows_the_red_task_refreshes_and_signs_out(
    catalog_topics: Broker, workdir: Path, unique: str, run_worker: RunWorker
) -> None:
    lead, other, directory = _directory(workdir, unique, "director", "clerk")
    red, green, theirs = f"DC-{unique}-R", f"DC-{unique}-G", f"DC-{unique}-X"
    ARTIFACTS.mkdir(exist_ok=True)
    settings = {
        "MIDFIELD_WORKER_LAG_INTERVAL_S": "1",
        "MIDFIELD_REPLIES_ON_TIME_DAYS": "0.0001",  # 8.6 s: the reply below is late
        "MIDFIELD_REPLIES_RED_BELOW": "0.6",
        "MIDFIELD_REPLIES_YELLOW_BELOW": "0.9",
    }
    _away_from_midnight()
    with run_worker("dash", directory, **settings) as worker:
        alert = AlertRaised(
            alert_id=f"security/test/{unique}",
            kind="security",
            severity=Severity.critical,
            message=f"越权操作 {HOSTILE}",
        )
        long_word = AlertRaised(  # a topic name, a URL: one word wider than the panel
            alert_id=f"connector/test/{unique}",
            kind="connector",
            severity=Severity.warning,
            message="no route to " + "office.outbox." * 12 + unique,
        )
        today = datetime.now(ZONE).replace(hour=9, minute=41, second=0, microsecond=0)
        produce(
            catalog_topics,
            [
                *_task(red, "汛前病险水库除险加固", lead, -3),
                *_task(green, "城区学校扩容工程", lead, 90),
                *_task(theirs, "别的部门的红灯任务", other, -5),
                *(
                    Envelope.wrap(
                        raised,
                        source="midfield://tasks/dashboard",
                        position=raised.alert_id,
                        subject=raised.alert_id,
                        time=datetime.now(ZONE),
                    )
                    for raised in (alert, long_word)
                ),
                fax_envelope(f"9{unique[:8]}", today, source=f"midfield://fax-log/{unique}"),
                *_needs_a_person(unique, lead),
            ],
        )
        produce(catalog_topics, [_letter(unique)], topic=DEADLETTER)
        produce(catalog_topics, [_NotAnEvent()], topic=TaskEvent.topic)  # the worker's own
        worker.wait(
            lambda: (
                (r := worker.get("/dashboard.json"))[0] == 200
                and theirs in str(r[1]["supervision"]["red"])
                and r[1]["alerts"]["open"] >= 4
                and r[1]["duty_log"]["count"] >= 3
                and r[1]["dead_letters"]["waiting"] >= 2
                and r[1]["emergencies"]["open"]
                and r[1]["work_orders"]["count"]
                and r[1]["replies"]["total"]["replied"]
                and f"board-{unique}-nobody" in str(r[1]["unassigned"])
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
            overflow = await page.evaluate(_OVERFLOWING)
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
    assert overflow == [], "nothing sticks out of its panel or the page"
    _assert_in_chinese_with_meaningful_colours(dom, unique, lead)
    _assert_what_needs_a_person(dom, unique)
    unassigned = _tbody(dom, "unassigned-list")
    row = next(r for r in unassigned.split("<tr>") if f"board-{unique}-nobody" in r)
    assert "路灯坏了没人修" in row and re.search(r"<div>1\. [^<]+ [01]\.\d\d", row), row
    shot = ARTIFACTS / "dashboard.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


async def test_a_department_clerk_sees_only_their_own_tasks(
    catalog_topics: Broker, workdir: Path, unique: str, run_worker: RunWorker
) -> None:
    lead, other, directory = _directory(workdir, unique, "clerk")
    mine, theirs = f"DC-{unique}-M", f"DC-{unique}-T"
    with run_worker("dash-dept", directory) as worker:
        long_ago = datetime.now(ZONE) - timedelta(days=30)
        produce(
            catalog_topics,
            [
                *_task(mine, "本部门的逾期任务", lead, -2),
                *_task(theirs, "他部门的逾期任务", other, -2),
                *_order(f"12345-{unique}-MINE", lead, "consultation", long_ago),
                *_order(f"12345-{unique}-THEIRS", other, "consultation", long_ago),
            ],
        )
        produce(catalog_topics, [_letter(unique)], topic=DEADLETTER)
        wait_for(
            lambda: (
                theirs in str((r := worker.get("/dashboard.json")[1])["supervision"]["red"])
                and f"12345-{unique}-THEIRS" in str(r["work_orders"])
                and r["dead_letters"]["waiting"]
            ),
            timeout=30,
            what="both tasks, both orders and the dead letter in the books",
        )
        async with browser() as page:
            await _sign_in(page, worker.url, "clerk")
            await page.wait_for(f"document.body.innerText.includes({mine!r})")
            dom = await _dom(page)
            hidden = await page.evaluate(
                "['deadletters', 'emergencies', 'unassigned']"
                ".map(id => document.getElementById(id).hidden)"
            )
            await page.screenshot(ARTIFACTS / "dashboard-department.png")
    assert mine in dom and "本部门的逾期任务" in dom
    assert theirs not in dom and "他部门的逾期任务" not in dom
    orders = _tbody(dom, "order-list")
    assert f"12345-{unique}-MINE" in orders and f"12345-{unique}-THEIRS" not in dom
    assert hidden == [True, True, True], "a department sees no office-wide panel"
    assert re.search(r'id="deadletter-count">0<', dom)


class _NotAnEvent:
    """A record on a processed topic that is no event: the worker dead-letters it itself."""

    def key(self) -> bytes:
        return b"garbage"

    def value(self) -> bytes:
        return b"not a cloud event"

    def headers(self) -> list[tuple[str, bytes]]:
        return []


_OVERFLOWING = """[document.documentElement, ...document.querySelectorAll('section')]
    .filter(n => n.scrollWidth > n.clientWidth + 1).map(n => n.id || n.tagName)"""


def _tbody(dom: str, tbody: str) -> str:
    found = re.search(rf'<tbody id="{tbody}">(.*?)</tbody>', dom, re.S)
    assert found, tbody
    return found.group(1)


def _assert_in_chinese_with_meaningful_colours(dom: str, unique: str, lead: str) -> None:
    alerts = _tbody(dom, "alert-list")
    assert f"部门{lead} 不是督办事项 DC-{unique}-R 的承办单位，操作被拒绝" in alerts
    assert f"留言 board-{unique} 已超过 30 天未答复（部门{lead}）" in alerts
    assert "留言未答复" in alerts and ">安全<" in alerts
    assert "is not a department" not in alerts and "unanswered" not in alerts
    duty = _tbody(dom, "duty-list")
    assert ">突发事件<" in duty and ">传真<" in duty and "emergency" not in duty
    channels = re.search(r'<span id="duty-channels">(.*?)</span>', dom)
    assert channels and "突发事件" in channels.group(1) and "emergency" not in channels.group(1)
    # the department's message: replied (100 %), not on time (0 % < RED_BELOW 60 %: red)
    row = next(r for r in _tbody(dom, "reply-list").split("<tr>") if f"部门{lead}" in r)
    assert re.findall(r'<td class="num( \w+)?">([^<]*)</td>', row)[2:4] == [
        ("", "100.0%"),
        (" red", "0.0%"),
    ]
    assert "低于 60.0% 红色，低于 90.0% 黄色" in dom
    for box, figure in (("reply-rate-box", "reply-rate"), ("on-time-box", "on-time-rate")):
        shown = re.search(rf'class="light (\w+)" id="{box}"><b id="{figure}">([\d.]+)%', dom)
        assert shown, box  # this month's office-wide total: other tests' messages count too
        rate = float(shown.group(2)) / 100
        expected = "red" if rate < 0.6 else "yellow" if rate < 0.9 else "green"
        assert shown.group(1) == expected, (box, rate)


def _assert_what_needs_a_person(dom: str, unique: str) -> None:
    waiting = re.search(r'<span class="tag hot" id="deadletter-count">(\d+)</span>', dom)
    assert waiting and int(waiting.group(1)) >= 2  # the fax line and the worker's own
    # every reason waiting is counted; the list shows only the latest letters, which on a shared
    # broker can be other tests' (the Kafka lane: the worker's unknown-department letters)
    reasons = re.search(r'<p class="note" id="deadletter-reasons">(.*?)</p>', dom)
    assert reasons, "no dead-letter reasons"
    assert "传真日志字段数不对" in reasons.group(1) and "不是事件格式" in reasons.group(1)
    letters = _tbody(dom, "deadletter-list")
    assert "处理进程" in letters and "not-cloudevent" not in letters
    emergencies = _tbody(dom, "emergency-list")
    assert "城东片区内涝（县应急管理局）" in emergencies
    assert "续报一：积水已退至20厘米，无人员伤亡" in emergencies
    orders = _tbody(dom, "order-list")
    assert f"12345-{unique}-LATE" in orders and "超期" in orders
    assert f"12345-{unique}-FINE" not in orders
