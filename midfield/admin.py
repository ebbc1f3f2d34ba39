"""Broker administration with kafka-python: client settings, readiness, topics from the catalog."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from kafka import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError, for_code

from midfield.errors import BrokerUnavailable, map_kafka_errors
from midfield.settings import KafkaSettings, TopicSettings
from schemas.catalog import TopicSpec, concrete

__all__ = [
    "TopicResult",
    "broker_answers",
    "client_config",
    "create_missing",
    "create_topics",
    "partition_counts",
    "require_broker",
    "topic_configs",
    "wait_for_broker",
]


def client_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Settings every kafka-python client shares, TLS and SASL included when configured.

    The worker's faust/aiokafka clients get the same from ``streams.worker.app.broker_credentials``.
    """
    config: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_list,
        "request_timeout_ms": kafka.request_timeout_ms,
        "client_id": "midfield",
    }
    if kafka.security_protocol == "PLAINTEXT":
        return config
    config["security_protocol"] = kafka.security_protocol
    if kafka.security_protocol.startswith("SASL_"):
        config |= {
            "sasl_mechanism": kafka.sasl_mechanism,
            "sasl_plain_username": kafka.sasl_username,
            "sasl_plain_password": kafka.sasl_password.get_secret_value(),
        }
    if kafka.uses_tls:
        files = {"ssl_cafile": kafka.ssl_cafile, "ssl_certfile": kafka.ssl_certfile,
                 "ssl_keyfile": kafka.ssl_keyfile}  # fmt: skip
        config |= {key: str(path) for key, path in files.items() if path is not None}
        config["ssl_check_hostname"] = True
    return config


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
        with map_kafka_errors():
            admin = KafkaAdminClient(**(config | limits))
            try:
                admin.list_topics()
                return True
            finally:
                admin.close()
    except BrokerUnavailable:
        return False


@dataclass(frozen=True)
class TopicResult:
    name: str
    partitions: int
    outcome: Literal["created", "exists", "mismatch"]
    detail: str = ""


def topic_configs(spec: TopicSpec, topics: TopicSettings) -> dict[str, str]:
    """The topic-level configs a catalog row asks for (``midfield topics create`` and the
    KafkaTopic manifests of ``midfield deploy k8s-topics`` both use these).

    Retention is always explicit: ``retention_days = -1`` means ``retention.ms = -1`` (keep
    forever), not the broker's default (7 days on Apache Kafka).
    """
    if spec.compacted:
        return {"cleanup.policy": "compact"}
    days = topics.retention_days
    return {
        "cleanup.policy": "delete",
        "retention.ms": str(days * 86_400_000) if days >= 0 else "-1",
    }


def _wanted(spec: TopicSpec, topics: TopicSettings) -> dict[str, Any]:
    return {
        "num_partitions": spec.partitions or topics.partitions,
        "replication_factor": topics.replication_factor,
        "configs": topic_configs(spec, topics),
    }


def partition_counts(kafka: KafkaSettings, names: list[str]) -> dict[str, int]:
    """The partition count of each of ``names`` that exists."""
    with map_kafka_errors():
        admin = KafkaAdminClient(**client_config(kafka))
        try:
            return {
                t["name"]: len(t["partitions"])
                for t in admin.describe_topics(names)
                if t.get("error_code", 0) == 0 and t.get("partitions")
            }
        finally:
            admin.close()


def create_missing(kafka: KafkaSettings, wanted: dict[str, dict[str, Any]]) -> set[str]:
    """Create each topic of ``wanted`` (name → kafka-python options); the names created.

    A topic that exists by the time the broker gets the request (another worker, or a client
    the broker let auto-create it, got there first) is no error: it is left as it is and not
    among the names returned. Any other refusal raises.
    """
    if not wanted:
        return set()
    with map_kafka_errors():
        admin = KafkaAdminClient(**client_config(kafka))
        try:
            answer = admin.create_topics(wanted, raise_errors=False)
            created = set()
            for topic in answer["topics"]:
                error = for_code(topic["error_code"])
                if error is TopicAlreadyExistsError:
                    continue
                if topic["error_code"]:
                    raise error(f"{topic['name']}: {topic.get('error_message') or error.message}")
                created.add(topic["name"])
            if created:
                admin.wait_for_topics(sorted(created))
            return created
        finally:
            admin.close()


def create_topics(
    kafka: KafkaSettings,
    topics: TopicSettings,
    specs: Iterable[TopicSpec] | None = None,
) -> list[TopicResult]:
    """Create every catalog topic that does not exist yet; report the ones that differ.

    Idempotent. An existing topic is never altered: a partition count that differs from the
    catalog is reported as ``mismatch`` (changing it would move keys between partitions).
    ``specs`` defaults to the catalog without per-department topics; the command line passes
    :func:`schemas.catalog.concrete` of the configured departments.
    """
    if specs is None:
        specs = concrete()
    wanted = {spec.name: _wanted(spec, topics) for spec in specs}
    existing = partition_counts(kafka, list(wanted))
    created = create_missing(
        kafka, {name: opts for name, opts in wanted.items() if name not in existing}
    )
    if raced := {name for name in wanted if name not in existing and name not in created}:
        existing |= partition_counts(kafka, sorted(raced))
    results = []
    for name, opts in wanted.items():
        want = opts["num_partitions"]
        if name in created:
            results.append(TopicResult(name, want, "created"))
        elif existing[name] != want:
            detail = f"has {existing[name]} partitions, catalog says {want}"
            results.append(TopicResult(name, existing[name], "mismatch", detail))
        else:
            results.append(TopicResult(name, want, "exists"))
    return results
