"""The Apache Kafka lane's install and configuration, without starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from midfield.apache_kafka import KafkaInstallError, _check_sha512, _server_properties


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return dict(pairs)  # as java.util.Properties reads it: the last of a repeated key wins


def test_a_tarball_with_the_wrong_checksum_is_removed_and_named(tmp_path: Path) -> None:
    tarball = tmp_path / "kafka_2.12-2.3.0.tgz"
    tarball.write_bytes(b"not the Apache release")
    with pytest.raises(KafkaInstallError, match=r"kafka_2\.12-2\.3\.0\.tgz has SHA-512") as caught:
        _check_sha512(tarball)
    assert caught.value.reason == "kafka-checksum"
    assert not tarball.exists()


def test_the_broker_listens_on_loopback_only_with_kafka_s_group_session_minimum(
    tmp_path: Path,
) -> None:
    config = _properties(_server_properties(tmp_path, 9092, 2181, {}))
    assert config["listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert config["zookeeper.connect"] == "127.0.0.1:2181"
    assert "group.min.session.timeout.ms" not in config  # Kafka's own 6 s
    assert config["group.initial.rebalance.delay.ms"] == "0"  # as Kafka's shipped file


def test_an_override_replaces_the_lane_s_value(tmp_path: Path) -> None:
    overrides = {"group.initial.rebalance.delay.ms": "3000"}
    config = _properties(_server_properties(tmp_path, 9092, 2181, overrides))
    assert config["group.initial.rebalance.delay.ms"] == "3000"
