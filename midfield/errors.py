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

Third-party errors (aiokafka, kafka-python) never travel past the Kafka package
(:mod:`midfield.bus`): :func:`midfield.bus.errors.map_kafka_errors` is the one place where they
are translated (``raise BrokerUnavailable(...) from exc``); a test proves that every error class
both libraries define is mapped. The classes stay here, so that anyone can catch them without
importing a Kafka client.
"""

from __future__ import annotations

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
