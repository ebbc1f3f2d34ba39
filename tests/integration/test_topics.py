"""`midfield topics create`: the catalog on the broker, idempotently, mismatches reported."""

from __future__ import annotations

from pathlib import Path

from midfield.bus.topics import create_missing, create_topics
from midfield.settings import TopicSettings
from schemas.catalog import TopicSpec, concrete
from tests.harness import Broker, departments_file, midfield_env, run_cli


def test_second_run_finds_every_topic_existing(catalog_topics: Broker, workdir: Path) -> None:
    result = run_cli(["topics", "create"], midfield_env(catalog_topics, workdir), cwd=workdir)
    outcomes = {line.split()[1]: line.split()[0] for line in result.stdout.splitlines()}
    assert outcomes == {spec.name: "exists" for spec in concrete()}


def test_each_department_in_the_directory_gets_its_outbox(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    directory = departments_file(workdir / "departments.toml", {f"d{unique}": "k"})
    env = midfield_env(catalog_topics, workdir, MIDFIELD_DEPARTMENTS_FILE=str(directory))
    result = run_cli(["topics", "create"], env, cwd=workdir)
    assert f"created  office.outbox.d{unique}.v1" in result.stdout
    assert "<department>" not in result.stdout


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


def test_a_topic_another_process_created_first_is_not_an_error(broker: Broker, unique: str) -> None:
    """The worker and a department sink start together: the sink's consumer (or another
    worker) may create a topic between our look and our create. Apache Kafka then answers
    TOPIC_ALREADY_EXISTS, which once stopped the worker at start."""
    name = f"office.test.r{unique}.v1"
    kafka = broker.kafka_settings()
    options = {"num_partitions": 2, "replication_factor": 1, "configs": {}}
    assert create_missing(kafka, {name: options}) == {name}
    assert create_missing(kafka, {name: options}) == set()
