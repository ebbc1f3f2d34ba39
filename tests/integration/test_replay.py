"""``midfield replay rebuild``, ``as-of`` and ``shadow`` against a real broker (a private one per
module, so nothing but these events is on it and the books can be compared whole).

Events arrive in two batches with a moment T between them. The references are independent of
the replay machinery: the live worker's books (everything), its books as they stood at T, and a
second broker that is given only the second batch and a plain worker."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from kafka import KafkaProducer

from midfield.broker import EmbeddedBroker
from midfield.bus.clients import client_config
from midfield.bus.groups import committed_offsets
from midfield.bus.topics import create_topics
from midfield.bus.watermarks import end_offsets, topic_partitions
from midfield.replay.offsets import offsets_at
from midfield.settings import TopicSettings
from schemas.catalog import concrete
from schemas.envelope import Envelope
from schemas.events.task import TaskAssigned, TaskCreated
from streams.books.registry import PROCESSED
from tests.harness import (
    Broker,
    WorkerProcess,
    departments_file,
    midfield_env,
    produce,
    read_topic,
    run_cli,
    stored_books,
    wait_for,
)
from tests.samples import fax_envelope

pytestmark = pytest.mark.xdist_group("replay")  # one private broker and live worker for all

ZONE = ZoneInfo("Asia/Shanghai")
FAX_TOPIC = "office.intake.fax.v1"
QUIET = {  # the live worker's timers must not add events while the books are compared
    # (and the ``directory`` fixture adds the departments file)
    "MIDFIELD_SUPERVISION_REMINDER_CHECK_INTERVAL_S": "3600",
    "MIDFIELD_DUTY_REPORT_CHECK_INTERVAL_S": "3600",
    "MIDFIELD_REPLIES_CHECK_INTERVAL_S": "3600",
}


def _task(task_id: str, days: int, n: int = 0) -> list[Envelope]:
    now = datetime.now(ZONE)
    source = "midfield://replay-test/tasks"

    def wrap(event: Any, k: int) -> Envelope:
        return Envelope.wrap(
            event, source=source, position=f"{task_id}/{k}", subject=task_id, time=now
        )

    out = [
        wrap(
            TaskCreated(
                task_id=task_id,
                actor="office",
                title=f"任务{task_id}",
                lead_department="d1",
                deadline=now.date() + timedelta(days=days),
            ),
            0,
        ),
    ]
    if n:
        out.append(wrap(TaskAssigned(task_id=task_id, actor="office"), 1))
    return out


def _faxes(first: int, count: int) -> list[Envelope]:
    now = datetime.now(ZONE)
    return [
        fax_envelope(f"5{n:08d}", now, source="midfield://fax-log/replay")
        for n in range(first, first + count)
    ]


@dataclass
class History:
    """Two batches on the private broker, the moment between them, the live worker's books."""

    first: list[Envelope]
    second: list[Envelope]
    moment: datetime
    books_at_moment: dict[str, Any]
    live: WorkerProcess


def _settled(worker: WorkerProcess, faxes: int, tasks: int) -> dict[str, Any] | None:
    status, books = worker.get("/replay/books")
    if status != 200:
        return None
    done = len(books["duty_log"]) == faxes and len(books["ledger"]) == tasks
    return books if done else None


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The department the tasks name, in a directory every worker and replay of this module
    reads (QUIET carries it), as deployed: notices go only to a department of the directory,
    whose outbox exists (``_outboxes``)."""
    path = departments_file(tmp_path_factory.mktemp("replay-directory") / "departments.toml",
                            {"d1": "d1-replay-key-0123456789"})  # fmt: skip
    QUIET["MIDFIELD_DEPARTMENTS_FILE"] = str(path)
    return path


def _outboxes(broker: Broker) -> None:
    """The catalog's topics and d1's outbox, as ``midfield topics create`` makes them."""
    create_topics(broker.kafka_settings(), TopicSettings(), concrete(["d1"]))


@pytest.fixture(scope="module")
def history(
    own_broker: Broker, directory: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[History]:
    workdir = tmp_path_factory.mktemp("replay-live")
    _outboxes(own_broker)
    first = _faxes(0, 40) + _task("T-red", -2) + _task("T-far", 30) + _task("T-soon", 2)
    second = (
        _faxes(40, 60)
        + _task("T-five", 5)
        + _task("T-six", 6, n=1)
        + _task("T-eight", 8, n=1)
        + [_task("T-far", 30, n=1)[1]]  # assigned: a task the first batch created
    )
    live = WorkerProcess(own_broker, workdir, app_id="live", env_extra=QUIET)
    live.start()
    try:
        live.wait_ready(timeout=60)
        produce(own_broker, first)
        wait_for(lambda: _settled(live, 40, 3), timeout=60, what="the first batch in the books")
        time.sleep(1.0)
        moment = datetime.now(ZONE)
        at_moment = live.get(f"/replay/books?at={quote(moment.isoformat())}")[1]
        time.sleep(1.0)
        _produce_in_batches(own_broker, second)
        wait_for(lambda: _settled(live, 100, 6), timeout=60, what="the second batch")
        # a shadow reads what the live worker committed: wait for the commit, not a guess at it
        # (a rebalance in between holds commits up to a session: allow one)
        try:
            live.wait(lambda: not _uncommitted(own_broker), timeout=60 + own_broker.rejoin_s,
                      what="the live worker's commit")  # fmt: skip
        except AssertionError as exc:
            behind = _uncommitted(own_broker)
            raise AssertionError(f"{exc}\n(committed, end) behind: {behind}") from exc
        yield History(first, second, moment, at_moment, live)
    finally:
        live.stop()


def _uncommitted(broker: Broker) -> dict[tuple[str, int], tuple[int, int]]:
    """Each partition of the topics the books read that the group ``live`` has not committed
    to its end: ``(committed, end)``."""
    config = client_config(broker.kafka_settings())
    partitions = topic_partitions(config, PROCESSED)
    ends, done = end_offsets(config, partitions), committed_offsets(config, "live")
    return {tp: (done.get(tp, 0), end) for tp, end in ends.items() if done.get(tp, 0) < end}


def _produce_in_batches(broker: Broker, envelopes: list[Envelope]) -> None:
    """Many records per batch, as a busy connector sends them (the embedded broker answers
    ListOffsets by timestamp with offset 0 / timestamp -1 when the record is inside such a
    batch: the fallback search must run)."""
    producer = KafkaProducer(**client_config(broker.kafka_settings()), linger_ms=200)
    try:
        for e in envelopes:
            producer.send(e.topic, key=e.key(), value=e.value(), headers=e.headers())
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)


def _cli(broker: Broker, workdir: Path, args: list[str], *, check: bool = True) -> Any:
    env = midfield_env(broker, workdir, **QUIET)
    return run_cli(["replay", *args], env, cwd=workdir, timeout=180, check=check)


def _rebuild(broker: Broker, workdir: Path, app_id: str, start: str) -> dict[str, Any]:
    return _rebuild_with_summary(broker, workdir, app_id, start)[0]


def _rebuild_with_summary(
    broker: Broker, workdir: Path, app_id: str, start: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rebuilt books and the command's summary line."""
    out = workdir / f"{app_id}.json"
    proc = _cli(
        broker, workdir, ["rebuild", "--from", start, "--app-id", app_id, "--output", str(out)]
    )
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["app_id"] == app_id
    assert "MIDFIELD_WORKER_APP_ID=" + app_id in proc.stderr
    books: dict[str, Any] = json.loads(out.read_text())
    return books, summary


def test_rebuild_from_the_beginning_equals_the_live_books(
    own_broker: Broker, history: History, workdir: Path
) -> None:
    rebuilt = _rebuild(own_broker, workdir, "rebuilt-all", "beginning")
    live = history.live.get("/replay/books")[1]
    assert len(rebuilt["duty_log"]) == 100 and len(rebuilt["ledger"]) == 6
    assert rebuilt["ledger"]["T-far"]["status"] == "assigned"
    assert stored_books(rebuilt) == stored_books(live)


def test_rebuild_from_a_moment_equals_a_run_over_the_later_events_only(
    own_broker: Broker, history: History, workdir: Path
) -> None:
    moment = history.moment.isoformat()
    rebuilt, summary = _rebuild_with_summary(own_broker, workdir, "rebuilt-later", moment)
    # Apache Kafka's ListOffsets by time passes the check on every partition. Tansu's may too
    # here (the moment falls on a batch boundary); test_offsets_for_a_moment… covers its search.
    if not own_broker.is_tansu:
        assert summary["searched_by_timestamp"] == [], "the broker's offsets by time were not used"
    # The reference: a second broker that only ever saw the second batch, and a plain worker.
    with EmbeddedBroker(workdir / "reference-broker").running() as status:
        reference = Broker(status.bootstrap, "embedded", "embedded")
        _outboxes(reference)
        worker = WorkerProcess(reference, workdir / "ref", app_id="reference", env_extra=QUIET)
        worker.workdir.mkdir()
        worker.start()
        try:
            worker.wait_ready(timeout=60)
            produce(reference, history.second)
            wait_for(lambda: _settled(worker, 60, 4), timeout=60, what="reference")

            # settled counts come before the last steps are applied: wait for the same books
            def agrees() -> bool:
                return stored_books(worker.get("/replay/books")[1]) == stored_books(rebuilt)

            with contextlib.suppress(AssertionError):  # the assertion below shows the difference
                wait_for(agrees, timeout=30, what="the reference equal to the rebuild")
            expected = worker.get("/replay/books")[1]
        finally:
            worker.stop()
    assert len(rebuilt["duty_log"]) == 60
    assert "T-red" not in rebuilt["ledger"]  # created before the moment
    assert "T-far" in rebuilt["ledger"]  # only its assignment came after: a refused stub
    # Read-only: the refusal was not dead-lettered again (nor anything else sent).
    letters = read_topic(own_broker, "office.deadletter.v1")
    assert not [r for r in letters if r.key and b"rebuilt-later" in r.key]
    assert stored_books(rebuilt) == stored_books(expected)


def test_as_of_a_moment_gives_the_books_as_they_stood_then(
    own_broker: Broker, history: History, workdir: Path
) -> None:
    out = workdir / "as-of.json"
    _cli(
        own_broker,
        workdir,
        ["as-of", history.moment.isoformat(), "--app-id", "as-of", "--output", str(out)],
    )
    books = json.loads(out.read_text())
    assert len(books["duty_log"]) == 40 and sorted(books["ledger"]) == ["T-far", "T-red", "T-soon"]
    assert books["ledger"]["T-red"]["light"] == "red"
    assert books == history.books_at_moment  # lights included: both read at the moment


def test_shadow_of_the_same_code_finds_no_difference(
    own_broker: Broker, history: History, workdir: Path
) -> None:
    proc = _cli(
        own_broker,
        workdir,
        ["shadow", "--app-id", "shadow-same", "--live-app-id", "live"],
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert proc.stdout.strip() == "no difference"


def test_shadow_of_a_wider_yellow_window_lists_exactly_the_tasks_it_turns(
    own_broker: Broker, history: History, workdir: Path
) -> None:
    report = workdir / "diff.json"
    proc = _cli(
        own_broker,
        workdir,
        [
            "shadow",
            "--app-id",
            "shadow-yellow",
            "--live-app-id",
            "live",
            "--module",
            "tests.replay_yellow_window",
            "--json",
            str(report),
        ],
        check=False,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr[-3000:]
    found = json.loads(report.read_text())
    assert found["added"] == {} and found["removed"] == {}
    assert set(found["changed"]) == {"ledger"}
    changed = found["changed"]["ledger"]
    assert sorted(changed) == ["T-five", "T-six"]  # 2, 8 and 30 days, and red: unchanged
    assert changed["T-five"]["light"] == {"old": "green", "new": "yellow"}
    assert set(changed["T-six"]) == {"light", "light_reason"}
    assert "T-five" in proc.stdout and "T-far" not in proc.stdout


def test_offsets_for_a_moment_are_found_on_every_partition(
    own_broker: Broker, history: History
) -> None:
    config = client_config(own_broker.kafka_settings())
    target = int(history.moment.timestamp() * 1000)
    records = read_topic(own_broker, FAX_TOPIC)
    truth: dict[tuple[str, int], int] = {}
    for partition in range(4):
        mine = sorted((r for r in records if r.partition == partition), key=lambda r: r.offset)
        later = [r.offset for r in mine if r.timestamp >= target]
        truth[(FAX_TOPIC, partition)] = later[0] if later else len(mine)
    assert all(0 < offset < len(records) for offset in truth.values())  # a real middle
    parts = list(truth)

    found = offsets_at(config, parts, history.moment)
    assert found.offsets == truth

    ends = {tp: sum(r.partition == tp[1] for r in records) for tp in parts}
    later = offsets_at(config, parts, history.moment + timedelta(hours=1))
    assert later.offsets == ends  # no record that late: the log end
    if own_broker.is_tansu:  # it answers offset 0 / timestamp -1: the check fails, search runs
        assert later.searched == set(parts)
    else:  # Apache Kafka answers right: its offsets are taken, nothing searched
        assert found.searched == set() and later.searched == set()
        assert found.fetches <= 2 * len(parts)

    class Answer:
        def __init__(self, offset: int) -> None:
            self.offset = offset

    def right(consumer: Any, timestamps: dict[Any, int]) -> dict[Any, Answer]:
        return {tp: Answer(truth[(tp.topic, tp.partition)]) for tp in timestamps}

    def wrong(consumer: Any, timestamps: dict[Any, int]) -> dict[Any, Answer]:
        return {tp: Answer(0) for tp in timestamps}

    trusted = offsets_at(config, parts, history.moment, lookup=right)
    assert trusted.offsets == truth and trusted.searched == set()
    assert trusted.fetches <= 2 * len(parts)  # the check: the record at the answer and before
    searched = offsets_at(config, parts, history.moment, lookup=wrong)
    assert searched.offsets == truth and searched.searched == set(parts)


# Last: it adds a fax to the history the other tests compare.
def test_workers_switched_to_a_rebuilt_app_id_answer_from_the_rebuilt_books(
    own_broker: Broker, history: History, workdir: Path
) -> None:
    rebuilt = _rebuild(own_broker, workdir, "switch-to", "beginning")
    worker = WorkerProcess(own_broker, workdir, app_id="switch-to", env_extra=QUIET)
    worker.start()
    try:
        worker.wait_ready(timeout=60)  # it recovered the books from the rebuild's changelogs
        served = wait_for(lambda: _settled(worker, 100, 6), timeout=30, what="the books served")
        late = _faxes(900, 1)
        produce(own_broker, late)  # it carries on from the rebuild's committed offsets
        after = wait_for(lambda: _settled(worker, 101, 6), timeout=30, what="one more fax")
    finally:
        worker.stop()
    assert stored_books(served) == stored_books(rebuilt)
    assert set(after["duty_log"]) - set(served["duty_log"]) == {late[0].subject}
