"""The connector runtime: read -> parse -> produce (event or dead letter) -> commit position.

Records are sent as soon as they are parsed, in batches of ``batch_size``. A full batch goes
*in flight* and reading goes on; a batch's position is saved once the broker acknowledged every
record of it and of the batches before it, so the reader never stalls on a round trip. When the
input is idle or ends, everything in flight is flushed and committed. A broker error re-sends
every batch still in flight after a back-off (same ids: the books apply each once); the position
never moves past a record the broker has not got.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.runtime.offsets import OffsetStore
from connectors.runtime.producer import Delivery, EventProducer, OutRecord, delivery_error
from connectors.runtime.source import Position, RawRecord, Skip, Source
from midfield import faults
from midfield.errors import BrokerError, BrokerUnavailable, ParseError
from midfield.logging import Outage, get_logger
from midfield.settings import KafkaSettings, Settings
from schemas.catalog import DEADLETTER
from schemas.deadletter import DeadLetter

__all__ = ["Backoff", "RunStats", "Runner", "run_source"]

log = get_logger(__name__)


@dataclass
class RunStats:
    read: int = 0
    events: int = 0
    dead_letters: int = 0
    committed: int = 0
    retries: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    dead_by_reason: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "events": self.events,
            "dead_letters": self.dead_letters,
            "committed": self.committed,
            "retries": self.retries,
            "skipped": dict(self.skipped),
            "dead_by_reason": dict(self.dead_by_reason),
        }


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off with full jitter, capped."""

    first_s: float = 0.5
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_s, self.first_s * 2**attempt))

    @classmethod
    def of(cls, kafka: KafkaSettings) -> Backoff:
        return cls(kafka.retry_backoff_s, kafka.retry_backoff_max_s)


@dataclass
class _Batch:
    """Records sent together, and the source position that follows the last of them."""

    records: list[OutRecord] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    resume: Position | None = None

    def settled(self) -> bool:
        return all(d.is_done for d in self.deliveries)

    def error(self) -> BrokerError | None:
        if len(self.deliveries) < len(self.records):  # a send was refused outright
            return BrokerUnavailable("record not handed to the producer")
        return next(filter(None, map(delivery_error, self.deliveries)), None)


class Runner:
    """Runs one source into the bus until its input ends or ``stop`` is set."""

    def __init__(
        self,
        source: Source,
        producer: EventProducer,
        store: OffsetStore,
        *,
        batch_size: int = 500,
        backoff: Backoff | None = None,
        stop: threading.Event | None = None,
        on_commit: Callable[[RunStats], None] | None = None,
    ) -> None:
        self.source = source
        self.producer = producer
        self.store = store
        self.batch_size = batch_size
        self.backoff = backoff or Backoff()
        self.stop = stop or threading.Event()
        self.on_commit = on_commit
        self.stats = RunStats()
        self.log = log.bind(connector=source.name, source=source.uri)
        self.outage = Outage(self.log)
        self._open = _Batch()
        self._in_flight: deque[_Batch] = deque()

    def run(self, *, follow: bool) -> RunStats:
        reader = self.source.read(self.store.load(), follow=follow)
        try:
            for record in reader:
                if record is None:
                    self._drain()
                else:
                    self._take(record)
                if self.stop.is_set():
                    break
            self._drain()
        finally:
            reader.close()
        return self.stats

    def _take(self, record: RawRecord) -> None:
        outs = self._convert(record)
        self._open.resume = record.resume
        self._open.records.extend(outs)  # all of them first: a failed send re-sends the batch
        for out in outs:
            try:
                self._open.deliveries.append(self.producer.send(out))
            except BrokerUnavailable as exc:
                self.outage.failed(exc)
                self._drain()
                return
        if len(self._open.records) >= self.batch_size:
            self._launch()
            self._commit_settled()

    def _launch(self) -> None:
        """The open batch goes in flight; a new one opens."""
        if self._open.resume is not None:
            self._in_flight.append(self._open)
        self._open = _Batch()

    def _commit_settled(self) -> None:
        """Commit, oldest first, every in-flight batch the broker has answered in full."""
        while self._in_flight and self._in_flight[0].settled():
            if self._in_flight[0].error() is not None:
                self._resend_in_flight()
                return
            self._commit(self._in_flight.popleft())

    def _drain(self) -> None:
        """Idle or done: wait for every answer, then commit everything read so far."""
        self._launch()
        if not self._in_flight:
            return
        try:
            self.producer.flush()
        except BrokerUnavailable:
            self._resend_in_flight()
            return
        self._commit_settled()
        if self._in_flight:  # an answer was a failure
            self._resend_in_flight()

    def _resend_in_flight(self) -> None:
        """Re-send every batch in flight, with back-off, until the broker has them all."""
        attempt = 0
        while True:
            errors = [e for e in (b.error() for b in self._in_flight) if e is not None]
            if not errors:
                break
            if any(not isinstance(e, BrokerUnavailable) for e in errors):
                raise errors[0]  # permanent (too large, not authorised): stop, keep the position
            delay = self.backoff.delay(attempt)
            self.outage.failed(errors[0], batches=len(self._in_flight))
            if self.stop.wait(delay):
                raise errors[0]
            attempt += 1
            self.stats.retries += 1
            self._send_again()
        self.outage.recovered()
        while self._in_flight:
            self._commit(self._in_flight.popleft())

    def _send_again(self) -> None:
        try:
            for batch in self._in_flight:
                batch.deliveries = []
                for out in batch.records:
                    batch.deliveries.append(self.producer.send(out))
            self.producer.flush()
        except BrokerUnavailable as exc:
            self.outage.failed(exc)

    def _commit(self, batch: _Batch) -> None:
        assert batch.resume is not None
        faults.point("connector.before-commit")
        self.store.commit(batch.resume)
        self.source.committed(batch.resume)
        self.stats.committed += len(batch.records)
        if self.on_commit:
            self.on_commit(self.stats)

    def _convert(self, record: RawRecord) -> list[OutRecord]:
        self.stats.read += 1
        try:
            result = self.source.parse(record)
        except ParseError as exc:
            return [self._dead_letter(record, exc)]
        if isinstance(result, Skip):
            self.stats.skipped[result.reason] += 1
            return []
        events = result if isinstance(result, list) else [result]
        self.stats.events += len(events)
        return [(e.topic, e.key(), e.value(), e.headers()) for e in events]

    def _dead_letter(self, record: RawRecord, exc: ParseError) -> OutRecord:
        self.stats.dead_letters += 1
        self.stats.dead_by_reason[exc.reason] += 1
        letter = DeadLetter.of(
            record.raw,
            reason=exc.reason,
            error=str(exc),
            source=self.source.uri,
            position=record.where,
            connector=self.source.name,
            first_seen=self.source.clock(),
            meta=record.meta,
        )
        self.log.warning("dead letter", reason=exc.reason, position=record.where)
        return (DEADLETTER, letter.key(), letter.value(), letter.headers())


def run_source(
    source: Source,
    settings: Settings,
    *,
    follow: bool,
    stop: threading.Event | None = None,
    on_commit: Callable[[RunStats], None] | None = None,
) -> RunStats:
    """Run ``source`` with a producer and offset store made from ``settings``.

    Connecting retries with back-off until the broker answers (or ``stop`` is set), so a
    connector started before its broker simply waits.
    """
    stop = stop or threading.Event()
    backoff = Backoff.of(settings.kafka)
    outage = Outage(log.bind(connector=source.name))
    attempt = 0
    while True:
        try:
            producer = EventProducer(settings.kafka)
            outage.recovered()
            break
        except BrokerUnavailable as exc:
            outage.failed(exc)
            if stop.wait(backoff.delay(attempt)):
                raise
            attempt += 1
    store = OffsetStore(settings.connect.state_dir, source.name, source.instance)
    runner = Runner(
        source,
        producer,
        store,
        batch_size=settings.connect.batch_size,
        backoff=backoff,
        stop=stop,
        on_commit=on_commit,
    )
    try:
        return runner.run(follow=follow)
    finally:
        producer.close()
