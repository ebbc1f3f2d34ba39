"""The catalog's topics on the broker: created where missing, their partitions counted, their
configs (retention explicit) shared with the Kubernetes manifests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from kafka.errors import TopicAlreadyExistsError, for_code

from midfield.bus.clients import admin_client, client_config
from midfield.settings import KafkaSettings, TopicSettings
from schemas.catalog import TopicSpec, concrete

__all__ = [
    "CHANGELOG_ROLL",
    "TopicResult",
    "create_missing",
    "create_topics",
    "partition_counts",
    "topic_configs",
]


@dataclass(frozen=True)
class TopicResult:
    name: str
    partitions: int
    outcome: Literal["created", "exists", "mismatch"]
    detail: str = ""


CHANGELOG_ROLL = {
    "segment.ms": str(3_600_000),
    "segment.bytes": str(64 << 20),
    "min.cleanable.dirty.ratio": "0.2",
}
"""The books' changelogs (compacted) roll a segment every hour or 64 MiB and are cleaned once a
fifth of them is superseded: Kafka never compacts the active segment, so with its defaults (7
days, 1 GiB) a restart read the whole week's history. A recovery reads about the books' size
plus an hour of writes (docs/deploy.md)."""


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
    with admin_client(client_config(kafka)) as admin:
        return {
            t["name"]: len(t["partitions"])
            for t in admin.describe_topics(names)
            if t.get("error_code", 0) == 0 and t.get("partitions")
        }


def create_missing(kafka: KafkaSettings, wanted: dict[str, dict[str, Any]]) -> set[str]:
    """Create each topic of ``wanted`` (name → kafka-python options); the names created.

    A topic that exists by the time the broker gets the request (another worker, or a client
    the broker let auto-create it, got there first) is no error: it is left as it is and not
    among the names returned. Any other refusal raises.
    """
    if not wanted:
        return set()
    with admin_client(client_config(kafka)) as admin:
        answer = admin.create_topics(wanted, raise_errors=False)
        created = set()
        for topic in answer["topics"]:
            error = for_code(topic["error_code"])
            if error is TopicAlreadyExistsError:
                continue
            if topic["error_code"]:  # raised as the client's error, translated on the way out
                raise error(f"{topic['name']}: {topic.get('error_message') or error.message}")
            created.add(topic["name"])
        if created:
            admin.wait_for_topics(sorted(created))
        return created


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
