"""Outbox -> department sink -> a real department endpoint (aiohttp on 127.0.0.1) that checks
every signature with the Standard Webhooks package, against a real broker."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prometheus_client import REGISTRY
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from connectors.sinks.department import SinkStats, Target
from connectors.sinks.department_runner import run_department_sink
from connectors.sinks.webhook import post, signed_headers
from midfield.broker import free_port
from midfield.bus.topics import create_topics, partition_counts
from midfield.departments import Department, Directory
from midfield.settings import Settings, SinkSettings, TopicSettings
from schemas.catalog import DEADLETTER, outbox, topic
from schemas.deadletter import DeadLetter
from schemas.envelope import Envelope
from schemas.events.task import TaskNotice, TaskStatus
from tests.harness import (
    Broker,
    Record,
    departments_file,
    midfield_env,
    produce,
    read_topic,
    run_cli,
    scrape,
    spawn_cli,
    wait_for,
)
from tests.webhooks import Receiver


def _outbox(broker: Broker, code: str) -> str:
    spec = topic("office.outbox.<department>.v1").for_department(code)
    create_topics(broker.kafka_settings(), TopicSettings(), [spec])
    return outbox(code)


def _notice(task_id: str, subject: str | None = None) -> Envelope:
    data = TaskNotice(task_id=task_id, step="reminded", title=f"任务 {task_id}",
                      deadline=date(2025, 8, 31), status=TaskStatus.in_progress,
                      lead_department="edu", light="red", message="overdue by 3 days")  # fmt: skip
    when = datetime(2025, 9, 3, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    return Envelope.wrap(data, source="midfield://worker/test", position=task_id,
                         subject=subject or task_id, time=when)  # fmt: skip


def _settings(broker: Broker, **sink: Any) -> Settings:
    defaults = {"backoff_first_s": 0.05, "backoff_max_s": 0.2, "timeout_s": 2.0}
    return Settings(kafka=broker.kafka_settings(), sink=SinkSettings(**(defaults | sink)))


def _target(receiver: Receiver, code: str) -> Target:
    department = Department(code=code, name="测试局", webhook_url=receiver.url,
                            webhook_secret=SecretStr(receiver.secret))  # fmt: skip
    return Target.of(Directory([department]), code)


@contextmanager
def _sink(target: Target, settings: Settings) -> Iterator[dict[str, SinkStats]]:
    """``run_department_sink`` in a thread; its stats are in the dict once the block ends."""
    stop, result, failed = threading.Event(), {}, []

    def run() -> None:
        try:
            result["stats"] = run_department_sink(target, settings, stop=stop)
        except BaseException as exc:  # re-raised in the test's thread below
            failed.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(30)
    if failed:
        raise failed[0]


def _dead_letters(broker: Broker, code: str, count: int) -> list[Record]:
    def found() -> list[Record]:
        letters = [r for r in read_topic(broker, DEADLETTER) if r.key == _source(code)]
        return letters if len(letters) >= count else []

    return wait_for(found, timeout=30, what=f"{count} dead letters of {code}")  # type: ignore[no-any-return]


def _source(code: str) -> bytes:
    return f"midfield://sink/{code}".encode()


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_each_outbox_record_reaches_the_department_once_signed_as_a_cloudevent(
    catalog_topics: Broker, unique: str
) -> None:
    code = f"d{unique}"
    notices = [_notice(f"T-{n}") for n in range(6)]  # six subjects: several partitions
    produce(catalog_topics, notices, topic=_outbox(catalog_topics, code))
    with Receiver() as receiver, _sink(_target(receiver, code), _settings(catalog_topics)) as run:
        wait_for(lambda: len(receiver.got) >= 6, timeout=30, what="6 deliveries")
        time.sleep(0.3)  # room for a duplicate to show up
    assert run["stats"].as_dict() == {
        "delivered": 6, "retried": 0, "dead_letters": 0, "dead_by_reason": {}
    }  # fmt: skip
    assert all(g.event is not None for g in receiver.got), "a signature did not verify"
    assert sorted(g.headers["webhook-id"] for g in receiver.got) == sorted(n.id for n in notices)
    by_id = {g.headers["webhook-id"]: g for g in receiver.got}
    for notice in notices:
        got = by_id[notice.id]
        assert got.headers["content-type"] == "application/cloudevents+json"
        assert got.event is not None
        assert got.event == got.event | {
            "specversion": "1.0", "id": notice.id, "source": notice.source,
            "type": TaskNotice.type, "subject": notice.subject,
            "time": notice.time.isoformat(), "datacontenttype": "application/json",
            "data": json.loads(notice.value()),
        }  # fmt: skip
    labels = {"department": code}
    assert _sample("midfield_webhook_deliveries_total", outcome="delivered", **labels) == 6
    assert _sample("midfield_webhook_delivery_seconds_count", **labels) == 6


def test_an_endpoint_answering_500_then_200_gets_the_record_after_a_backoff(
    catalog_topics: Broker, unique: str
) -> None:
    code = f"d{unique}"
    produce(catalog_topics, [_notice("T-1")], topic=_outbox(catalog_topics, code))
    settings = _settings(catalog_topics, backoff_first_s=0.3, backoff_max_s=1.0)
    with (
        Receiver(lambda event, nth: 500 if nth == 1 else 200) as receiver,
        _sink(_target(receiver, code), settings) as run,
    ):
        wait_for(receiver.delivered, timeout=30, what="the delivery after the retry")
    first, second = receiver.got
    assert (first.status, second.status) == (500, 200)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.event is not None and second.event["data"]["task_id"] == "T-1"
    assert second.at - first.at >= 0.3
    assert run["stats"].as_dict()["delivered"] == 1
    assert run["stats"].as_dict()["retried"] == 1


def test_an_endpoint_answering_503_to_every_attempt_yields_a_delivery_failed_dead_letter(
    catalog_topics: Broker, unique: str
) -> None:
    code = f"d{unique}"
    notice = _notice("T-1")
    produce(catalog_topics, [notice], topic=_outbox(catalog_topics, code))
    settings = _settings(catalog_topics, attempts=3)
    with Receiver(lambda event, nth: 503) as receiver, _sink(_target(receiver, code), settings):
        [letter] = _dead_letters(catalog_topics, code, 1)
    assert [g.status for g in receiver.got] == [503, 503, 503]
    assert letter.headers["dlq.reason"] == b"delivery-failed"
    assert letter.headers["dlq.attempts"] == b"3"
    dead = DeadLetter.from_value(letter.value)
    assert "HTTP 503" in dead.error
    assert dead.raw_bytes() == notice.value()
    assert dead.meta == {"webhook_url": receiver.url, "ce_id": notice.id}


def test_a_record_that_is_not_a_cloudevent_is_dead_lettered_and_the_next_is_delivered(
    catalog_topics: Broker, unique: str
) -> None:
    from kafka import KafkaProducer

    from midfield.bus.clients import client_config

    code = f"d{unique}"
    name = _outbox(catalog_topics, code)
    producer = KafkaProducer(**client_config(catalog_topics.kafka_settings()), acks="all")
    producer.send(name, key=b"T-1", value=b"plain text, no headers").get(timeout=30)
    producer.close()
    produce(catalog_topics, [_notice("T-2", subject="T-1")], topic=name)  # same partition
    with Receiver() as receiver, _sink(_target(receiver, code), _settings(catalog_topics)):
        wait_for(receiver.delivered, timeout=30, what="the CloudEvent after the bad record")
        [letter] = _dead_letters(catalog_topics, code, 1)
    assert letter.headers["dlq.reason"] == b"not-cloudevent"
    assert DeadLetter.from_value(letter.value).raw_bytes() == b"plain text, no headers"
    assert [g.task for g in receiver.got] == ["T-2"]


def test_an_endpoint_that_hangs_past_the_timeout_is_no_answer() -> None:
    with Receiver(delay_s=1) as receiver:
        answer = post(receiver.url, b"{}", {"webhook-id": "x"}, timeout_s=0.2)
    assert answer.status is None
    assert "timed out" in answer.detail


def test_a_redirect_is_an_answer_not_followed() -> None:
    with Receiver(lambda event, nth: 302) as receiver:
        headers = signed_headers(Webhook(receiver.secret), "evt-1", "{}", datetime.now(UTC))
        answer = post(receiver.url, b"{}", headers, timeout_s=2)
    assert answer.status == 302
    assert len(receiver.got) == 1


def test_a_closed_port_is_no_answer() -> None:
    answer = post(f"http://127.0.0.1:{free_port()}/hook", b"{}", {}, timeout_s=2)
    assert answer.status is None
    assert "refused" in answer.detail.lower()


# -- through the command line ----------------------------------------------------------------------
def _cli_env(broker: Broker, workdir: Path, receiver: Receiver, code: str, **extra: str) -> Any:
    departments = departments_file(workdir / "departments.toml", {code: f"{code}-key"},
                                   **{code: {"webhook_url": receiver.url,
                                             "webhook_secret": receiver.secret}})  # fmt: skip
    return midfield_env(broker, workdir, MIDFIELD_DEPARTMENTS_FILE=str(departments),
                        MIDFIELD_SINK_BACKOFF_FIRST_S="0.05", MIDFIELD_SINK_BACKOFF_MAX_S="0.2",
                        MIDFIELD_SINK_TIMEOUT_S="2", **extra)  # fmt: skip


@contextmanager
def _cli_sink(code: str, env: dict[str, str], workdir: Path, *more: str) -> Iterator[Any]:
    """``midfield sink department`` in a child process. Yields ``stop()``: SIGTERM, then its
    JSON summary. Killed if the block ends while it still runs."""
    proc = spawn_cli(["sink", "department", "--department", code, *more], env, cwd=workdir)

    def stop() -> Any:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        return json.loads(out)

    try:
        yield stop
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_an_endpoint_answering_400_dead_letters_the_record_at_once_and_the_sink_moves_on(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    code = f"d{unique}"
    rejected, accepted = _notice("T-1"), _notice("T-2", subject="T-1")  # same partition, in order
    produce(catalog_topics, [rejected, accepted], topic=_outbox(catalog_topics, code))
    port = free_port()
    with Receiver(lambda event, nth: 400 if event["data"]["task_id"] == "T-1" else 200) as rcv:
        env = _cli_env(catalog_topics, workdir, rcv, code)
        with _cli_sink(code, env, workdir, "--metrics-port", str(port)) as stop_sink:
            wait_for(rcv.delivered, timeout=30, what="the record after the rejected one")
            [letter] = _dead_letters(catalog_topics, code, 1)
            samples = scrape(f"http://127.0.0.1:{port}/metrics")
            summary = stop_sink()
    assert [(g.task, g.status) for g in rcv.got] == [("T-1", 400), ("T-2", 200)]
    assert summary == {"delivered": 1, "retried": 0, "dead_letters": 1,
                       "dead_by_reason": {"delivery-rejected": 1}}  # fmt: skip
    headers = letter.headers
    assert (headers["dlq.reason"], headers["dlq.attempts"]) == (b"delivery-rejected", b"1")
    assert headers["dlq.connector"] == b"department-sink"
    assert headers["dlq.position"].startswith(f"{outbox(code)}/".encode())
    dead = DeadLetter.from_value(letter.value)
    assert dead.error == "HTTP 400: status 400 from the test receiver"
    assert dead.raw_bytes() == rejected.value()
    deliveries = "midfield_webhook_deliveries_total"
    assert samples[(deliveries, (("department", code), ("outcome", "dead_letter")))] == 1
    assert samples[(deliveries, (("department", code), ("outcome", "delivered")))] == 1
    reason = (("connector", "department-sink"), ("reason", "delivery-rejected"))
    assert samples[("midfield_dead_letters_total", reason)] >= 1


def test_a_restarted_sink_sends_nothing_it_delivered_before(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    code = f"d{unique}"
    name = _outbox(catalog_topics, code)
    first, later = [_notice(f"T-{n}", subject="S") for n in range(3)], [_notice("T-3", "S")]
    produce(catalog_topics, first, topic=name)
    with Receiver() as receiver:
        env = _cli_env(catalog_topics, workdir, receiver, code)
        with _cli_sink(code, env, workdir) as stop_sink:
            wait_for(lambda: len(receiver.got) == 3, timeout=30, what="3 deliveries")
            assert stop_sink()["delivered"] == 3
        produce(catalog_topics, later, topic=name)
        with _cli_sink(code, env, workdir) as stop_sink:
            wait_for(lambda: len(receiver.got) >= 4, timeout=30, what="the 4th delivery")
            assert stop_sink()["delivered"] == 1
    # one partition, in order: a re-sent record would have come before T-3
    assert [g.task for g in receiver.got] == ["T-0", "T-1", "T-2", "T-3"]


def test_a_sink_killed_between_delivery_and_commit_resends_with_the_same_webhook_id(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    code = f"d{unique}"
    notices = [_notice(f"T-{n}", subject="S") for n in range(3)]
    produce(catalog_topics, notices, topic=_outbox(catalog_topics, code))
    with Receiver() as receiver:
        env = _cli_env(catalog_topics, workdir, receiver, code)
        crashed = run_cli(["sink", "department", "--department", code],
                          env | {"MIDFIELD_FAULTS": "sink.before-commit=kill@2"}, cwd=workdir,
                          timeout=30, check=False)  # fmt: skip
        assert crashed.returncode == -signal.SIGKILL
        with _cli_sink(code, env, workdir) as stop_sink:
            # the killed sink's group member holds the partition until its session is over
            wait_for(lambda: len(receiver.got) >= 4, timeout=30 + catalog_topics.sink_rejoin_s,
                     what="the re-sent and the last")  # fmt: skip
            stop_sink()
    assert [g.task for g in receiver.got] == ["T-0", "T-1", "T-1", "T-2"]
    assert receiver.got[1].headers["webhook-id"] == receiver.got[2].headers["webhook-id"]


def test_a_sink_started_before_its_outbox_exists_neither_creates_it_nor_misses_it(
    broker: Broker, unique: str
) -> None:
    """A broker that auto-creates topics would give the outbox its default partition count
    (1 on Apache Kafka) and race the worker's own create from the catalog."""
    code = f"d{unique}"
    with Receiver() as receiver, _sink(_target(receiver, code), _settings(broker)):
        time.sleep(3)  # the sink has asked the broker for its topic many times by now
        assert partition_counts(broker.kafka_settings(), [outbox(code)]) == {}
        produce(broker, [_notice("T-late")], topic=_outbox(broker, code))
        wait_for(lambda: len(receiver.got) == 1, timeout=60, what="the delivery")
    assert partition_counts(broker.kafka_settings(), [outbox(code)]) == {outbox(code): 4}


def test_a_department_without_a_webhook_is_a_clear_error_at_start(
    catalog_topics: Broker, workdir: Path
) -> None:
    departments = departments_file(workdir / "departments.toml", {"edu": "edu-key"})
    env = midfield_env(catalog_topics, workdir, MIDFIELD_DEPARTMENTS_FILE=str(departments))
    result = run_cli(["sink", "department", "--department", "edu"], env, cwd=workdir, check=False)
    assert result.returncode == 1
    assert "error [no-webhook]: department 'edu' needs webhook_url" in result.stderr
