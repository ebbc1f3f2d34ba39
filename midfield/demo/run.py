"""``midfield demo``: the whole hub on the embedded broker, with faxes and tasks arriving live.

Starts Tansu, creates the catalog's topics, starts the worker, the fax-log and fax-mail connectors
and the tasks API as child processes, then appends realistic HylaFAX+ lines (one malformed, one
SEND) to a demo fax log over a few seconds, delivers three T.37 fax mails (one a PNG, not a TIFF)
to a demo Maildir, and hands three supervised tasks to departments through the API (one overdue,
one near its deadline, one on track; one department oversteps: refused and audited),
printing what arrived. The dashboard shows it all. ``--check`` runs the same unattended,
verifies the duty log and the ledger over HTTP and exits 0 or 1. Ctrl-C stops everything the
demo started.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from cryptography.fernet import Fernet

from midfield.access import hash_password
from midfield.admin import client_config, create_topics
from midfield.broker import EmbeddedBroker, free_port
from midfield.demo.fax_samples import deliver, demo_mails
from midfield.demo.feed import DemoSecrets, Endpoints, feed
from midfield.ports import require_free
from midfield.settings import KafkaSettings, OfficeSettings, TopicSettings
from midfield.watermarks import topic_end_offsets
from schemas.catalog import DEADLETTER, concrete

__all__ = ["recv_line", "run_demo", "sample_lines"]

_STATIONS = [
    ("+86 551 62345678", "县应急管理局"),
    ("+86 551 63456789", "县公安局"),
    ("+86 551 64567890", "市政府办公室"),
    ("+86 551 65678901", "县卫生健康委"),
    ("+86 551 66789012", "县教育局"),
    ("+86 551 67890123", "县财政局"),
]


_DEPARTMENTS = {
    "water": "县水利局",
    "health": "县卫生健康委",
    "edu": "县教育局",
    "housing": "县住建局",
}


def demo_key(code: str) -> str:
    """The demo's key of ``office`` or a department: memorable, and long enough for the
    directory's minimum (MIDFIELD_DEPARTMENTS_MIN_KEY_LENGTH)."""
    return f"demo-{code}-key-not-for-production"


DEMO_PASSWORD = "midfield-demo"
"""Every demo user's password (printed by the demo; a real office sets its own)."""
DEMO_USERS = {
    "zhuren": ("王主任", "director", None),
    "zhiban": ("李华", "duty-officer", None),
    "ducha": ("赵督查", "supervision", None),
    "yunwei": ("陈运维", "ops", None),
    "jiaoyu": ("教育局办事员", "department", "edu"),
}
"""login -> (name, role, department): one person per role, as docs/security.md describes."""
_READER_KEY = secrets.token_urlsafe(24)
"""The demo's own reading key (duty officer and supervision), new each run."""


def _departments_file(path: Path) -> Path:
    """The demo's directory: the office and four departments, keys :func:`demo_key`; one person
    per role (:data:`DEMO_USERS`); the demo's own reader key."""
    lines = [
        "[office]",
        'name = "示范县人民政府办公室"',
        f'api_keys = ["{demo_key("office")}"]',
    ]
    for code, name in _DEPARTMENTS.items():
        lines += [
            f"[departments.{code}]",
            f'name = "{name}"',
            f'api_keys = ["{demo_key(code)}"]',
        ]
    hashed = hash_password(DEMO_PASSWORD)  # one hash for all: the demo starts faster
    for login, (name, role, department) in DEMO_USERS.items():
        lines += [f"[people.{login}]", f'name = "{name}"', f'roles = ["{role}"]',
                  f'password_hash = "{hashed}"']  # fmt: skip
        lines += [f'department = "{department}"'] if department else []
    lines += ["[systems.demo]", 'roles = ["duty-officer", "supervision"]',
              f'api_keys = ["{_READER_KEY}"]']  # fmt: skip
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Expected:
    entries: int
    dead_letters: int


def recv_line(
    commid: int,
    *,
    when: str,
    tsi: str = "+86 551 2345678",
    pages: int = 3,
    caller_name: str = "",
    caller_number: str = "05512345678",
) -> str:
    """A RECV record as HylaFAX+ writes it to xferfaxlog (19 tab-separated fields)."""
    fields = [
        when,
        "RECV",
        f"{commid:09d}",
        "ttyS0",
        f"recvq/fax{commid:09d}.tif",
        '""',
        "fax",
        '"05511234567"',
        f'"{tsi}"',
        "65576",
        str(pages),
        "00:01:12",
        "00:01:05",
        '""',
        f'"{caller_name}"',
        f'"{caller_number}"',
        '""',
        '""',
        '""',
    ]
    return "\t".join(fields) + "\n"


def sample_lines(now: datetime) -> tuple[list[str], Expected]:
    """A morning's transfer log: RECV lines, one SEND (skipped), one malformed (dead letter)."""
    when = now.strftime("%m/%d/%y %H:%M")
    lines = [
        recv_line(
            n,
            when=when,
            tsi=tsi,
            pages=n % 4 + 1,
            caller_name=unit,
            caller_number="0" + tsi[4:].replace(" ", ""),
        )
        for n, (tsi, unit) in enumerate(_STATIONS, start=1)
    ]
    send = recv_line(90, when=when).replace("\tRECV\t", "\tSEND\t")
    malformed = f"{when}\tRECV\t000000099\tttyS0\n"
    lines[2:2] = [send]
    lines[4:4] = [malformed]
    return lines, Expected(entries=len(_STATIONS), dead_letters=1)


def _get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {_READER_KEY}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return None


class _Demo:
    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir = workdir
        self.port = port
        self.children: list[subprocess.Popen[bytes]] = []
        self.url = f"http://127.0.0.1:{port}"
        self.api_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.intakes = {
            n: f"http://127.0.0.1:{free_port()}" for n in ("duty", "board", "hotline", "wechat")
        }
        self.telegrams = workdir / "telegrams"
        self.fax_mail = workdir / "fax-mail"

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.children.append(
            subprocess.Popen(
                [sys.executable, "-m", "midfield", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()

    def counts(self, kafka: KafkaSettings, day: str) -> dict[str, int]:
        ends = topic_end_offsets(client_config(kafka), ["office.intake.fax.v1", DEADLETTER])
        body = _get(f"{self.url}/duty-log?date={day}") or {}
        return {
            "events": sum(v for (t, _), v in ends.items() if t != DEADLETTER),
            "dead_letters": sum(v for (t, _), v in ends.items() if t == DEADLETTER),
            "entries": sum(e["channel"] == "fax" for e in body.get("entries", [])),
        }


def run_demo(*, workdir: Path, port: int, check: bool, feed_seconds: float = 4.0) -> int:
    """Run the demo; the exit status (0 ok, 1 the books are not what was sent). A busy worker
    port stops it before anything starts (``ConfigError`` naming what holds the port)."""
    require_free("127.0.0.1", port, what="midfield demo (the worker's port, --port)")
    shutil.rmtree(workdir, ignore_errors=True)  # the broker is memory-only: start clean
    workdir.mkdir(parents=True)
    zone = OfficeSettings().zone
    demo = _Demo(workdir, port)
    broker = EmbeddedBroker(workdir / "broker")
    with broker.running() as status:
        started = time.monotonic()
        kafka = KafkaSettings(bootstrap_servers=status.bootstrap, profile="embedded")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MIDFIELD_", "KAFKA_"))}
        env |= {
            "KAFKA_BOOTSTRAP_SERVERS": status.bootstrap,
            "MIDFIELD_KAFKA_PROFILE": "embedded",
            "MIDFIELD_WORKER_WEB_PORT": str(port),
            "MIDFIELD_WORKER_APP_ID": "midfield-demo",
            "MIDFIELD_WORKER_DATA_DIR": str(workdir / "worker-data"),
            "MIDFIELD_CONNECT_STATE_DIR": str(workdir / "state"),
            "MIDFIELD_LOG_FORMAT": "json",
            "MIDFIELD_DEPARTMENTS_FILE": str(_departments_file(workdir / "departments.toml")),
            "MIDFIELD_SUPERVISION_REMINDER_CHECK_INTERVAL_S": "5",
            "MIDFIELD_REPLIES_CHECK_INTERVAL_S": "5",
            "MIDFIELD_CONNECT_DOCUMENTS_DIR": str(workdir / "documents"),
            "MIDFIELD_ACCESS_SESSION_KEY": Fernet.generate_key().decode(),
        } | DemoSecrets().env()
        create_topics(kafka, TopicSettings(), concrete(_DEPARTMENTS))
        fax_log = workdir / "xferfaxlog"
        fax_log.touch()
        try:
            demo.spawn("worker", ["worker", "--no-create-topics"], env)
            demo.spawn(
                "fax-connector",
                ["connect", "fax-log", "--path", str(fax_log), "--instance", "demo"],
                env,
            )
            demo.spawn("tasks-api", ["connect", "tasks", "--port", str(demo.api_port)], env)
            deliver(demo.fax_mail, {})
            demo.spawn("fax-mail", ["connect", "fax-mail", "--maildir", str(demo.fax_mail),
                                    "--instance", "demo"], env)  # fmt: skip
            demo.telegrams.mkdir()
            demo.spawn("telegram", ["connect", "telegram", "--dir", str(demo.telegrams)], env)
            for name, url in demo.intakes.items():
                demo.spawn(name, ["connect", name, "--port", url.rsplit(":", 1)[1]], env)
            with _interruptible() as interrupted:
                return _drive(demo, kafka, fax_log, zone, started, check, feed_seconds,
                              interrupted)  # fmt: skip
        except KeyboardInterrupt:
            click.echo("\nstopping…", err=True)
            return 0
        finally:
            demo.stop()


@contextmanager
def _interruptible() -> Iterator[threading.Event]:
    """Ctrl-C raises KeyboardInterrupt as usual, and also sets the event this yields: when the
    signal lands inside kafka-python's selector (the demo's topic watch), kafka-python catches
    every BaseException of its tasks, and the interrupt would be lost (seen under load: the demo
    ran on after Ctrl-C); the idle loop stops on the event."""
    interrupted = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def _drive(
    demo: _Demo,
    kafka: KafkaSettings,
    fax_log: Path,
    zone: Any,
    started: float,
    check: bool,
    feed_seconds: float,
    interrupted: threading.Event,
) -> int:
    now = datetime.now(zone)
    day = now.date().isoformat()
    lines, expected = sample_lines(now)
    click.echo(f"Midfield demo — broker {kafka.bootstrap_servers}, logs in {demo.workdir}/")
    click.echo(f"  dashboard: {demo.url}/   sign in with any of these (password {DEMO_PASSWORD}):")
    for login, (name, role, department) in DEMO_USERS.items():
        scope = f"，只看 {_DEPARTMENTS[department]}" if department else ""
        click.echo(f"             {login:<7} {name}（{role}{scope}）")
    click.echo(f"  duty log:  {demo.url}/duty-log?date={day}")
    click.echo(f"  ledger:    {demo.url}/ledger   (and {demo.url}/ledger.xlsx)")
    click.echo(f"  tasks API: {demo.api} (office key {demo_key('office')}, docs/departments.md)")
    click.echo("  intakes:   " + ", ".join(f"{n} {u}" for n, u in demo.intakes.items()))
    click.echo(f"  telegrams: {demo.telegrams} (drop NAME.pdf, then NAME.json)")
    click.echo(f"  ready:     {demo.url}/ready")
    click.echo(f"  fax log:   {fax_log} (append HylaFAX lines to see them arrive)")
    click.echo(f"  fax mail:  {demo.fax_mail} (a Maildir: deliver T.37 mails into new/)")
    watch = _Watch(demo, kafka, day, started)
    _wait(lambda: (_get(f"{demo.url}/ready") or {}).get("ready"), timeout=60)
    if _wait(lambda: (_get(f"{demo.api}/ready") or {}).get("ready"), timeout=60):
        handed = _hand_out_tasks(demo.api, now)
        click.echo(f"  {handed} supervised tasks handed out (one overdue, one near its deadline)")
    else:
        click.echo(f"  the tasks API did not get ready: see {demo.workdir}/tasks-api.log", err=True)
    intakes_ready = all(
        _wait(lambda u=u: (_get(f"{u}/ready") or {}).get("ready"), timeout=60)
        for u in demo.intakes.values()
    )
    sent = feed(Endpoints(telegrams=demo.telegrams, **demo.intakes), DemoSecrets(), now)
    took = sum(200 <= status < 300 for status in sent.values())
    click.echo(
        f"  {took} of {len(sent)} samples taken by the intakes (calls, emergency, WeChat, "
        "board, hotline); two telegrams dropped, one of them classified"
    )
    mails, mail_events, mail_dead_letters = demo_mails(now)
    deliver(demo.fax_mail, mails)
    click.echo(f"  {len(mails)} T.37 fax mails delivered ({mail_dead_letters} of them not a TIFF)")
    expected = Expected(expected.entries + mail_events, expected.dead_letters + mail_dead_letters)
    for line in lines:  # a fax every so often, as a morning's log grows
        with fax_log.open("a", encoding="utf-8") as out:
            out.write(line)
        watch.poll()
        time.sleep(feed_seconds / len(lines))
    done = _wait(lambda: watch.poll() == (expected.entries, expected.dead_letters), timeout=30)
    lights = _wait(lambda: _lights(demo.url) == {"red": 1, "yellow": 1, "green": 1}, timeout=30)
    public = _wait(lambda: _received(demo.url) == 2, timeout=30)  # the WeChat and board messages
    if check:
        verdict = {
            "ok": done and lights and public and intakes_ready and took == len(sent),
            "lights": _lights(demo.url),
            "samples": sent,
            "public_messages": _received(demo.url),
            "first_entry_s": watch.first_entry_s,
            **watch.last,
            "expected_entries": expected.entries,
        }
        click.echo(json.dumps(verdict, ensure_ascii=False))
        return 0 if verdict["ok"] else 1
    click.echo("  the sample faxes are in; append lines to the fax log, Ctrl-C stops the demo")
    while not interrupted.is_set():
        watch.poll()
        interrupted.wait(1.0)
    raise KeyboardInterrupt


def _wait(predicate: Any, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


class _Watch:
    """Prints the live summary whenever it changes."""

    def __init__(self, demo: _Demo, kafka: KafkaSettings, day: str, started: float) -> None:
        self.demo, self.kafka, self.day, self.started = demo, kafka, day, started
        self.last: dict[str, int] = {}
        self.first_entry_s: float | None = None

    def poll(self) -> tuple[int, int]:
        counts = self.demo.counts(self.kafka, self.day)
        if self.first_entry_s is None and counts["entries"]:
            self.first_entry_s = round(time.monotonic() - self.started, 2)
            click.echo(
                f"  first entry answered over HTTP {self.first_entry_s:.1f} s "
                "after the broker started"
            )
        if counts != self.last:
            click.echo(
                f"  events in {counts['events']:3}   dead letters {counts['dead_letters']:2}"
                f"   fax entries in the duty log {counts['entries']:3}"
            )
            self.last = counts
        return counts["entries"], counts["dead_letters"]


def _post(url: str, body: dict[str, Any], key: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def _hand_out_tasks(api: str, now: datetime) -> int:
    """Three tasks through the tasks API, as the office and the departments would."""
    office = demo_key("office")
    tasks = [
        ("DC-2025-001", "汛前病险水库除险加固", "water", ("housing",), -3, 30),
        ("DC-2025-002", "乡镇卫生院能力提升", "health", (), 2, 60),
        ("DC-2025-003", "城区学校扩容工程", "edu", ("housing",), 90, 20),
    ]
    for task_id, title, lead, assisting, days, percent in tasks:
        deadline = (now.date() + timedelta(days=days)).isoformat()
        _post(
            f"{api}/tasks",
            {
                "task_id": task_id,
                "title": title,
                "deadline": deadline,
                "lead_department": lead,
                "assisting_departments": assisting,
                "focus": days < 0,
            },
            office,
        )
        _post(f"{api}/tasks/{task_id}/assign", {"instruction": "请按期办结"}, office)
        key = demo_key(lead)
        _post(f"{api}/tasks/{task_id}/sign", {"person": "值班员"}, key)
        _post(f"{api}/tasks/{task_id}/progress", {"percent": percent, "text": "按计划推进"}, key)
    # a department reporting on a task that is not its own: 403, audited
    _post(
        f"{api}/tasks/DC-2025-002/progress",
        {"percent": 99, "text": "x"},
        demo_key("edu"),
    )
    return len(tasks)


def _received(url: str) -> int:
    return int(((_get(f"{url}/reply-rate?period=all") or {}).get("total") or {}).get("received", 0))


def _lights(url: str) -> dict[str, int]:
    return dict((_get(f"{url}/ledger") or {}).get("lights", {}))
