"""How an HTTP intake hands input to the bus (DESIGN §6, §10).

A request is acknowledged only after the broker has its event (``acks=all``): a broker that is
down raises :class:`BrokerError`, which the serving answers **503** with ``Retry-After``, so the
sender retries and nothing is lost. Malformed input is kept as a dead letter, with no personal
data in clear (connectors/runtime/privacy.py). Apart from the serving
(:mod:`connectors.runtime.http`): this is the part that talks to Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING

from connectors.runtime.privacy import Redactor
from connectors.runtime.producer import EventProducer, OutRecord, delivery_error
from midfield import metrics
from midfield.bus.readiness import broker_answers
from midfield.errors import BrokerError, BrokerUnavailable, ParseError, Rejected
from midfield.logging import Outage, get_logger
from midfield.settings import KafkaSettings
from schemas.catalog import DEADLETTER
from schemas.deadletter import DeadLetter
from schemas.envelope import Envelope

if TYPE_CHECKING:
    from connectors.runtime.http import HttpSource

__all__ = ["Intake"]

log = get_logger(__name__)


class Intake:
    """What handlers use to hand input to the bus. The producer is made lazily and retried, so
    the endpoint serves (503) while the broker is away and recovers by itself."""

    def __init__(self, source: HttpSource, kafka: KafkaSettings, privacy_key: bytes = b"") -> None:
        self.source = source
        self.kafka = kafka
        self.redactor = Redactor(privacy_key or os.urandom(32))
        self._producer: EventProducer | None = None
        self.broker_error: str | None = None
        """Why the broker is unusable (from the last send or probe); ``None`` when it is fine."""

    async def publish(self, *envelopes: Envelope, within_s: float | None = None) -> None:
        """Produce ``envelopes`` and wait until the broker has every one; raises
        :class:`BrokerError` (answered 503 by the middleware) when it cannot, within
        ``within_s`` when given (WeChat wants an answer in 5 s)."""
        records = [(e.topic, e.key(), e.value(), e.headers()) for e in envelopes]
        await self.send(records, within_s=within_s)
        for envelope in envelopes:
            metrics.EVENTS_OUT.labels(envelope.topic, envelope.source).inc()
            metrics.saw_event(envelope.source)

    async def send(self, records: list[OutRecord], *, within_s: float | None = None) -> None:
        """Send and wait, bounded: whatever the client library does while the broker hangs,
        the request is answered (503) within the request timeout plus a second."""
        loop = asyncio.get_running_loop()
        limit = within_s or self.kafka.request_timeout_ms / 1000 + 1
        try:
            await asyncio.wait_for(loop.run_in_executor(None, self._send_and_wait, records), limit)
            self.broker_error = None
        except TimeoutError as exc:
            self.broker_error = f"no acknowledgement in {limit:.0f} s"
            raise BrokerUnavailable(self.broker_error) from exc
        except BrokerError as exc:
            self.broker_error = str(exc)
            raise

    def _send_and_wait(self, records: list[OutRecord]) -> None:
        producer = self._connect()
        deliveries = [producer.send(record) for record in records]
        producer.flush(timeout_s=self.kafka.request_timeout_ms / 1000)
        for delivery in deliveries:
            if not delivery.is_done:
                raise BrokerUnavailable("the broker did not answer in time")
            if delivery.failed():
                raise delivery_error(delivery) or BrokerUnavailable("delivery failed")

    async def watch_broker(self, interval_s: float = 10.0) -> None:
        """Keep :attr:`broker_error` true while idle, for ``/ready``."""
        loop = asyncio.get_running_loop()
        bootstrap = ",".join(self.kafka.bootstrap_list)
        outage = Outage(log.bind(connector=self.source.name))
        while True:
            answers = await loop.run_in_executor(None, broker_answers, self.kafka)
            self.broker_error = None if answers else f"no metadata from {bootstrap}"
            if answers:
                outage.recovered()
            else:
                outage.failed(self.broker_error)
            if answers and self._producer is None:  # connect before the first request needs it
                with contextlib.suppress(BrokerError):
                    await loop.run_in_executor(None, self._connect)
            await asyncio.sleep(interval_s)

    def _connect(self) -> EventProducer:
        if self._producer is None:
            self._producer = EventProducer(self.kafka, linger_ms=5)
        return self._producer

    async def dead_letter(
        self, raw: bytes, error: ParseError, where: str, meta: dict[str, str] | None = None
    ) -> None:
        """Keep input that could not become an event, with the reason, redacted (no personal
        data in clear; best effort: the request is answered 4xx either way)."""
        kept, digest = self.source.redacted(raw, self.redactor), self.redactor.digest(raw)
        letter = DeadLetter.of(
            kept.raw,
            reason=error.reason,
            error=self.redactor.scrubbed(str(error)),
            source=self.source.uri,
            # the body's digest makes the letter's id one per distinct request: a re-sent
            # request is the same letter, two different bad requests are two
            position=f"{where} hmac:{digest[:16]}",
            connector=self.source.name,
            first_seen=self.source.clock(),
            meta=meta or {},
        ).redacted(kept.redaction, size=len(raw), keyed_digest=digest)
        try:
            await self.send([(DEADLETTER, letter.key(), letter.value(), letter.headers())])
        except BrokerError as exc:
            log.error("dead letter lost: broker unavailable", reason=error.reason, error=str(exc))
            return
        metrics.DEAD_LETTERS.labels(error.reason, self.source.name).inc()  # only what was kept

    async def refused(
        self, raw: bytes, error: ParseError, where: str, *, status: int = 422
    ) -> Rejected:
        """Dead-letter ``raw`` for ``error`` and give the refusal to raise: ``status`` with the
        error's reason and message."""
        await self.dead_letter(raw, error, where)
        return Rejected(str(error), reason=error.reason, status=status)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()
