"""Who may read what on the worker (DESIGN §6 "Access", docs/security.md), against a real worker.

One matrix: every route the worker serves × every kind of caller — nobody, a wrong key, a
non-ASCII key, a forged and an expired session cookie, each office role signed in as a person,
the ops scraper's key, a department's clerk and a department's system key — and the status each
must get. The route list comes from the app itself, so a route added without a row here fails
:func:`test_every_route_of_the_app_is_in_the_matrix` (and one added without a policy does not
even start: tests/unit/test_access.py). For the 200s, the body is checked to hold only what that
principal may see: a department its own tasks, work orders and tallies; the duty log masked for
a role that does not need citizens' personal data.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet

from connectors.runtime.http import make_app
from connectors.runtime.intake import Intake
from connectors.sources import SOURCES
from midfield.access import Sessions
from midfield.settings import Settings
from schemas.catalog import DEADLETTER
from schemas.deadletter import DeadLetter
from schemas.envelope import Envelope, EventData
from schemas.events.duty import DutyEntryRecorded, EmergencyReported, EntryKind
from schemas.events.info import InfoReportDrafted, InfoReportProposed
from schemas.events.task import TaskAssigned, TaskCreated
from schemas.events.workorder import WorkOrderStepped
from streams.worker.app import create_app
from tests.harness import (
    SCRAPE_TOKEN,
    Broker,
    WorkerProcess,
    midfield_env,
    people_file,
    produce,
    read_topic,
    scrape,
    serving,
    serving_all,
    wait_for,
)
from tests.intakes import intake_env

ZONE = ZoneInfo("Asia/Shanghai")
SESSION_KEY = Fernet.generate_key().decode()
PASSWORD = "correct horse battery staple"
PEOPLE: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "director": (("director",), None, PASSWORD),
    "duty": (("duty-officer",), None, PASSWORD),
    "supervisor": (("supervision",), None, PASSWORD),
    "replayer": (("replay",), None, PASSWORD),
    "clerk": (("department",), "edu", PASSWORD),
}
KEYS = {"edu": "edu-key-3b9f2c7d1e8a6f40", "housing": "housing-key-5d2e8f1a9c3b7e64"}
pytestmark = pytest.mark.xdist_group("access")  # one private broker and worker for the module
OPS_KEY = "ops-key-8c1d4e7f2a5b9c3d"
CITIZEN_PHONE = "13812345678"
ORDER = "12345-ACCESS-0001"


@dataclass(frozen=True)
class Caller:
    """How a request authenticates: a bearer ``key``, a session ``cookie``, or raw header
    bytes (``raw``) for credentials no client library would send."""

    name: str
    key: str | None = None
    cookie: str | None = None
    raw: bytes | None = None


def call(
    base: str,
    path: str,
    caller: Caller,
    *,
    method: str = "GET",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, http.client.HTTPMessage]:
    """One request over http.client (no redirect following, no cookie jar)."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=15)
    try:
        conn.putrequest(method, path)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if caller.key is not None:
            conn.putheader("Authorization", f"Bearer {caller.key}")
        if caller.raw is not None:
            conn.putheader("Authorization", caller.raw)
        if caller.cookie is not None:
            conn.putheader("Cookie", f"{Sessions.COOKIE}={caller.cookie}")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read(), response.headers
    finally:
        conn.close()


def post_json(base: str, path: str, caller: Caller, body: dict[str, Any] | None = None) -> int:
    """POST ``body`` (none: ``{}``) as JSON; the answer's status."""
    json_body = json.dumps(body or {}).encode()
    headers = {"Content-Type": "application/json"}
    return call(base, path, caller, method="POST", body=json_body, headers=headers)[0]


def post_sign_in(
    base: str, login: str, password: str, target: str = "/"
) -> tuple[int, http.client.HTTPMessage]:
    """POST the sign-in form as a browser would; (status, the answer's headers)."""
    form = urlencode({"login": login, "password": password, "next": target}).encode()
    status, _, headers = call(
        base,
        "/login",
        Caller("form"),
        method="POST",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return status, headers


def sign_in(base: str, login: str, password: str) -> tuple[int, str | None]:
    """Sign in; (status, the session cookie's value)."""
    status, headers = post_sign_in(base, login, password)
    for header in headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        if name == Sessions.COOKIE:
            return status, rest.split(";")[0]
    return status, None


# -- the worker and its books --------------------------------------------------------------------
def _wrap(event: EventData, subject: str, n: int, when: datetime) -> Envelope:
    return Envelope.wrap(
        event,
        source="midfield://access/test",
        position=f"{subject}/{n}",
        subject=subject,
        time=when,
    )


def _order(number: str, unit: str, now: datetime) -> list[Envelope]:
    """A work order accepted five minutes ago and dispatched to ``unit`` now."""
    return [
        _wrap(WorkOrderStepped(order_number=number, step="accepted", category="help"),
              number, 0, now - timedelta(minutes=5)),
        _wrap(WorkOrderStepped(order_number=number, step="dispatched", units=(unit,)),
              number, 1, now),
    ]  # fmt: skip


def _books(unique: str) -> list[Envelope]:
    now = datetime.now(ZONE)
    deadline = now.date() + timedelta(days=60)
    out: list[Envelope] = []
    for code in KEYS:
        task = f"DC-{unique}-{code}"
        out += [
            _wrap(
                TaskCreated(
                    task_id=task,
                    actor="office",
                    title=f"{code} 的任务",
                    deadline=deadline,
                    lead_department=code,
                ),
                task,
                0,
                now,
            ),
            _wrap(TaskAssigned(task_id=task, actor="office"), task, 1, now),
        ]
    out.append(
        _wrap(
            DutyEntryRecorded(
                entry_id=f"D-{unique}",
                kind=EntryKind.call,
                person="张伟",
                phone=CITIZEN_PHONE,
                content=f"来电反映 {unique}，回电 {CITIZEN_PHONE}",
                recorder="李华",
            ),
            f"D-{unique}",
            0,
            now,
        )
    )
    # edu's order, and housing's due as soon (within MIDFIELD_HOTLINE_AT_RISK_HOURS)
    out += _order(f"{ORDER}-{unique}", "edu", now) + _order(f"{ORDER}-{unique}-housing",
                                                            "housing", now)  # fmt: skip
    out += _info_reports(unique, now)
    report = f"EM-{unique}"
    out.append(
        _wrap(EmergencyReported(report_id=report, sequence=0, title="城东内涝", recorder="李华",
                                content=f"群众报告积水，联系 {CITIZEN_PHONE}"), report, 0, now)
    )  # fmt: skip
    return out


def _info_reports(unique: str, now: datetime) -> list[Envelope]:
    """An information report the clerk proposed and drafted for edu, and one of the office's."""
    clerk = {"actor": "edu", "by": "person:clerk", "by_name": "clerk"}
    duty = {"actor": "office", "by": "person:duty", "by_name": "duty"}
    mine, office = f"XX-{unique}-clerk", f"XX-{unique}-office"
    return [
        _wrap(InfoReportProposed(report_id=mine, source="by_hand", title="教育信息", **clerk),
              mine, 0, now),
        _wrap(InfoReportDrafted(report_id=mine, title="教育信息", text="正文", **clerk),
              mine, 1, now),
        _wrap(InfoReportProposed(report_id=office, source="hotspot", reference="热点",
                                 title="办公室信息", **duty), office, 0, now),
    ]  # fmt: skip


def _letter(unique: str) -> DeadLetter:
    return DeadLetter.of(b"RECV\tbroken", reason="bad-field-count", error="2 fields",
                         source=f"midfield://fax-log/{unique}", position="line 1",
                         connector="fax-log", first_seen=datetime.now(ZONE))  # fmt: skip


@dataclass
class Hub:
    worker: WorkerProcess
    callers: dict[str, Caller]
    unique: str

    @property
    def url(self) -> str:
        return self.worker.url


@pytest.fixture(scope="module")
def hub(own_broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    broker = own_broker
    workdir = tmp_path_factory.mktemp("access")
    unique = str(int(time.time() * 1000))[-9:]
    directory = people_file(
        workdir / "directory.toml", PEOPLE, KEYS, systems={"scraper": (("ops",), OPS_KEY)}
    )
    with WorkerProcess(
        broker,
        workdir,
        app_id=f"access-{unique}",
        env_extra={
            "MIDFIELD_DEPARTMENTS_FILE": str(directory),
            "MIDFIELD_ACCESS_SESSION_KEY": SESSION_KEY,
            "MIDFIELD_ACCESS_DENIALS_ALERT_AT": "5",
            # the matrix sends ~80 wrong credentials from one address: the worker's throttle
            # has its own test (test_the_worker_refuses_an_address_that_keeps_failing)
            "MIDFIELD_ACCESS_FAILED_CREDENTIALS": "100000",
            "MIDFIELD_HOTLINE_AT_RISK_HOURS": "1000",  # both orders are at risk
        },
    ).running() as worker:
        produce(broker, _books(unique))
        produce(broker, [_letter(unique)], topic=DEADLETTER)
        wait_for(
            lambda: len(worker.get("/ledger")[1]["tasks"]) >= 2, timeout=30, what="the two tasks"
        )
        wait_for(
            lambda: (
                (board := worker.get("/dashboard.json")[1])["work_orders"]["count"] >= 2
                and board["dead_letters"]["waiting"]
                and board["emergencies"]["open"]
            ),
            timeout=30,
            what="the work orders, the dead letter and the emergency",
        )
        callers = {
            "nobody": Caller("nobody"),
            "wrong key": Caller("wrong key", key="not-a-key-of-anyone"),
            "non-ascii key": Caller("non-ascii key", raw="Bearer 中文密钥".encode()),
            "forged session": Caller("forged session", cookie="gAAAAABforged"),
            "expired session": Caller(
                "expired session",
                cookie=Sessions(SESSION_KEY, 3600).issue("director", time.time() - 13 * 3600),
            ),
            "ops key": Caller("ops key", key=OPS_KEY),
            "edu key": Caller("edu key", key=KEYS["edu"]),
            "housing key": Caller("housing key", key=KEYS["housing"]),
        }
        for login in PEOPLE:
            status, cookie = sign_in(worker.url, login, PASSWORD)
            assert status == 303 and cookie, f"{login} could not sign in"
            callers[login] = Caller(login, cookie=cookie)
        yield Hub(worker, callers, unique)


# -- the matrix ----------------------------------------------------------------------------------
ANON = ("nobody", "wrong key", "non-ascii key", "forged session", "expired session")
OFFICE = ("director", "duty", "supervisor")
EVERYONE = (*OFFICE, "replayer", "clerk", "ops key", "edu key", "housing key")


def allow(*who: str, status: int = 200, **others: int) -> dict[str, int]:
    """200 (or ``status``) for ``who``, 401 for the unauthenticated, 403 for everyone else;
    ``others`` overrides single callers."""
    row = dict.fromkeys(ANON, 401) | dict.fromkeys(EVERYONE, 403)
    return row | dict.fromkeys(who, status) | others


MATRIX: dict[str, tuple[str, dict[str, int]]] = {
    "/health": ("/health", dict.fromkeys((*ANON, *EVERYONE), 200)),
    "/ready": ("/ready", dict.fromkeys((*ANON, *EVERYONE), 200)),
    "/login": ("/login", dict.fromkeys((*ANON, *EVERYONE), 200)),
    "/logout": ("", {}),  # POST only: test_sign_out_ends_the_session
    "/whoami": ("/whoami", allow(*EVERYONE)),
    "/metrics": ("/metrics", allow("ops key")),
    "/duty-log": ("/duty-log", allow(*OFFICE)),
    "/duty-report": ("/duty-report", allow("director", "duty")),
    "/alerts": ("/alerts", allow(*OFFICE, "ops key")),
    "/items/{item_id}": ("/items/no-such-item", allow("director", "duty", status=404)),
    "/ledger": ("/ledger", allow("director", "supervisor", "clerk", "edu key", "housing key")),
    "/ledger.xlsx": (
        "/ledger.xlsx",
        allow("director", "supervisor", "clerk", "edu key", "housing key"),
    ),
    "/ledger/{task_id}": (
        "/ledger/DC-{u}-edu",
        allow("director", "supervisor", "clerk", "edu key", **{"housing key": 404}),
    ),
    "/work-orders/{number}": (
        f"/work-orders/{ORDER}-{{u}}",
        allow(*OFFICE, "clerk", "edu key", **{"housing key": 404}),
    ),
    "/work-order-rates": ("/work-order-rates", allow(*OFFICE, "clerk", "edu key", "housing key")),
    "/reply-rate": ("/reply-rate", allow(*OFFICE, "clerk", "edu key", "housing key")),
    "/": ("/", allow(*EVERYONE)),
    "/dashboard.json": (
        "/dashboard.json",
        allow(*OFFICE, "ops key", "clerk", "edu key", "housing key"),
    ),
    "/info-reports": ("/info-reports", allow(*OFFICE, "clerk", "edu key", "housing key")),
    "/info-reports/tallies": (
        "/info-reports/tallies?period=all",
        allow(*OFFICE, "clerk", "edu key", "housing key"),
    ),
    "/suggestions/{subject}": (f"/suggestions/{ORDER}-{{u}}", allow(*OFFICE)),
    "/brief": ("/brief", allow("director", "supervisor")),
    "/brief.docx": ("/brief.docx", allow("director", "supervisor")),
    "/audit": ("/audit", allow("director")),
    "/replay/books": ("/replay/books", allow("replayer")),
}


def test_every_route_of_the_app_is_in_the_matrix(broker: Broker) -> None:
    app = create_app(Settings(kafka=broker.kafka_settings()))
    routes = {r.canonical for r in app.web.web_app.router.resources()}  # type: ignore[attr-defined]
    assert routes == set(MATRIX), "a route was added or removed: give it a row in MATRIX"
    assert routes == set(app.gate.policies)


@pytest.mark.parametrize("route", sorted(r for r, (path, _) in MATRIX.items() if path))
def test_each_caller_gets_the_status_its_roles_allow(hub: Hub, route: str) -> None:
    path, expected = MATRIX[route]
    path = path.format(u=hub.unique)
    got = {name: call(hub.url, path, hub.callers[name])[0] for name in expected}
    assert got == expected


def test_faust_table_and_router_pages_are_not_served(hub: Hub) -> None:
    for path in (
        "/table/ledger/",
        f"/table/ledger/DC-{hub.unique}-edu/",
        "/router/",
        "/graph/",
        "/stats/",
    ):
        status, body, _ = call(hub.url, path, hub.callers["director"])
        assert status == 404, path
        assert hub.unique.encode() not in body


def test_a_department_sees_only_its_own_share(hub: Hub) -> None:
    for who in ("clerk", "edu key"):
        caller = hub.callers[who]
        ledger = json.loads(call(hub.url, "/ledger", caller)[1])
        assert {t["lead_department"] for t in ledger["tasks"]} == {"edu"}
        assert f"DC-{hub.unique}-housing" not in json.dumps(ledger)
        assert call(hub.url, "/ledger?department=housing", caller)[0] == 403
        rates = json.loads(call(hub.url, "/reply-rate", caller)[1])
        assert {row["department"] for row in rates["departments"]} <= {"edu"}
        board = json.loads(call(hub.url, "/dashboard.json", caller)[1])
        assert board["duty_log"]["latest"] == [] and board["alerts"]["items"] == []
        assert CITIZEN_PHONE not in json.dumps(board, ensure_ascii=False)
        shown = json.dumps(board["supervision"], ensure_ascii=False)
        assert f"DC-{hub.unique}-housing" not in shown
        assert board["dead_letters"] == {"waiting": 0, "by_reason": [], "latest": []}
        assert board["emergencies"] == {"open": 0, "items": []}
        assert board["unassigned"] == {"shown": False, "count": 0, "items": []}
        orders = {o["order_number"] for o in board["work_orders"]["items"]}
        assert orders == {f"{ORDER}-{hub.unique}"}, "only the orders edu leads or was sent"
    office = json.loads(call(hub.url, "/dashboard.json", hub.callers["supervisor"])[1])
    assert office["dead_letters"]["waiting"] >= 1 and office["emergencies"]["open"] >= 1
    assert f"{ORDER}-{hub.unique}-housing" in json.dumps(office["work_orders"])
    housing = json.loads(call(hub.url, "/ledger", hub.callers["housing key"])[1])
    assert {t["lead_department"] for t in housing["tasks"]} == {"housing"}


def test_a_department_sees_only_the_information_reports_it_proposed_or_drafted(hub: Hub) -> None:
    def reports(who: str, path: str = "/info-reports") -> set[str]:
        shown = wait_for(lambda: json.loads(call(hub.url, path, hub.callers[who])[1]),
                         timeout=30, what="the reports")  # fmt: skip
        return {r["report_id"] for r in shown["reports"] if hub.unique in r["report_id"]}

    office = {f"XX-{hub.unique}-clerk", f"XX-{hub.unique}-office"}
    wait_for(lambda: reports("director") == office, timeout=30, what="both reports")
    assert reports("duty") == reports("supervisor") == office
    assert reports("clerk") == {f"XX-{hub.unique}-clerk"}
    assert reports("edu key") == reports("housing key") == set()  # drafted by the clerk, not it
    tallies = json.loads(call(hub.url, "/info-reports/tallies?period=all", hub.callers["clerk"])[1])
    assert [d["drafter"] for d in tallies["drafters"]] == ["person:clerk"]
    assert call(hub.url, "/info-reports/tallies?period=2025-Q5", hub.callers["director"])[0] == 400


def test_personal_data_is_masked_for_roles_that_do_not_need_it(hub: Hub) -> None:
    def entry(who: str) -> dict[str, Any]:
        """This test's entry, page after page (the shared broker holds other tests' too)."""
        path = "/duty-log?limit=1000"
        while True:
            body = json.loads(call(hub.url, path, hub.callers[who])[1])
            found = [e for e in body["entries"] if hub.unique in e["content"]]
            if found or body["next"] is None:
                return found[0]
            path = f"/duty-log?limit=1000&after={quote(body['next'])}"

    clear, masked = entry("duty"), entry("supervisor")
    assert clear["phone"] == CITIZEN_PHONE and clear["person"] == "张伟"
    assert masked["phone"] == "138******78" and masked["person"] == "张*"
    assert CITIZEN_PHONE not in masked["content"] and "138****5678" in masked["content"]


def test_an_emergency_s_last_report_is_masked_on_the_dashboard_where_the_duty_log_is(
    hub: Hub,
) -> None:
    def report(who: str) -> str:
        board = json.loads(call(hub.url, "/dashboard.json", hub.callers[who])[1])
        found = next(e for e in board["emergencies"]["items"] if hub.unique in e["report_id"])
        return str(found["latest_content"])

    assert CITIZEN_PHONE in report("duty")
    masked = report("supervisor")
    assert CITIZEN_PHONE not in masked and "138****5678" in masked


def test_a_page_request_without_a_session_is_sent_to_sign_in(hub: Hub) -> None:
    status, _, headers = call(hub.url, "/", Caller("nobody"), headers={"Accept": "text/html"})
    assert status == 303 and headers["Location"] in ("/login?next=%2F", "/login?next=/")


def test_wrong_password_and_unknown_login_are_refused_alike_then_throttled(hub: Hub) -> None:
    assert sign_in(hub.url, "director", "wrong")[0] == 401
    assert sign_in(hub.url, "no-such-person", PASSWORD)[0] == 401
    statuses = [sign_in(hub.url, "replayer", f"guess-{n}")[0] for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert sign_in(hub.url, "replayer", PASSWORD)[0] == 429  # locked for the window


def test_sign_in_goes_back_only_to_a_page_of_this_site(hub: Hub) -> None:
    for target, expected in (
        ("/ledger", "/ledger"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\\\evil", "/"),
    ):
        status, headers = post_sign_in(hub.url, "director", PASSWORD, target)
        assert (status, headers["Location"]) == (303, expected), target


def test_sign_out_ends_the_session_even_for_a_copied_cookie(hub: Hub) -> None:
    status, cookie = sign_in(hub.url, "duty", PASSWORD)
    caller = Caller("copy", cookie=cookie)
    assert call(hub.url, "/whoami", caller)[0] == 200
    status, _, headers = call(hub.url, "/logout", caller, method="POST")
    assert status == 303 and "Max-Age=0" in headers["Set-Cookie"]
    assert call(hub.url, "/whoami", caller)[0] == 401


def test_the_session_cookie_is_httponly_and_samesite(hub: Hub) -> None:
    cookie = post_sign_in(hub.url, "director", PASSWORD)[1]["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie


def test_every_request_is_audited_without_content_and_denials_raise_one_grouped_alert(
    hub: Hub, own_broker: Broker
) -> None:
    broker = own_broker
    secret_query = f"department=edu&note=SECRET{hub.unique}"
    assert sign_in(hub.url, "director", f"SECRET{hub.unique}")[0] == 401
    for _ in range(50):  # a flood of refused calls from one principal (alert at 5, 10x at 50)
        assert call(hub.url, f"/audit?{secret_query}", hub.callers["clerk"])[0] == 403
    assert (
        call(hub.url, f"/ledger/DC-{hub.unique}-edu?{secret_query}", hub.callers["director"])[0]
        == 200
    )

    def trail() -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in read_topic(broker, "office.audit.v1")]

    def clerk_denials() -> int:
        records = trail()
        return sum(
            r["principal"] == "person:clerk" and r["outcome"] == "denied" and r["route"] == "/audit"
            for r in records
        )

    assert wait_for(lambda: clerk_denials() >= 50, timeout=30, what="the clerk's denials")
    records = trail()
    text = json.dumps(records, ensure_ascii=False)
    assert f"SECRET{hub.unique}" not in text and PASSWORD not in text and OPS_KEY not in text
    read = next(
        r
        for r in records
        if r["target"] == f"DC-{hub.unique}-edu" and r["principal"] == "person:director"
    )
    assert (read["action"], read["outcome"], read["status"]) == ("read", "allowed", 200)
    assert read["route"] == "/ledger/{task_id}" and read["remote"] == "127.0.0.1"
    signed = Counter((r["principal"], r["outcome"]) for r in records if r["action"] == "sign-in")
    assert signed[("person:director", "allowed")] >= 1
    assert signed[("anonymous", "unauthenticated")] >= 1
    failed = next(r for r in records if r["action"] == "sign-in" and r["status"] == 401)
    assert failed["target"] == "login:director" and failed["reason"] == "bad-password"

    day = datetime.now(ZONE).date().isoformat()
    alert_id = f"security/denied/{day}/person:clerk"

    def alert() -> dict[str, Any] | None:
        shown = hub.worker.every("/alerts?open=true", "alerts")
        return next((a for a in shown if a["alert_id"] == alert_id), None)

    found = wait_for(alert, timeout=30, what="the grouped alert")
    assert found["kind"] == "security" and found["actor"] == "person:clerk"

    def raised() -> list[dict[str, Any]]:
        alerts = [json.loads(r.value) for r in read_topic(broker, "office.alerts.v1")]
        return [a for a in alerts if a.get("alert_id") == alert_id]

    wait_for(lambda: len(raised()) >= 2, timeout=30, what="the escalation at 50 denials")
    time.sleep(1)  # anything more the worker would send
    levels = [a["level"] for a in raised()]
    assert levels == [0, 1], "one alert at 5 denials, one escalation at 50; not one per denial"

    audit = wait_for(
        lambda: (
            (b := hub.worker.get(f"/audit?date={day}&principal=person:clerk")[1])["books"]
            and b["books"][0]["denied"] >= 50
            and b
        ),
        timeout=30,
        what="the clerk's audit book",
    )
    book = audit["books"][0]
    assert book["counts"]["read GET /audit denied"] >= 50
    assert "applied" not in book and f"SECRET{hub.unique}" not in json.dumps(book)


# -- the intakes ---------------------------------------------------------------------------------
INTAKES = ("tasks", "duty", "board", "hotline", "wechat", "info")


@dataclass
class Intakes:
    urls: dict[str, str]
    env: dict[str, str]


@pytest.fixture(scope="module")
def intakes(own_broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intakes]:
    workdir = tmp_path_factory.mktemp("access-intakes")
    directory = people_file(
        workdir / "directory.toml", PEOPLE, KEYS, systems={"scraper": (("ops",), OPS_KEY)}
    )
    env = intake_env(
        own_broker,
        workdir,
        directory,
        MIDFIELD_ACCESS_SESSION_KEY=SESSION_KEY,
        MIDFIELD_ACCESS_FAILED_CREDENTIALS="200",
    )
    with serving_all(INTAKES, env, cwd=workdir) as urls:
        yield Intakes(urls, env)


def _intake_routes(intakes: Intakes, name: str) -> list[tuple[str, str]]:
    """(method, path pattern) of every route the intake's own application serves, built from
    the same settings the running process has."""
    import os

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in intakes.env.items() if k.startswith("MIDFIELD_")})
    try:
        settings = Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    source = SOURCES[name]
    built = source.from_options(source.options(), settings)
    app = make_app(built, Intake(built, settings.kafka), 1 << 16)  # type: ignore[arg-type]
    return sorted(
        {
            (r.method, r.resource.canonical)
            for r in app.router.routes()
            if r.resource is not None and r.method != "HEAD"
        }
    )


def _concrete(pattern: str) -> str:
    return re.sub(r"\{(\w+)(:[^}]*)?\}", r"x-\1", pattern)


@pytest.mark.parametrize("name", INTAKES)
def test_every_intake_route_refuses_a_caller_without_credentials(
    intakes: Intakes, name: str
) -> None:
    url = intakes.urls[name]
    routes = _intake_routes(intakes, name)
    assert ("GET", "/metrics") in routes and len(routes) >= 4
    for method, pattern in routes:
        path = _concrete(pattern)
        status = call(url, path, Caller("nobody"), method=method, body=b"{}")[0]
        if pattern in ("/health", "/ready") or (name, pattern) == ("duty", "/duty"):
            assert status == 200, (method, pattern)  # open: liveness, a blank form
        else:
            assert status in (401, 403), (method, pattern, status)


@pytest.mark.parametrize("name", INTAKES)
def test_intake_metrics_answer_the_scrape_token_and_ops_only(intakes: Intakes, name: str) -> None:
    url = intakes.urls[name]
    assert call(url, "/metrics", Caller("nobody"))[0] == 401
    assert call(url, "/metrics", Caller("bad", key="wrong"))[0] == 401
    assert call(url, "/metrics", Caller("bad", raw="Bearer 中文".encode()))[0] == 401
    assert call(url, "/metrics", Caller("scraper", key=SCRAPE_TOKEN))[0] == 200
    if name in ("tasks", "duty", "info"):  # these read the directory: a key decides
        assert call(url, "/metrics", Caller("ops", key=OPS_KEY))[0] == 200
        assert call(url, "/metrics", Caller("edu", key=KEYS["edu"]))[0] == 403


def test_intake_writes_and_denials_are_audited_with_the_principal(
    intakes: Intakes, own_broker: Broker
) -> None:
    url = intakes.urls["tasks"]
    task = f"DC-AUDIT-{uuid.uuid4().hex[:6]}"
    body = {"task_id": task, "title": "t", "deadline": "2099-01-01", "lead_department": "edu"}
    assert post_json(url, "/tasks", Caller("office", key="office-key"), body) == 201
    assert post_json(url, f"/tasks/{task}/assign", Caller("edu", key=KEYS["edu"])) == 403

    def mine() -> list[dict[str, Any]]:
        records = [json.loads(r.value) for r in read_topic(own_broker, "office.audit.v1")]
        return [
            r
            for r in records
            if r["service"] == "tasks"
            and (task in r["target"] or (r["route"], r["status"]) == ("/tasks", 201))
        ]

    found = wait_for(lambda: len(mine()) >= 2 and mine(), timeout=30, what="two audit records")
    seen = {(r["principal"], r["action"], r["outcome"], r["status"], r["route"]) for r in found}
    assert seen == {
        ("office", "write", "allowed", 201, "/tasks"),
        ("department:edu", "write", "denied", 403, "/tasks/{task_id}/assign"),
    }
    assert all(set(r) == set(found[0]) and "title" not in r for r in found), "never the body"


def test_an_address_that_keeps_failing_is_refused_before_its_credential_is_checked(
    own_broker: Broker, tmp_path: Path
) -> None:
    directory = people_file(tmp_path / "directory.toml", {}, KEYS)
    env = midfield_env(
        own_broker,
        tmp_path,
        MIDFIELD_DEPARTMENTS_FILE=str(directory),
        MIDFIELD_ACCESS_FAILED_CREDENTIALS="5",
        MIDFIELD_ACCESS_FAILED_CREDENTIALS_WINDOW_S="3",
    )
    with serving("tasks", env, cwd=tmp_path) as url:
        guesses = [call(url, "/tasks/T-1", Caller("guess", key=f"guess-{n}"))[0] for n in range(7)]
        right = call(url, "/tasks/T-1", Caller("edu", key=KEYS["edu"]))
        time.sleep(3.1)  # the window passes: the scraper is let in again
        samples = scrape(url + "/metrics")
    assert guesses == [401] * 5 + [429] * 2
    assert right[0] == 429 and json.loads(right[1])["error"] == "too-many-failures"
    refused = {
        labels: v for (name, labels), v in samples.items() if name == "midfield_access_denied_total"
    }
    assert refused[(("route", "/tasks/{task_id}"), ("service", "tasks"), ("status", "401"))] == 5


def test_what_a_signed_in_person_records_carries_that_person_not_a_typed_name(
    hub: Hub, intakes: Intakes, own_broker: Broker
) -> None:
    """The duty form and the tasks API take the dashboard's session: the event records who
    signed in (``recorder``, ``person``), whatever name the body types."""
    entry = f"D-SIGNED-{uuid.uuid4().hex[:6]}"
    call_body = {"entry_id": entry, "kind": "call", "content": "来电", "recorder": "冒名顶替"}
    duty_url, tasks_url = intakes.urls["duty"], intakes.urls["tasks"]
    for who, status in (("duty", 201), ("replayer", 403), ("forged session", 401)):
        assert post_json(duty_url, "/duty/entries", hub.callers[who], call_body) == status, who

    task = f"DC-SIGNED-{uuid.uuid4().hex[:6]}"
    create = {"task_id": task, "title": "t", "deadline": "2099-01-01", "lead_department": "edu"}
    office = Caller("office", key="office-key")
    assert post_json(tasks_url, "/tasks", office, create) == 201
    assert post_json(tasks_url, f"/tasks/{task}/assign", office) == 202
    sign = {"person": "冒名顶替"}
    assert post_json(tasks_url, f"/tasks/{task}/sign", hub.callers["clerk"], sign) == 202

    def recorded() -> dict[str, Any] | None:
        for r in read_topic(own_broker, "office.intake.duty.v1"):
            if r.key == entry.encode():
                return dict(json.loads(r.value))
        return None

    def signed() -> dict[str, Any] | None:
        for r in read_topic(own_broker, "office.supervision.task.v1"):
            if r.key == task.encode() and r.headers["ce_type"].endswith(b".signed.v1"):
                return dict(json.loads(r.value))
        return None

    assert wait_for(recorded, timeout=20, what="the call")["recorder"] == "duty"
    event = wait_for(signed, timeout=20, what="the signing")
    assert (event["actor"], event["person"]) == ("edu", "clerk")


def test_the_worker_refuses_an_address_that_keeps_failing(
    own_broker: Broker, tmp_path: Path
) -> None:
    directory = people_file(tmp_path / "directory.toml", {}, KEYS)
    with WorkerProcess(
        own_broker,
        tmp_path,
        app_id=f"throttle-{uuid.uuid4().hex[:6]}",
        env_extra={
            "MIDFIELD_DEPARTMENTS_FILE": str(directory),
            "MIDFIELD_ACCESS_FAILED_CREDENTIALS": "4",
        },
    ).running() as worker:
        guesses = [call(worker.url, "/ledger", Caller("g", key=f"guess-{n}"))[0] for n in range(6)]
        right = call(worker.url, "/ledger", Caller("edu", key=KEYS["edu"]))[0]
        health = call(worker.url, "/health", Caller("nobody"))[0]
    assert guesses == [401] * 4 + [429] * 2
    assert right == 429 and health == 200
