"""The department sink: ``office.outbox.<code>.v1`` -> that department's signed webhook.

Each record is POSTed as a CloudEvent in structured mode (``application/cloudevents+json``),
signed in the Standard Webhooks style (https://www.standardwebhooks.com/). ``webhook-id`` is the
event id, so a re-delivery after a crash carries the same id and the receiver can de-duplicate.

* 2xx: delivered.
* 408, 429, 5xx, no answer (refused, reset, timed out): tried again after ``backoff_first_s``,
  doubling up to ``backoff_max_s``, ``attempts`` times in all; then a dead letter
  ``delivery-failed``.
* any other answer (4xx; 3xx, as redirects are not followed): a dead letter
  ``delivery-rejected`` at once. A record that is not a CloudEvent: ``not-cloudevent``; one
  whose id cannot be a header: ``bad-event-id``.

The group's offset moves past a record only after a 2xx or once the broker has its dead letter.
Records of a partition go out in order: a record waiting for its retry pauses its partition while
the others go on, and the consumer keeps polling, so it stays in its group. The receiver's side is
docs/departments.md, "Receiving work: signed webhooks". How a sink is run (its broker clients,
waited for, and its metrics) is :mod:`connectors.sinks.department_runner`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

from connectors.runtime.producer import EventProducer, delivery_error
from connectors.runtime.runner import Backoff
from connectors.sinks.webhook import (
    Answer,
    Deliver,
    Verdict,
    judge,
    post,
    retry_delay,
    signed_headers,
    structured,
)
from midfield import faults
from midfield.bus.consumer import Consumer, TopicPartition
from midfield.clock import Clock, utc_now
from midfield.departments import Directory
from midfield.errors import BrokerError, BrokerUnavailable, ConfigError, ParseError
from midfield.logging import get_logger
from midfield.settings import Settings
from schemas.catalog import DEADLETTER, outbox
from schemas.deadletter import DeadLetter

__all__ = ["CONNECTOR", "DepartmentSink", "OnOutcome", "SinkStats", "Target"]

log = get_logger(__name__)

CONNECTOR = "department-sink"


@dataclass(frozen=True)
class Target:
    """Where one department's work goes, and the secret it is signed with."""

    code: str
    url: str
    webhook: Webhook = field(repr=False)

    @property
    def source(self) -> str:
        return f"midfield://sink/{self.code}"

    @classmethod
    def of(cls, directory: Directory, code: str) -> Target:
        """The department ``code`` of the directory; ``ConfigError`` if it has no webhook."""
        department = directory.departments.get(code)
        if department is None:
            raise ConfigError(f"department {code!r} is not in the departments file",
                              reason="unknown-department")  # fmt: skip
        if department.webhook_url is None or department.webhook_secret is None:
            raise ConfigError(f"department {code!r} needs webhook_url and webhook_secret in the "
                              "departments file", reason="no-webhook")  # fmt: skip
        try:
            webhook = Webhook(department.webhook_secret.get_secret_value())
        except (ValueError, EmptyWebhookSecretError):  # not from the exception: it holds the key
            raise ConfigError(f"the webhook_secret of {code!r} is not whsec_ + base64",
                              reason="bad-webhook-secret") from None  # fmt: skip
        return cls(code, str(department.webhook_url), webhook)


@dataclass
class SinkStats:
    outcomes: Counter[str] = field(default_factory=Counter)  # delivered, retried, dead_letter
    dead_by_reason: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.outcomes["delivered"],
            "retried": self.outcomes["retried"],
            "dead_letters": self.outcomes["dead_letter"],
            "dead_by_reason": dict(self.dead_by_reason),
        }


OnOutcome = Callable[[str, str, SinkStats], None]
"""Called with ``(outcome, dead-letter reason or "", stats)`` after every attempt's outcome."""


@dataclass
class _Pending:
    """A record being worked on; ``letter`` is set once it is to become a dead letter."""

    record: Any  # kafka-python's ConsumerRecord
    first_seen: datetime
    attempts: int = 0
    due: float = 0.0  # time.monotonic() of the next step
    letter: DeadLetter | None = None
    broker_errors: int = 0


class DepartmentSink:
    """Delivers one department's outbox until ``stop`` is set (see the module docstring)."""

    def __init__(self, target: Target, consumer: Consumer, producer: EventProducer,
                 settings: Settings, *, stop: threading.Event | None = None,
                 clock: Clock = utc_now, deliver: Deliver = post,
                 on_outcome: OnOutcome | None = None) -> None:  # fmt: skip
        self.target, self.consumer, self.producer = target, consumer, producer
        self.settings, self.kafka = settings.sink, settings.kafka
        self.stop = stop or threading.Event()
        self.clock, self.deliver, self.on_outcome = clock, deliver, on_outcome
        self.backoff = Backoff.of(settings.kafka)
        self.stats = SinkStats()
        self.log = log.bind(connector=CONNECTOR, department=target.code)
        self._queues: dict[TopicPartition, deque[_Pending]] = {}
        consumer.subscribe([outbox(target.code)], on_revoked=self.forget)

    def run(self) -> SinkStats:
        self.log.info("delivering", topic=outbox(self.target.code), url=self.target.url)
        while not self.stop.is_set():
            self._fetch()
            for tp in list(self._queues):
                self._step(tp)
        return self.stats

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Partitions gone in a rebalance: their new owner resumes at the committed offset."""
        for tp in partitions:
            self._queues.pop(tp, deque()).clear()

    def _fetch(self) -> None:
        batches = self.consumer.poll(timeout_ms=self._wait_ms())
        for tp, records in batches.items():
            now = self.clock()
            self._queues.setdefault(tp, deque()).extend(_Pending(r, now) for r in records)
            self.consumer.pause(tp)  # nothing more from it until these are settled, in order

    def _wait_ms(self) -> int:
        """Until the next retry is due; at most 0.5 s, so that ``stop`` is noticed."""
        now = time.monotonic()
        due = min((queue[0].due for queue in self._queues.values()), default=now + 0.5)
        return int(max(0.0, min(due - now, 0.5)) * 1000)

    def _step(self, tp: TopicPartition) -> None:
        """One step for the partition's first record, if it is due. One at a time: the consumer
        is polled between steps, so it stays in its group however slow the endpoint is."""
        queue = self._queues[tp]
        if queue[0].due > time.monotonic() or not self._settle(queue[0]):
            return
        self._commit(tp, queue.popleft().record)
        if not queue:
            del self._queues[tp]
            self.consumer.resume(tp)

    def _settle(self, pending: _Pending) -> bool:
        """One step for a record: True once it is delivered or the broker has its dead letter."""
        if pending.letter is None and self._attempt(pending):
            return True
        return pending.letter is not None and self._send_letter(pending.letter, pending)

    def _attempt(self, pending: _Pending) -> bool:
        """POST the record once: True if delivered; else its retry or its dead letter is set."""
        try:
            event_id, body = structured(pending.record.headers, pending.record.value)
        except ParseError as exc:
            pending.letter = self._letter(pending, exc.reason, str(exc), event_id="")
            return False
        pending.attempts += 1
        headers = signed_headers(self.target.webhook, event_id, body, self.clock())
        answer = self.deliver(self.target.url, body.encode(), headers, self.settings.timeout_s)
        verdict = judge(answer.status, pending.attempts, self.settings.attempts)
        if verdict is Verdict.delivered:
            self._count("delivered")
        elif verdict is Verdict.retry:
            self._retry_later(pending, answer, event_id)
        else:
            pending.letter = self._letter(pending, verdict.value, str(answer), event_id)
        return verdict is Verdict.delivered

    def _retry_later(self, pending: _Pending, answer: Answer, event_id: str) -> None:
        delay = retry_delay(self.settings, pending.attempts)
        pending.due = time.monotonic() + delay
        self.log.warning("delivery failed, will retry", answer=str(answer), event_id=event_id,
                         attempt=pending.attempts, retry_in_s=round(delay, 3))  # fmt: skip
        self._count("retried")

    def _letter(self, pending: _Pending, reason: str, error: str, event_id: str) -> DeadLetter:
        record = pending.record
        letter = DeadLetter.of(record.value or b"", reason=reason, error=error,
                               source=self.target.source, connector=CONNECTOR,
                               position=f"{record.topic}/{record.partition}@{record.offset}",
                               first_seen=pending.first_seen, attempts=max(pending.attempts, 1),
                               meta={"webhook_url": self.target.url,
                                     "ce_id": event_id})  # fmt: skip
        self.log.warning("dead letter", reason=reason, error=error, position=letter.position)
        return letter

    def _send_letter(self, letter: DeadLetter, pending: _Pending) -> bool:
        """Produce the dead letter: True once the broker has it, else try again after a back-off."""
        error = self._produce(letter)
        if error is None:
            self._count("dead_letter", letter.reason)
            return True
        if not isinstance(error, BrokerUnavailable):
            raise error  # permanent (too large, not authorised): stop, keep the position
        delay = self.backoff.delay(pending.broker_errors)
        pending.broker_errors += 1
        pending.due = time.monotonic() + delay
        self.log.warning("broker unavailable, dead letter not written yet", error=str(error),
                         retry_in_s=round(delay, 3))  # fmt: skip
        return False

    def _produce(self, letter: DeadLetter) -> BrokerError | None:
        try:
            delivery = self.producer.send((DEADLETTER, letter.key(), letter.value(),
                                           letter.headers()))  # fmt: skip
            self.producer.flush(self.kafka.request_timeout_ms / 1000)
        except BrokerUnavailable as exc:
            return exc
        if not delivery.is_done:
            return BrokerUnavailable("the broker did not answer for the dead letter")
        return delivery_error(delivery)

    def _commit(self, tp: TopicPartition, record: Any) -> None:
        """Move the group past ``record``; if that fails it may only come again (same id)."""
        faults.point("sink.before-commit")
        try:
            self.consumer.commit({tp: record.offset + 1}, timeout_ms=self.kafka.request_timeout_ms)
        except BrokerError as exc:
            self.log.warning("commit failed; the record may be delivered again", error=str(exc),
                             partition=tp.partition, offset=record.offset)  # fmt: skip

    def _count(self, outcome: str, reason: str = "") -> None:
        self.stats.outcomes[outcome] += 1
        if reason:
            self.stats.dead_by_reason[reason] += 1
        if self.on_outcome:
            self.on_outcome(outcome, reason, self.stats)
