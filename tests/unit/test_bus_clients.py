"""The Kafka package's clients answer in Midfield's errors: a caller of ``midfield.bus`` never
sees a kafka-python error, whether the client refuses its settings, a call, or a record.

No broker is needed: the address is a closed port, and ``api_version`` is given so that a
client does not try to bootstrap while it is made.
"""

from __future__ import annotations

import kafka.errors
import pytest

from midfield.bus.consumer import Consumer, TopicPartition, probe_consumer
from midfield.bus.producer import Producer, delivery_error
from midfield.errors import BrokerRejected, BrokerUnavailable

NOWHERE = {"bootstrap_servers": "127.0.0.1:1", "request_timeout_ms": 1000, "api_version": (2, 5)}


class _Failed:
    """A finished delivery the broker refused: the ``Delivery`` interface, as kafka-python's
    ``FutureRecordMetadata`` has it after a failure."""

    is_done = True

    def __init__(self, exception: BaseException) -> None:
        self.exception = exception

    def failed(self) -> bool:
        return True

    def get(self, timeout: float | None = None) -> None:
        raise self.exception


def test_settings_the_consumer_refuses_raise_broker_rejected() -> None:
    with pytest.raises(BrokerRejected) as caught:
        Consumer(NOWHERE | {"request_timeout_ms": 500})  # must exceed fetch_max_wait_ms
    assert isinstance(caught.value.__cause__, kafka.errors.KafkaConfigurationError)


def test_a_consumer_call_its_client_refuses_raises_broker_rejected() -> None:
    consumer = Consumer(NOWHERE, group_id=None)
    try:
        with pytest.raises(BrokerRejected) as caught:
            consumer.position(TopicPartition("nowhere", 0))  # not assigned
    finally:
        consumer.close()
    assert caught.value.reason == "kafka-illegal-state"


def test_a_client_error_in_a_probe_consumers_block_is_translated() -> None:
    with pytest.raises(BrokerUnavailable), probe_consumer(NOWHERE):
        raise kafka.errors.NodeNotReadyError("still electing")


def test_a_send_with_no_broker_raises_broker_unavailable() -> None:
    producer = Producer(NOWHERE, max_block_ms=300)
    try:
        with pytest.raises(BrokerUnavailable) as caught:
            producer.send("nowhere", value=b"x")
    finally:
        producer.close(timeout_s=1)
    assert caught.value.reason == "kafka-timeout"


def test_a_refused_delivery_reads_as_broker_rejected() -> None:
    error = delivery_error(_Failed(kafka.errors.MessageSizeTooLargeError("too large")))
    assert isinstance(error, BrokerRejected) and error.reason == "kafka-message-size-too-large"
