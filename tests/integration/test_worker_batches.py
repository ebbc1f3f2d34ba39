"""The live worker's batches (streams/worker/batches.py) in a real worker: catching up, an agent
applies what the consumer fetched in large batches; every event is applied."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from schemas.envelope import Envelope
from schemas.events.audit import Action, AuditRecorded, Outcome
from tests.harness import Broker, WorkerProcess, produce, scrape

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
