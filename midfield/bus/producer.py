"""The kafka-python producer, wrapped so that every call answers in Midfield's errors.

:meth:`Producer.send` hands a record to the client's buffer and returns its :class:`Delivery`,
the broker's answer to come; :func:`delivery_error` reads a finished one, :meth:`Producer.
acknowledge` waits for a list of them and raises the first failure. What a producer is configured
with (``acks``, batching) is the caller's: the connectors' is :mod:`connectors.runtime.producer`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, cast

from kafka import KafkaProducer

from midfield.bus.errors import TRANSLATED, map_kafka_errors, translate_kafka_error
from midfield.errors import BrokerError

__all__ = ["Delivery", "Producer", "delivery_error"]


class Delivery(Protocol):
    """The broker's answer for one record (kafka-python's ``FutureRecordMetadata``)."""

    is_done: bool
    exception: BaseException | None

    def failed(self) -> bool: ...

    def get(self, timeout: float | None = None) -> Any: ...


def delivery_error(delivery: Delivery) -> BrokerError | None:
    """The translated error of a finished delivery, ``None`` if the broker has the record."""
    if delivery.failed() and delivery.exception is not None:
        return translate_kafka_error(delivery.exception)
    return None


class Producer:
    """A kafka-python ``KafkaProducer`` made from ``config`` (:func:`~midfield.bus.clients.
    client_config`) and ``options`` (its keyword arguments: ``acks``, ``linger_ms``…)."""

    def __init__(self, config: Mapping[str, Any], **options: Any) -> None:
        with map_kafka_errors():
            self.client = KafkaProducer(**config, **options)
        """The client itself: for a benchmark's bare-client baseline, not for production code."""

    def send(
        self,
        topic: str,
        *,
        key: bytes | None = None,
        value: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> Delivery:
        try:  # a plain try, not map_kafka_errors(): this runs once per record
            delivery = self.client.send(topic, key=key, value=value, headers=headers,
                                        partition=partition, timestamp_ms=timestamp_ms)  # fmt: skip
            return cast(Delivery, delivery)
        except TRANSLATED as exc:
            raise translate_kafka_error(exc) from exc

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until every buffered record has its answer (success or failure)."""
        with map_kafka_errors():
            self.client.flush(timeout=timeout_s)

    def acknowledge(self, deliveries: Iterable[Delivery], timeout_s: float) -> None:
        """Flush, then raise the broker's error for the first of ``deliveries`` it did not
        acknowledge (one still unanswered raises ``BrokerUnavailable``)."""
        with map_kafka_errors():
            self.client.flush(timeout=timeout_s)
            for delivery in deliveries:
                delivery.get(timeout=0)

    def close(self, timeout_s: float = 5) -> None:
        with map_kafka_errors():
            self.client.close(timeout=timeout_s)
