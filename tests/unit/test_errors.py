"""The error hierarchy, and the one boundary where Kafka client errors are translated."""

from __future__ import annotations

import inspect

import aiokafka.errors
import kafka.errors
import pytest

from midfield.bus.errors import map_kafka_errors
from midfield.errors import (
    BrokerError,
    BrokerRejected,
    BrokerUnavailable,
    MidfieldError,
    ParseError,
)


def _kafka_error_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for module in (kafka.errors, aiokafka.errors):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, (kafka.errors.KafkaError, aiokafka.errors.KafkaError)):
                found.append(cls)
    return found


def _instance(cls: type[BaseException]) -> BaseException:
    try:
        return cls("boom")
    except TypeError:
        return cls.__new__(cls)


@pytest.mark.parametrize(
    "cls", _kafka_error_classes(), ids=lambda c: f"{c.__module__}.{c.__name__}"
)
def test_no_kafka_client_error_leaks_through_the_boundary(cls: type[BaseException]) -> None:
    with pytest.raises(BrokerError) as caught, map_kafka_errors():
        raise _instance(cls)
    assert isinstance(caught.value.__cause__, cls)
    assert caught.value.reason.startswith("kafka-")


def test_both_client_libraries_are_covered() -> None:
    modules = {cls.__module__ for cls in _kafka_error_classes()}
    assert {"kafka.errors", "aiokafka.errors"} <= modules
    assert len(_kafka_error_classes()) > 50


def test_connection_errors_are_transient() -> None:
    with pytest.raises(BrokerUnavailable) as caught, map_kafka_errors():
        raise kafka.errors.KafkaConnectionError("refused")
    assert caught.value.reason == "kafka-connection"


def test_a_kafka_prefixed_error_name_is_not_doubled_in_its_reason() -> None:
    with pytest.raises(BrokerUnavailable) as caught, map_kafka_errors():
        raise kafka.errors.KafkaTimeoutError("Unable to bootstrap")
    assert caught.value.reason == "kafka-timeout"


def test_authorization_failure_is_permanent() -> None:
    with pytest.raises(BrokerRejected), map_kafka_errors():
        raise kafka.errors.TopicAuthorizationFailedError("no")


def test_midfield_errors_pass_through_unchanged() -> None:
    original = ParseError("bad-date", "field 1")
    with pytest.raises(ParseError) as caught, map_kafka_errors():
        raise original
    assert caught.value is original


def test_parse_error_carries_reason_and_detail() -> None:
    error = ParseError("bad-field-count", "17 fields")
    assert (error.reason, error.detail, str(error)) == (
        "bad-field-count",
        "17 fields",
        "bad-field-count: 17 fields",
    )
    assert isinstance(error, MidfieldError)


def test_unrelated_errors_are_not_swallowed() -> None:
    with pytest.raises(KeyError), map_kafka_errors():
        raise KeyError("x")
