"""Interop with a tool nobody here wrote: Debian's kcat (librdkafka) reads our topics and sees
the CloudEvents binary-mode headers, so any Kafka user can read the bus without our code."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.harness import Broker, produce
from tests.samples import fax_envelope

KCAT = shutil.which("kcat") or shutil.which("kafkacat")


def test_kcat_consumes_our_topic_and_sees_the_cloudevents_headers(
    catalog_topics: Broker, unique: str
) -> None:
    if KCAT is None:
        pytest.skip("no kcat: `make system-deps` (run by `make test`) installs it")
    if catalog_topics.is_tansu:
        pytest.skip(
            "librdkafka 2.0.2 cannot parse the embedded broker's ApiVersions answer "
            "(docs/brokers.md); runs against Apache Kafka (KAFKA_BOOTSTRAP_SERVERS or "
            "testcontainers)"
        )
    commid = f"8{unique[:8]}"
    envelope = fax_envelope(
        commid,
        datetime(2025, 3, 14, 9, 41, tzinfo=ZoneInfo("Asia/Shanghai")),
        source=f"midfield://fax-log/{unique}",
    )
    produce(catalog_topics, [envelope])

    out = subprocess.run(
        [
            KCAT,
            "-b",
            catalog_topics.bootstrap,
            "-C",
            "-t",
            envelope.topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%k|%h|%s\n",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    [line] = [line for line in out.splitlines() if line.startswith(f"{commid}|")]
    _, headers, value = line.split("|", 2)
    pairs = dict(h.split("=", 1) for h in headers.split(","))
    assert pairs["ce_specversion"] == "1.0"
    assert pairs["ce_type"] == "cn.gov.county.office.fax.received.v1"
    assert pairs["ce_id"] == envelope.id and pairs["ce_subject"] == commid
    assert pairs["content-type"] == "application/json"
    assert value == envelope.value().decode()
