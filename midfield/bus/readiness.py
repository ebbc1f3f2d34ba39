"""Does a broker answer? Commands ask first, so that a missing broker is one line at once
instead of a client retrying for 30 s and logging each try; the embedded broker and the Apache
Kafka lane wait for theirs to boot."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from midfield.bus.clients import admin_client, client_config
from midfield.errors import BrokerUnavailable
from midfield.settings import KafkaSettings

__all__ = ["broker_answers", "require_broker", "wait_for_broker"]


def wait_for_broker(
    bootstrap: str,
    *,
    timeout_s: float = 20.0,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Block until the broker answers a metadata request; ``BrokerUnavailable`` on time-out."""
    deadline = time.monotonic() + timeout_s
    with _quiet("kafka"):  # refused connections are expected while a broker boots
        while time.monotonic() < deadline and alive():
            if _answers(bootstrap):
                return
            time.sleep(0.1)
    raise BrokerUnavailable(f"no metadata from {bootstrap} in {timeout_s:.0f} s")


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def broker_answers(broker: str | KafkaSettings) -> bool:
    """Does the broker answer a metadata request (within 2 s)? ``broker``: a bootstrap list,
    or the settings (then with their TLS and SASL)."""
    with _quiet("kafka"):
        return _answers(broker)


def require_broker(kafka: KafkaSettings) -> None:
    """Fail at once, in one line, when no broker answers within ``bootstrap_timeout_s``:
    commands call this first, instead of letting a client retry for 30 s and log each try."""
    timeout_s = kafka.bootstrap_timeout_s
    with _quiet("kafka"):
        if _answers(kafka, timeout_s=timeout_s):
            return
    raise BrokerUnavailable(
        f"no broker answers at {kafka.bootstrap_servers} (waited {timeout_s:g} s). Start the "
        'embedded one with  eval "$(midfield broker start)"  or set KAFKA_BOOTSTRAP_SERVERS '
        "to your Kafka",
        reason="no-broker",
    )


def _answers(broker: str | KafkaSettings, *, timeout_s: float = 2.0) -> bool:
    config = {"bootstrap_servers": broker} if isinstance(broker, str) else client_config(broker)
    ms = int(timeout_s * 1000)
    limits = {"request_timeout_ms": ms, "bootstrap_timeout_ms": ms}
    try:
        with admin_client(config | limits) as admin:
            admin.list_topics()
            return True
    except BrokerUnavailable:
        return False
