"""`midfield deploy k8s-topics`: one Strimzi KafkaTopic per concrete catalog row, with the
partitions, replicas and configs `midfield topics create` uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from midfield.bus.topics import _wanted
from midfield.cli import cli
from midfield.deploy import kafka_topic, kafka_topics
from midfield.errors import ConfigError
from midfield.settings import TopicSettings
from schemas.catalog import CATALOG, TopicSpec, concrete
from tests.harness import departments_file


def test_one_topic_per_concrete_catalog_row_in_catalog_order() -> None:
    topics = kafka_topics(concrete(["edu", "health"]), TopicSettings())
    names = [t["metadata"]["name"] for t in topics]
    assert names == [spec.name for spec in concrete(["edu", "health"])]
    assert "office.outbox.edu.v1" in names and "office.outbox.<department>.v1" not in names
    assert {t["spec"]["topicName"] for t in topics} == set(names)


def test_partitions_replicas_and_configs_are_those_topics_create_uses() -> None:
    settings = TopicSettings(partitions=12, replication_factor=3, retention_days=-1)
    pinned = TopicSpec(name="office.test.pinned.v1", key="k", description="d", partitions=2)
    for spec in (*concrete(["edu"]), pinned):
        topic = kafka_topic(spec, settings, cluster="midfield")
        wanted = _wanted(spec, settings)
        assert topic["spec"]["partitions"] == wanted["num_partitions"]
        assert topic["spec"]["replicas"] == wanted["replication_factor"] == 3
        assert topic["spec"]["config"] == wanted["configs"]
    assert kafka_topic(pinned, settings, cluster="m")["spec"]["partitions"] == 2


def test_retention_forever_is_explicit_not_the_brokers_seven_day_default() -> None:
    [fax] = kafka_topics(concrete()[:1], TopicSettings(retention_days=-1))
    assert fax["spec"]["config"]["retention.ms"] == "-1"
    [fax] = kafka_topics(concrete()[:1], TopicSettings(retention_days=30))
    assert fax["spec"]["config"]["retention.ms"] == str(30 * 86_400_000)


def test_topics_belong_to_the_named_strimzi_cluster() -> None:
    [topic] = kafka_topics(concrete()[:1], TopicSettings(), cluster="county-kafka")
    assert topic["apiVersion"] == "kafka.strimzi.io/v1" and topic["kind"] == "KafkaTopic"
    assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "county-kafka"


def test_a_template_row_is_refused() -> None:
    template = next(spec for spec in CATALOG if spec.per_department)
    with pytest.raises(ConfigError):
        kafka_topic(template, TopicSettings(), cluster="midfield")


def test_command_writes_the_topics_of_the_departments_file(tmp_path: Path) -> None:
    directory = departments_file(tmp_path / "departments.toml", {"edu": "k1", "water": "k2"})
    result = CliRunner().invoke(
        cli,
        ["deploy", "k8s-topics", "--departments-file", str(directory), "--out", str(tmp_path)],
        env={
            "MIDFIELD_TOPICS_REPLICATION_FACTOR": "3",
            "MIDFIELD_TOPICS_PARTITIONS": "6",
            "MIDFIELD_DEPARTMENTS_MIN_KEY_LENGTH": "1",  # the keys here are short to read
        },
    )
    assert result.exit_code == 0, result.output
    written = list(yaml.safe_load_all((tmp_path / "topics.yaml").read_text()))
    settings = TopicSettings(partitions=6, replication_factor=3)
    assert written == kafka_topics(concrete(["edu", "water"]), settings)


def test_command_prints_yaml_without_out() -> None:
    result = CliRunner().invoke(
        cli, ["deploy", "k8s-topics"], env={"MIDFIELD_DEPARTMENTS_FILE": None}
    )
    assert result.exit_code == 0, result.output
    printed = [d for d in yaml.safe_load_all(result.output) if d]
    assert [d["metadata"]["name"] for d in printed] == [s.name for s in concrete()]
