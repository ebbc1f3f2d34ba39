"""The worker consumer's fetch wait: faust hard-codes 1500 ms; Midfield sets it per broker
profile (the embedded broker answers a waiting fetch only when the wait is over, so there the
wait is latency: bench/latency.py, docs/brokers.md) or from ``MIDFIELD_WORKER_FETCH_MAX_WAIT_MS``.
The consumer is the one faust's own factory builds, never started."""

from __future__ import annotations

import pytest

from midfield.settings import KafkaSettings, Settings, WorkerSettings
from streams.worker.app import create_app


@pytest.mark.parametrize(
    ("kafka", "worker", "wait_ms"),
    [
        (KafkaSettings(profile="embedded"), WorkerSettings(), 100),
        (KafkaSettings(profile="kafka"), WorkerSettings(), 1500),
        (KafkaSettings(profile="embedded"), WorkerSettings(fetch_max_wait_ms=20), 20),
        (KafkaSettings(profile="kafka"), WorkerSettings(fetch_max_wait_ms=250), 250),
    ],
)
async def test_the_worker_consumer_waits_as_the_profile_or_the_setting_says(
    kafka: KafkaSettings, worker: WorkerSettings, wait_ms: int
) -> None:
    app = create_app(Settings(kafka=kafka, worker=worker))
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    try:
        assert consumer._fetch_max_wait_ms == wait_ms
    finally:
        await consumer.stop()
