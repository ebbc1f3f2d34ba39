"""The connectors' producer: kafka-python with ``acks=all``, key = subject, errors translated.

:meth:`EventProducer.send` hands a record to the client's buffer and returns its
:class:`Delivery`; the runner commits a source position only once every delivery before it
succeeded, and re-sends (same ids, so the books apply each once) when one failed.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from kafka import KafkaProducer
from kafka.errors import KafkaError

from midfield.admin import client_config
from midfield.errors import BrokerError, map_kafka_errors, translate_kafka_error
from midfield.settings import KafkaSettings
from schemas.envelope import Header

__all__ = ["Delivery", "EventProducer", "OutRecord"]

OutRecord = tuple[str, bytes, bytes, list[Header]]
"""``(topic, key, value, headers)``"""


class Delivery(Protocol):
    """The broker's answer for one record (kafka-python's ``FutureRecordMetadata``)."""

    is_done: bool
    exception: BaseException | None

    def failed(self) -> bool: ...


def delivery_error(delivery: Delivery) -> BrokerError | None:
    """The translated error of a finished delivery, ``None`` if the broker has the record."""
    if delivery.failed() and delivery.exception is not None:
        return translate_kafka_error(delivery.exception)
    return None


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
        with map_kafka_errors():
            self._producer = KafkaProducer(**(config | overrides))

    def send(self, record: OutRecord) -> Delivery:
        topic, key, value, headers = record
        try:  # a plain try, not map_kafka_errors(): this runs once per record
            delivery = self._producer.send(topic, key=key, value=value, headers=headers)
            return cast(Delivery, delivery)
        except (KafkaError, TimeoutError, ConnectionError) as exc:
            raise translate_kafka_error(exc) from exc

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until every buffered record has its answer (success or failure)."""
        with map_kafka_errors():
            self._producer.flush(timeout=timeout_s)

    def close(self) -> None:
        with map_kafka_errors():
            self._producer.close(timeout=5)
