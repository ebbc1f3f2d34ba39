"""faust's aiokafka transport, with log-end offsets taken from Fetch high watermarks and a
fetch wait that is a setting.

faust's table recovery reads each changelog partition up to ``highwaters()`` (ListOffsets
"latest") and then declares the table recovered. Tansu 0.6 answers ListOffsets with the last
batch's base offset + 1, so unpatched recovery stops early and silently drops the tail of the
last changelog batch (measured: 953 of 1000 updates kept; docs/brokers.md). Here
``_highwaters`` asks the broker's Fetch response instead (:mod:`midfield.bus.watermarks`), which
is right on Tansu and agrees with ListOffsets on Apache Kafka.

The look-up runs in a worker thread with its own kafka-python client: creating an aiokafka
client inside faust's consumer-thread call cancels recovery (research/faust-on-tansu.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.transports import TransportT

from midfield import faults
from midfield.bus.clients import client_config
from midfield.bus.watermarks import end_offsets
from midfield.settings import Settings

__all__ = ["Transport", "fetch_max_wait_ms"]


def fetch_max_wait_ms(settings: Settings) -> int:
    """The worker consumer's fetch wait (``WorkerSettings.fetch_max_wait_ms``): faust hard-codes
    1500 ms, which on the embedded broker is latency (docs/brokers.md)."""
    if settings.worker.fetch_max_wait_ms is not None:
        return settings.worker.fetch_max_wait_ms
    return 100 if settings.kafka.profile == "embedded" else 1500


class HighwaterConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: faust_aiokafka.Transport) -> Any:
        consumer = super()._create_worker_consumer(transport)
        settings = getattr(self.app, "settings", None)
        if settings is not None:  # read by AIOKafkaConsumer.start(), which has not run yet
            consumer._fetch_max_wait_ms = fetch_max_wait_ms(settings)
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        listed = dict(await super()._highwaters(partitions))
        nonzero = [tp for tp, offset in listed.items() if offset]
        if not nonzero:
            return listed
        config = _client_config(self.transport, getattr(self.app, "settings", None))
        fetched = await asyncio.to_thread(
            end_offsets, config, [(tp.topic, tp.partition) for tp in nonzero]
        )
        for tp in nonzero:
            listed[tp] = max(listed[tp], fetched[(tp.topic, tp.partition)])
        return listed


def _client_config(transport: TransportT, settings: Settings | None) -> dict[str, Any]:
    """The app's own client settings (TLS and SASL included); the transport's URLs otherwise."""
    if settings is not None:
        return client_config(settings.kafka) | {"client_id": "midfield-recovery"}
    urls = transport.url if isinstance(transport.url, list) else [transport.url]
    servers = [f"{u.host}:{u.port or faust_aiokafka.Transport.default_port}" for u in urls]
    return {"bootstrap_servers": servers, "client_id": "midfield-recovery"}


class Consumer(faust_aiokafka.Consumer):
    async def perform_seek(self) -> None:
        if delay := faults.delay_s("worker.seek"):
            await asyncio.sleep(delay)
        await super().perform_seek()

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return HighwaterConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = cast(Any, Consumer)
