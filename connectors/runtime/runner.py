"""The connector runtime: read -> parse -> produce (event or dead letter) -> commit position.

The loop sends each record as soon as it is parsed and keeps it until the batch is committed:
at a commit point (``batch_size`` records, an idle tick, or the end of input) it waits for the
broker to acknowledge the batch, then saves the source position. A broker error re-sends the
batch after a back-off; the position never moves past a record the broker has not got.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.runtime.offsets import OffsetStore
from connectors.runtime.producer import EventProducer, OutRecord
from connectors.runtime.source import Position, RawRecord, Skip, Source
from midfield import faults
from midfield.errors import BrokerUnavailable, ParseError
from midfield.logging import get_logger
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

    def run(self, *, follow: bool) -> RunStats:
        batch: list[OutRecord] = []
        resume: Position | None = None
        reader = self.source.read(self.store.load(), follow=follow)
        try:
            for record in reader:
                if record is not None:
                    out = self._convert(record)
                    resume = record.resume
                    if out is not None:
                        batch.append(out)
                        if not self._send(out):
                            self._commit(batch, resume, resend=True)
                            batch, resume = [], None
                if (record is None or len(batch) >= self.batch_size) and resume is not None:
                    self._commit(batch, resume)
                    batch, resume = [], None
                if self.stop.is_set():
                    break
            if resume is not None:
                self._commit(batch, resume)
        finally:
            reader.close()
        return self.stats

    def _convert(self, record: RawRecord) -> OutRecord | None:
        self.stats.read += 1
        try:
            result = self.source.parse(record)
        except ParseError as exc:
            return self._dead_letter(record, exc)
        if isinstance(result, Skip):
            self.stats.skipped[result.reason] += 1
            return None
        self.stats.events += 1
        return (result.topic, result.key(), result.value(), result.headers())

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

    def _send(self, out: OutRecord) -> bool:
        """Hand ``out`` to the producer; ``False`` when the broker is unreachable right now."""
        try:
            self.producer.send(out)
        except BrokerUnavailable as exc:
            self.log.warning("broker unavailable while sending", error=str(exc))
            return False
        return True

    def _commit(self, batch: list[OutRecord], resume: Position, *, resend: bool = False) -> None:
        """Wait for the broker to hold ``batch``, then save ``resume``; retry until it does."""
        attempt = 0
        while True:
            try:
                if resend or attempt:
                    for out in batch:
                        self.producer.send(out)
                self.producer.flush()
                break
            except BrokerUnavailable as exc:
                self.stats.retries += 1
                delay = self.backoff.delay(attempt)
                self.log.warning(
                    "broker unavailable, will re-send batch",
                    error=str(exc),
                    records=len(batch),
                    retry_in_s=round(delay, 2),
                )
                if self.stop.wait(delay):
                    raise
                attempt += 1
        faults.point("connector.before-commit")
        self.store.commit(resume)
        self.stats.committed += len(batch)
        if self.on_commit:
            self.on_commit(self.stats)


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
    attempt = 0
    while True:
        try:
            producer = EventProducer(settings.kafka)
            break
        except BrokerUnavailable as exc:
            delay = backoff.delay(attempt)
            log.warning("broker unavailable, retrying", error=str(exc), retry_in_s=round(delay, 2))
            if stop.wait(delay):
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
