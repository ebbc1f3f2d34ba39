"""The connectors' producer: ``acks=all``, key = subject, errors translated (by
:mod:`midfield.bus.producer`, which it configures).

:meth:`EventProducer.send` hands a record to the client's buffer and returns its
:class:`Delivery`; the runner commits a source position only once every delivery before it
succeeded, and re-sends (same ids, so the books apply each once) when one failed.
"""

from __future__ import annotations

from typing import Any

from midfield.bus.clients import client_config
from midfield.bus.producer import Delivery, Producer, delivery_error
from midfield.settings import KafkaSettings
from schemas.envelope import Header

__all__ = ["Delivery", "EventProducer", "OutRecord", "delivery_error"]

OutRecord = tuple[str, bytes, bytes, list[Header]]
"""``(topic, key, value, headers)``"""


class EventProducer:
    def __init__(self, kafka: KafkaSettings, **overrides: Any) -> None:
        config = client_config(kafka) | {
            "acks": "all",
            # Fill batches: kafka-python's per-request cost is high, and 50 ms is nothing to a
            # fax log. flush() (idle input, end of input) sends at once regardless.
            "linger_ms": 50,
            "batch_size": 256 << 10,
            "max_block_ms": kafka.request_timeout_ms,
            # The runner re-sends a failed batch itself; ids make that idempotent downstream.
            "enable_idempotence": False,
            "retries": 3,
        }
        self._producer = Producer(config | overrides)

    def send(self, record: OutRecord) -> Delivery:
        topic, key, value, headers = record
        return self._producer.send(topic, key=key, value=value, headers=headers)

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until every buffered record has its answer (success or failure)."""
        self._producer.flush(timeout_s)

    def close(self) -> None:
        self._producer.close(timeout_s=5)
