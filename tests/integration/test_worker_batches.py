"""The live worker's batches (streams/worker/intake.py) in a real worker: catching up, the intake
applies what the consumer fetched in large batches; every event is applied, once, even when
applying a batch fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from midfield.bus.changelog import fold
from schemas.envelope import Envelope
from schemas.events.audit import Action, AuditRecorded, Outcome
from tests.harness import Broker, WorkerProcess, produce, read_topic, scrape

BACKLOG = 2000
TOPIC = AuditRecorded.topic


def _record(n: int, unique: str) -> Envelope:
    at = datetime.now(UTC)
    event = AuditRecorded(principal=f"system:batch-{unique}", service="test", action=Action.read,
                          method="GET", route="/items/{commid}", target=f"F{n}",
                          outcome=Outcome.allowed, status=200, at=at)  # fmt: skip
    return Envelope.wrap(event, source="midfield://test/batches", position=f"{unique}/{n}",
                         subject=f"{at.date()}/system:batch-{unique}", time=at)  # fmt: skip


def _batches(worker: WorkerProcess) -> tuple[float, float]:
    """(batches, events) the worker's audit agent applied so far."""
    samples = scrape(worker.url + "/metrics")
    labels = (("topic", TOPIC),)
    return (samples.get(("midfield_worker_batch_events_count", labels), 0.0),
            samples.get(("midfield_worker_batch_events_sum", labels), 0.0))  # fmt: skip


def test_a_backlog_is_applied_in_batches_of_what_was_fetched(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    produce(catalog_topics, [_record(n, unique) for n in range(BACKLOG)])
    worker = WorkerProcess(catalog_topics, workdir, app_id=f"batches-{unique}").start()
    try:
        worker.wait_ready()
        batches, events = worker.wait(
            lambda: (found := _batches(worker))[1] >= BACKLOG and found,
            timeout=120,
            what=f"the audit agent applied the {BACKLOG} records of the backlog",
        )
    finally:
        worker.stop()
    # one by one would be BACKLOG batches; faust's consumer fetches hundreds at a time
    assert batches <= events / 10, f"{events:.0f} events in {batches:.0f} batches"


def _audit_book(broker: Broker, app_id: str, key: str) -> dict[str, Any] | None:
    records = read_topic(broker, f"{app_id}-audit-changelog", timeout=30)
    books = fold((json.loads(r.key or b"null"), json.loads(r.value) if r.value else None)
                 for r in records)  # fmt: skip  # changelog keys are JSON strings
    return books.get(key)


def test_a_batch_that_fails_is_read_again_and_applied_once(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    """The first batch raises after its side effects (``worker.effects-sent=raise@1``): the
    intake says so, takes events again a moment later and applies every one, once (without its
    retry the intake's task ended there and nothing more was ever applied)."""
    records = [_record(n, unique) for n in range(300)]
    produce(catalog_topics, records)
    app_id = f"batch-fails-{unique}"
    faults = {"MIDFIELD_FAULTS": "worker.effects-sent=raise@1"}
    worker = WorkerProcess(catalog_topics, workdir, app_id=app_id, env_extra=faults).start()
    try:
        worker.wait_ready()
        worker.wait(
            lambda: "a batch was not applied" in worker.log_tail(200_000),
            timeout=60,
            what="the first batch to fail",
        )
        key = records[0].subject
        book = worker.wait(
            lambda: (b := _audit_book(catalog_topics, app_id, key)) and b["total"] >= 300 and b,
            timeout=120,
            what="the audit book to count the 300 records",
        )
    finally:
        worker.stop()
    assert book["total"] == 300, book["total"]
    assert "fault: worker.effects-sent raised at pass 1" in worker.log_tail(200_000)
