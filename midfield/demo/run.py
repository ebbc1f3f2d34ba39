"""``midfield demo``: the whole hub on the embedded broker, with faxes and tasks arriving live.

Starts Tansu, creates the catalog's topics, starts the worker, the fax-log and fax-mail connectors
and the tasks API as child processes, then appends realistic HylaFAX+ lines (one malformed, one
SEND) to a demo fax log over a few seconds, delivers three T.37 fax mails (one a PNG, not a TIFF)
to a demo Maildir, and hands three supervised tasks to departments through the API (one overdue,
one near its deadline, one on track; one department oversteps: refused and audited),
printing what arrived. The dashboard shows it all. ``--check`` runs the same unattended,
verifies the duty log and the ledger over HTTP and exits 0 or 1. Ctrl-C stops everything the
demo started.

This module runs the processes and drives the show; what it sends and checks is in its
neighbours: the office (directory.py), the fax log (fax_log_samples.py), the fax mails
(fax_samples.py), the intakes' samples (feed.py), the tasks (tasks.py), and what it watches and
verifies over HTTP (checks.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from cryptography.fernet import Fernet

from midfield.broker import EmbeddedBroker, free_port
from midfield.bus.topics import create_topics
from midfield.demo.checks import Watch, get, light_counts, messages_received, wait
from midfield.demo.directory import (
    DEMO_PASSWORD,
    DEMO_USERS,
    DEPARTMENTS,
    demo_key,
    departments_file,
)
from midfield.demo.fax_log_samples import Expected, sample_lines
from midfield.demo.fax_samples import deliver, demo_mails
from midfield.demo.feed import DemoSecrets, Endpoints, feed
from midfield.demo.tasks import hand_out_tasks
from midfield.ports import require_free
from midfield.settings import KafkaSettings, OfficeSettings, TopicSettings
from schemas.catalog import concrete

__all__ = ["run_demo"]


class _Demo:
    """The child processes of one demo run, and where each of them listens."""

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
            "MIDFIELD_DEPARTMENTS_FILE": str(departments_file(workdir / "departments.toml")),
            "MIDFIELD_SUPERVISION_REMINDER_CHECK_INTERVAL_S": "5",
            "MIDFIELD_REPLIES_CHECK_INTERVAL_S": "5",
            "MIDFIELD_CONNECT_DOCUMENTS_DIR": str(workdir / "documents"),
            "MIDFIELD_ACCESS_SESSION_KEY": Fernet.generate_key().decode(),
        } | DemoSecrets().env()
        create_topics(kafka, TopicSettings(), concrete(DEPARTMENTS))
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
        scope = f"，只看 {DEPARTMENTS[department]}" if department else ""
        click.echo(f"             {login:<7} {name}（{role}{scope}）")
    click.echo(f"  duty log:  {demo.url}/duty-log?date={day}")
    click.echo(f"  ledger:    {demo.url}/ledger   (and {demo.url}/ledger.xlsx)")
    click.echo(f"  tasks API: {demo.api} (office key {demo_key('office')}, docs/departments.md)")
    click.echo("  intakes:   " + ", ".join(f"{n} {u}" for n, u in demo.intakes.items()))
    click.echo(f"  telegrams: {demo.telegrams} (drop NAME.pdf, then NAME.json)")
    click.echo(f"  ready:     {demo.url}/ready")
    click.echo(f"  fax log:   {fax_log} (append HylaFAX lines to see them arrive)")
    click.echo(f"  fax mail:  {demo.fax_mail} (a Maildir: deliver T.37 mails into new/)")
    watch = Watch(demo.url, kafka, day, started)
    wait(lambda: (get(f"{demo.url}/ready") or {}).get("ready"), timeout=60)
    if wait(lambda: (get(f"{demo.api}/ready") or {}).get("ready"), timeout=60):
        handed = hand_out_tasks(demo.api, now)
        click.echo(f"  {handed} supervised tasks handed out (one overdue, one near its deadline)")
    else:
        click.echo(f"  the tasks API did not get ready: see {demo.workdir}/tasks-api.log", err=True)
    intakes_ready = all(
        wait(lambda u=u: (get(f"{u}/ready") or {}).get("ready"), timeout=60)
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
    done = wait(lambda: watch.poll() == (expected.entries, expected.dead_letters), timeout=30)
    lights = wait(lambda: light_counts(demo.url) == {"red": 1, "yellow": 1, "green": 1}, timeout=30)
    # the WeChat and board messages
    public = wait(lambda: messages_received(demo.url) == 2, timeout=30)
    if check:
        verdict = {
            "ok": done and lights and public and intakes_ready and took == len(sent),
            "lights": light_counts(demo.url),
            "samples": sent,
            "public_messages": messages_received(demo.url),
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
