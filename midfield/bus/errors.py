"""The one boundary where Kafka client errors become Midfield's (HTTPX ``_exceptions.py`` style).

Every error class of kafka-python and aiokafka, and the socket errors ``TimeoutError`` and
``ConnectionError`` under them, becomes a :class:`~midfield.errors.BrokerUnavailable` (transient:
retry with backoff) or a :class:`~midfield.errors.BrokerRejected` (permanent for this request),
raised ``from`` the original and with a ``reason`` named after it (``kafka-timeout``). The error
classes live in :mod:`midfield.errors`; only this package calls :func:`map_kafka_errors`, around
each call it makes into a client (tests/unit/test_errors.py proves none leaks through).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiokafka.errors
import kafka.errors

from midfield.errors import BrokerError, BrokerRejected, BrokerUnavailable, MidfieldError

__all__ = ["TRANSLATED", "map_kafka_errors", "translate_kafka_error"]

_KAFKA_BASES: tuple[type[BaseException], ...] = (
    kafka.errors.KafkaError,
    aiokafka.errors.KafkaError,
)

TRANSLATED: tuple[type[BaseException], ...] = (*_KAFKA_BASES, TimeoutError, ConnectionError)
"""What :func:`translate_kafka_error` takes: for a plain ``try`` where a ``with`` per call costs
too much (a producer's ``send``, once per record)."""


def _reason_for(exc: BaseException) -> str:
    # KafkaTimeoutError -> kafka-timeout, not kafka-kafka-timeout
    name = type(exc).__name__.removesuffix("Error")
    name = name.removeprefix("Kafka") or name
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("-")
        out.append(ch.lower())
    return "kafka-" + "".join(out)


def _is_transient(exc: BaseException) -> bool:
    if getattr(exc, "retriable", False):
        return True
    transient = (
        kafka.errors.KafkaConnectionError,
        kafka.errors.KafkaTimeoutError,
        kafka.errors.NodeNotReadyError,
        kafka.errors.MetadataEmptyBrokerList,
        aiokafka.errors.KafkaConnectionError,
        aiokafka.errors.NoBrokersAvailable,
        aiokafka.errors.KafkaTimeoutError,
        aiokafka.errors.NodeNotReadyError,
        aiokafka.errors.ProducerClosed,
        TimeoutError,
        ConnectionError,
    )
    return isinstance(exc, transient)


def translate_kafka_error(exc: BaseException) -> BrokerError:
    """Return the Midfield error for a Kafka client (or socket) error."""
    cls = BrokerUnavailable if _is_transient(exc) else BrokerRejected
    name = type(exc).__name__
    try:
        message = str(exc) or name
    except AttributeError:  # aiokafka's BrokerResponseError.__str__ needs a class errno
        message = name
    if not message.startswith(name):
        message = f"{name}: {message}"
    return cls(message, reason=_reason_for(exc))


@contextmanager
def map_kafka_errors() -> Iterator[None]:
    """Translate every aiokafka/kafka-python error raised inside the block."""
    try:
        yield
    except MidfieldError:
        raise
    except TRANSLATED as exc:
        raise translate_kafka_error(exc) from exc
