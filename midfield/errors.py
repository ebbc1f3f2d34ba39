"""Midfield's one error hierarchy.

Every error carries a machine-readable ``reason`` (kebab-case) that dead letters, HTTP answers
and metrics use as their category; ``str(error)`` is the human message.

    MidfieldError              (schemas/errors.py, with ParseError, DecodeError and RuleError)
    ├── ConfigError            a setting is missing or wrong; fail fast at start-up
    ├── ParseError             input that cannot become an event -> dead letter
    │   ├── DecodeError        a record that is no valid Midfield event (schemas/errors.py)
    │   └── NotRedrivable      a dead letter today's parsers do not take again (re-drive)
    ├── RuleError              an event its lifecycle does not allow (schemas/errors.py)
    ├── Rejected               a request refused on purpose (auth, size, policy) -> 4xx
    ├── StoreError             the local offset/document store cannot be read or written
    ├── EmbeddedBrokerError    the embedded Tansu broker cannot be found, started or stopped
    └── BrokerError            anything the Kafka clients raised, translated at one boundary
        ├── BrokerUnavailable  transient: retry with backoff, keep the source position
        └── BrokerRejected     permanent for this request: do not retry the same record

Third-party errors (aiokafka, kafka-python) never travel past :func:`map_kafka_errors`, the one
boundary where they are translated (``raise BrokerUnavailable(...) from exc``); a test proves
that every error class both libraries define is mapped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiokafka.errors
import kafka.errors

from schemas.errors import MidfieldError, ParseError

__all__ = [
    "BrokerError",
    "BrokerRejected",
    "BrokerUnavailable",
    "ConfigError",
    "EmbeddedBrokerError",
    "MidfieldError",
    "NotRedrivable",
    "ParseError",
    "Rejected",
    "StoreError",
    "map_kafka_errors",
    "translate_kafka_error",
]


class ConfigError(MidfieldError):
    default_reason = "config"


class NotRedrivable(ParseError):
    """A dead letter ``midfield replay redrive`` leaves as it is; ``reason`` says why
    (midfield/replay/reparse.py lists them)."""


class Rejected(MidfieldError):
    """A request refused on purpose; ``status`` is the HTTP status to answer with."""

    default_reason = "rejected"

    def __init__(self, message: str, *, reason: str | None = None, status: int = 400) -> None:
        super().__init__(message, reason=reason)
        self.status = status


class StoreError(MidfieldError):
    default_reason = "store"


class EmbeddedBrokerError(MidfieldError):
    default_reason = "embedded-broker"


class BrokerError(MidfieldError):
    default_reason = "broker"


class BrokerUnavailable(BrokerError):
    """Transient: the broker is down, slow or electing a leader. Retry with backoff."""

    default_reason = "broker-unavailable"


class BrokerRejected(BrokerError):
    """Permanent for this request (too large, not authorised, invalid config)."""

    default_reason = "broker-rejected"


_KAFKA_BASES: tuple[type[BaseException], ...] = (
    kafka.errors.KafkaError,
    aiokafka.errors.KafkaError,
)


_TRANSLATED: tuple[type[BaseException], ...] = (*_KAFKA_BASES, TimeoutError, ConnectionError)


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
    except _TRANSLATED as exc:
        raise translate_kafka_error(exc) from exc
