"""Fax log -> events -> duty log over HTTP, against a real broker, with real files and processes."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from schemas.catalog import DEADLETTER
from schemas.deadletter import DeadLetter
from tests.harness import (
    Broker,
    WorkerProcess,
    midfield_env,
    read_topic,
    run_cli,
    spawn_cli,
    wait_for,
)
from tests.samples import fax_line

FAX_TOPIC = "office.intake.fax.v1"


def _entries(worker: WorkerProcess, source: str, day: str = "2025-03-14") -> list[dict]:
    return [e for e in worker.every(f"/duty-log?date={day}", "entries") if e["source"] == source]


def _source_records(broker: Broker, topic: str, source: str) -> list:
    return [r for r in read_topic(broker, topic) if r.headers.get("ce_source") == source.encode()]


def test_lines_appended_to_the_log_appear_in_the_duty_log(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    log = workdir / "xferfaxlog"
    log.write_text("".join(fax_line(n) for n in range(1, 4)))
    worker = WorkerProcess(catalog_topics, workdir, app_id=f"t-{unique}").start()
    env = midfield_env(catalog_topics, workdir)
    args = ["connect", "fax-log", "--path", str(log), "--instance", unique]
    connector = spawn_cli(args, env, cwd=workdir)
    source = f"midfield://fax-log/{unique}"
    try:
        worker.wait_ready()
        with log.open("a") as out:
            out.write(fax_line(4))
            out.write(fax_line(5)[:40])  # a partial line: waited for, not rejected
            out.flush()
            wait_for(lambda: len(_entries(worker, source)) == 4, timeout=30, what="4 entries")
            out.write(fax_line(5)[40:])
        entries = wait_for(
            lambda: (e := _entries(worker, source)) and len(e) == 5 and e,
            timeout=30,
            what="5 entries",
        )
        assert sorted(e["subject"] for e in entries) == [f"{n:09d}" for n in range(1, 6)]
        assert {e["channel"] for e in entries} == {"fax"}
        assert worker.get("/duty-log?date=2025-13-45") == (
            400,
            {"error": "bad-date", "message": "date must be YYYY-MM-DD, got '2025-13-45'"},
        )
    finally:
        connector.send_signal(signal.SIGTERM)
        out_text, _ = connector.communicate(timeout=30)
        worker.stop()
    assert connector.returncode == 0
    assert json.loads(out_text)["events"] == 5


def test_malformed_line_goes_to_the_dead_letter_topic_with_reason_and_raw_bytes(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    bad = "03/14/25 09:45\tRECV\t000000777\tttyS0\tonly-five-fields"
    log = workdir / "xferfaxlog"
    log.write_text(fax_line(1) + bad + "\n" + fax_line(2))
    result = run_cli(
        ["connect", "fax-log", "--path", str(log), "--instance", unique, "--once"],
        midfield_env(catalog_topics, workdir),
        cwd=workdir,
    )
    stats = json.loads(result.stdout)
    assert (stats["events"], stats["dead_letters"]) == (2, 1)

    source = f"midfield://fax-log/{unique}"
    [record] = [r for r in read_topic(catalog_topics, DEADLETTER) if r.key == source.encode()]
    assert record.headers["dlq.reason"] == b"bad-field-count"
    assert record.headers["dlq.connector"] == b"fax-log"
    letter = DeadLetter.from_value(record.value)
    assert letter.raw_bytes() == bad.encode()
    assert "5" in letter.error


def test_send_and_poll_lines_produce_nothing_and_are_counted(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    send = fax_line(8).replace("\tRECV\t", "\tSEND\t")
    poll = fax_line(9).replace("\tRECV\t", "\tPOLL\t")
    log = workdir / "xferfaxlog"
    log.write_text(send + fax_line(1) + poll + fax_line(2))
    result = run_cli(
        ["connect", "fax-log", "--path", str(log), "--instance", unique, "--once"],
        midfield_env(catalog_topics, workdir),
        cwd=workdir,
    )
    stats = json.loads(result.stdout)
    assert stats["skipped"] == {"record-type-send": 1, "record-type-poll": 1}
    assert stats["events"] == 2
    records = _source_records(catalog_topics, FAX_TOPIC, f"midfield://fax-log/{unique}")
    assert sorted(r.key for r in records) == [b"000000001", b"000000002"]


def test_connector_killed_between_produce_and_commit_applies_each_fax_once(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    log = workdir / "xferfaxlog"
    log.write_text("".join(fax_line(n) for n in range(1, 11)))
    env = midfield_env(catalog_topics, workdir, MIDFIELD_CONNECT_BATCH_SIZE="4")
    args = ["connect", "fax-log", "--path", str(log), "--instance", unique, "--once"]

    crashed = run_cli(
        args, env | {"MIDFIELD_FAULTS": "connector.before-commit=kill@2"}, cwd=workdir, check=False
    )
    assert crashed.returncode == -signal.SIGKILL
    [offsets] = (workdir / "state").glob("*.json")
    committed = json.loads(offsets.read_text())["position"]["offset"] // len(fax_line(1))
    assert committed == 4  # the first batch; the second was sent, its position never saved
    run_cli(args, env, cwd=workdir)

    source = f"midfield://fax-log/{unique}"
    records = _source_records(catalog_topics, FAX_TOPIC, source)
    assert len(records) == 10 + (10 - committed)  # everything after the position, sent twice
    assert len({r.headers["ce_id"] for r in records}) == 10

    worker = WorkerProcess(catalog_topics, workdir, app_id=f"t-{unique}").start()
    try:
        worker.wait_ready()
        wait_for(lambda: len(_entries(worker, source)) >= 10, timeout=30, what="10 entries")
        time.sleep(2)  # let any re-sent copy still in flight on another partition land
        entries = _entries(worker, source)
        assert len(entries) == 10
        assert len({e["id"] for e in entries}) == 10
    finally:
        worker.stop()


def test_missing_log_with_once_is_a_clear_error(catalog_topics: Broker, workdir: Path) -> None:
    result = run_cli(
        ["connect", "fax-log", "--path", str(workdir / "nope"), "--once"],
        midfield_env(catalog_topics, workdir),
        cwd=workdir,
        check=False,
    )
    assert result.returncode == 1
    assert "error [input-missing]" in result.stderr
