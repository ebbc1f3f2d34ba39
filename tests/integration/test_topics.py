"""`midfield topics create`: the catalog on the broker, idempotently, mismatches reported."""

from __future__ import annotations

from pathlib import Path

from midfield.admin import create_topics
from midfield.settings import TopicSettings
from schemas.catalog import CATALOG, TopicSpec
from tests.harness import Broker, midfield_env, run_cli


def test_second_run_finds_every_topic_existing(catalog_topics: Broker, workdir: Path) -> None:
    result = run_cli(["topics", "create"], midfield_env(catalog_topics, workdir), cwd=workdir)
    outcomes = {line.split()[1]: line.split()[0] for line in result.stdout.splitlines()}
    assert outcomes == {spec.name: "exists" for spec in CATALOG}


def test_new_topic_is_created_with_the_configured_partitions(broker: Broker, unique: str) -> None:
    spec = TopicSpec(name=f"office.test.t{unique}.v1", key="k", description="d", partitions=3)
    [result] = create_topics(broker.kafka_settings(), TopicSettings(), [spec])
    assert (result.outcome, result.partitions) == ("created", 3)


def test_partition_count_differing_from_the_catalog_is_reported(
    broker: Broker, unique: str
) -> None:
    name = f"office.test.m{unique}.v1"
    create_topics(
        broker.kafka_settings(),
        TopicSettings(),
        [TopicSpec(name=name, key="k", description="d", partitions=2)],
    )
    [result] = create_topics(
        broker.kafka_settings(),
        TopicSettings(),
        [TopicSpec(name=name, key="k", description="d", partitions=5)],
    )
    assert result.outcome == "mismatch"
    assert "has 2 partitions" in result.detail
