"""Interop with a tool nobody here wrote: Debian's kcat (librdkafka) reads our topics and sees
the CloudEvents binary-mode headers, so any Kafka user can read the bus without our code."""

from __future__ import annotations

import re
import shutil
import subprocess
from contextlib import nullcontext
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.harness import Broker, produce
from tests.kafka_proxy import KafkaProxy
from tests.samples import fax_envelope

KCAT = shutil.which("kcat") or shutil.which("kafkacat")


def librdkafka_version(kcat: str) -> tuple[int, ...]:
    out = subprocess.run([kcat, "-V"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(part) for part in found.groups()) if found else (0, 0, 0)


def kcat_read(kcat: str, bootstrap: str, topic: str) -> str:
    """Every record of ``topic`` as ``key|headers|value`` lines, then exit."""
    args = ["-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k|%h|%s\n"]
    proc = subprocess.run([kcat, *args], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"kcat exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_kcat_consumes_our_topic_and_sees_the_cloudevents_headers(
    catalog_topics: Broker, unique: str
) -> None:
    if KCAT is None:
        pytest.skip("no kcat: `make system-deps` (run by `make test`) installs it")
    commid = f"8{unique[:8]}"
    envelope = fax_envelope(
        commid,
        datetime(2025, 3, 14, 9, 41, tzinfo=ZoneInfo("Asia/Shanghai")),
        source=f"midfield://fax-log/{unique}",
    )
    produce(catalog_topics, [envelope])

    # librdkafka < 2.2.0 misreads the tagged fields of Tansu's ApiVersions answer
    # (docs/brokers.md): on Tansu such a kcat reads through a proxy that drops those
    # default-valued fields; records and headers pass through it untouched.
    needs_proxy = catalog_topics.is_tansu and librdkafka_version(KCAT) < (2, 2, 0)
    with KafkaProxy(catalog_topics.bootstrap) if needs_proxy else nullcontext() as proxy:
        bootstrap = proxy.bootstrap if proxy else catalog_topics.bootstrap
        out = kcat_read(KCAT, bootstrap, envelope.topic)
    if proxy is not None:
        assert "ApiVersions v3" in proxy.rewritten, proxy.rewritten

    [line] = [line for line in out.splitlines() if line.startswith(f"{commid}|")]
    _, headers, value = line.split("|", 2)
    pairs = dict(h.split("=", 1) for h in headers.split(","))
    assert pairs["ce_specversion"] == "1.0"
    assert pairs["ce_type"] == "cn.gov.county.office.fax.received.v1"
    assert pairs["ce_id"] == envelope.id and pairs["ce_subject"] == commid
    assert pairs["content-type"] == "application/json"
    assert value == envelope.value().decode()
