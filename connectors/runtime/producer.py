"""The connectors' producer: kafka-python with ``acks=all``, key = subject, errors translated.

Records are buffered by the client and confirmed in :meth:`EventProducer.flush`, which raises
:class:`BrokerUnavailable`/:class:`BrokerRejected` if any record of the batch failed; the runner
then re-sends the whole batch (same ids, so the books apply each once).
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from midfield.admin import client_config
from midfield.errors import map_kafka_errors, translate_kafka_error
from midfield.settings import KafkaSettings
from schemas.envelope import Header

__all__ = ["EventProducer", "OutRecord"]

OutRecord = tuple[str, bytes, bytes, list[Header]]
"""``(topic, key, value, headers)``"""


class EventProducer:
    def __init__(self, kafka: KafkaSettings, **overrides: Any) -> None:
        config = client_config(kafka) | {
            "acks": "all",
            "linger_ms": 5,
            "batch_size": 256 << 10,
            "max_block_ms": kafka.request_timeout_ms,
            # The runner re-sends a failed batch itself; ids make that idempotent downstream.
            "enable_idempotence": False,
            "retries": 3,
        }
        with map_kafka_errors():
            self._producer = KafkaProducer(**(config | overrides))
        self._pending: list[FutureRecordMetadata] = []

    def send(self, record: OutRecord) -> None:
        topic, key, value, headers = record
        with map_kafka_errors():
            self._pending.append(self._producer.send(topic, key=key, value=value, headers=headers))

    def flush(self, timeout_s: float | None = None) -> int:
        """Wait until the broker acknowledged every record sent; return how many."""
        pending, self._pending = self._pending, []
        with map_kafka_errors():
            self._producer.flush(timeout=timeout_s)
        for future in pending:
            if future.failed():
                raise translate_kafka_error(future.exception)
            if not future.is_done:
                raise translate_kafka_error(TimeoutError("record not acknowledged in time"))
        return len(pending)

    def close(self) -> None:
        with map_kafka_errors():
            self._producer.close(timeout=5)
