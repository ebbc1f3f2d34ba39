"""faust's aiokafka transport, with log-end offsets taken from Fetch high watermarks, a fetch
wait that is a setting, and a consumer that commits what the books applied.

faust's table recovery reads each changelog partition up to ``highwaters()`` (ListOffsets
"latest") and then declares the table recovered. Tansu 0.6 answers ListOffsets with the last
batch's base offset + 1, so unpatched recovery stops early and silently drops the tail of the
last changelog batch (measured: 953 of 1000 updates kept; docs/brokers.md). Here
``_highwaters`` asks the broker's Fetch response instead (:mod:`midfield.bus.watermarks`), which
is right on Tansu and agrees with ListOffsets on Apache Kafka.

The look-up runs in a worker thread with its own kafka-python client: creating an aiokafka
client inside faust's consumer-thread call cancels recovery (research/faust-on-tansu.md).

While it catches up, each record fetched goes to faust's conductor without the four tasks
faust makes for it (:mod:`streams.worker.delivery`). The consumer passes each stream partition
through :class:`~streams.worker.sequencer.Sequencer`: it tells it where it sought, seeks back
where it says a record went missing, and commits the offsets it says the books applied, instead
of faust's acknowledgements (docs/brokers.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, cast

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.transports import TransportT
from mode import Service

from midfield import faults, metrics
from midfield.bus.clients import client_config
from midfield.bus.watermarks import end_offsets
from midfield.settings import Settings
from streams.worker.delivery import drain
from streams.worker.sequencer import Rewind, Sequencer

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


class ReadOffsets(dict[TP, int | None]):
    """faust's read offsets, kept only for partitions whose records faust itself puts in order
    (the changelogs it recovers tables from). For a stream partition faust's filter dropped a
    record fetched again after a seek back, whenever the rest of a batch fetched before the seek
    was still being handed on: the :class:`~streams.worker.sequencer.Sequencer` orders those."""

    def __init__(self, sequenced: Callable[[TP], bool]) -> None:
        super().__init__()
        self.sequenced = sequenced

    def __missing__(self, tp: TP) -> None:
        return None

    def __setitem__(self, tp: TP, offset: int | None) -> None:
        if not self.sequenced(tp):
            super().__setitem__(tp, offset)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for tp, offset in dict(*args, **kwargs).items():
            self[tp] = offset


class Consumer(faust_aiokafka.Consumer):
    """faust's consumer, committing what the books applied (:class:`Sequencer`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sequencer = Sequencer()
        self._read_offset = ReadOffsets(self.sequenced)
        if faults.armed("worker.deliver"):
            self.callback = self._deliver_unless_dropped(self.callback)

    def sequenced(self, tp: TP) -> bool:
        """Whether ``tp`` is a stream partition (its offsets committed): an agent reads it."""
        return bool(self.app.topics.acks_enabled_for(tp.topic))

    async def seek(self, partition: TP, offset: int) -> None:
        await super().seek(partition, offset)
        if self.sequenced(partition):
            self.sequencer.expect(partition, offset)

    async def _seek(self, partition: TP, offset: int) -> None:
        """The seek on the consumer thread's own loop. faust calls the thread's aiokafka client
        from this loop, and aiokafka's seek wakes its fetcher through a future of the thread's
        loop, which asyncio allows only from that thread: done from here, the wake-up waits
        until something else wakes that loop (the fetcher sleeps on meanwhile), and asyncio's
        debug mode raises, crashing the consumer."""
        thread = self._thread

        async def seek() -> None:
            thread.seek(partition, offset)

        if asyncio.get_running_loop() is thread.thread_loop:
            await seek()
        else:
            await thread.call_thread(seek)

    async def rewind(self, rewind: Rewind) -> None:
        """Seek back to a record that never reached the books; to the log's start if retention
        deleted it first (said, for it is lost: it was never read)."""
        tp, offset, _ = rewind
        if tp not in self.assignment():
            return
        start = (await self.earliest_offsets(tp)).get(tp, 0)
        if start > offset:
            self.log.error(f"{tp}: offsets {offset}..{start - 1} deleted before they were read")
            offset = start
        self.log.info(f"{tp}@{offset} never reached the books ({rewind.seen} did): read again")
        metrics.REWINDS.labels(tp.topic).inc()
        await self.seek(tp, offset)

    @Service.timer(1.0)
    async def _seek_back_stalled(self) -> None:
        """Each stream partition whose books wait for a record with nothing read after it."""
        if not self.flow_active or self.app.in_recovery:
            return
        for tp in self.assignment():
            if self.sequenced(tp) and tp not in self._paused_partitions:
                rewind = self.sequencer.stalled(tp, self.highwater(tp))
                if rewind is not None:
                    await self.rewind(rewind)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self.sequencer.forget(revoked)
        await super().on_partitions_revoked(revoked)

    def _new_offset(self, tp: TP) -> int | None:
        """A stream partition's: one past the last offset its books applied (faust's acks are
        emptied, unread)."""
        if not self.sequenced(tp):
            return super()._new_offset(tp)
        self._acked[tp].clear()
        self._acked_index[tp].clear()
        return self.sequencer.committable(tp)

    async def _commit(self, offsets: Mapping[TP, int]) -> bool:
        """Commit, unless a changelog record handed over since the last commit was refused
        (streams/worker/sends.py): faust has flushed the client, so every one is settled."""
        sends = getattr(self.app, "changelog_sends", None)
        if sends is not None:
            sends.check()
        return await super()._commit(offsets)

    def _deliver_unless_dropped(self, deliver: Any) -> Any:
        """The fault ``worker.deliver=drop@N``: the N-th stream record read is never handed on,
        as when faust's flow stops mid-delivery (its read offset moves on all the same)."""

        async def deliver_unless_dropped(message: Any) -> None:
            stream = self.app.topics.acks_enabled_for(message.topic)
            parts = [message.value, *(value for _, value in message.headers or ())]
            if stream and faults.drop("worker.deliver", parts):
                self.log.warning(f"fault: {message.tp}@{message.offset} dropped unread")
                return
            await deliver(message)

        return deliver_unless_dropped

    async def perform_seek(self) -> None:
        """faust's seek of every partition to its committed offset; each stream partition's
        sequencer is told, and where nothing was committed, the log's start."""
        if delay := faults.delay_s("worker.seek"):
            await asyncio.sleep(delay)
        await super().perform_seek()
        streams = [tp for tp in self.assignment() if self.sequenced(tp)]
        fresh = [tp for tp in streams if self._committed_offset.get(tp) is None]
        starts = await self.earliest_offsets(*fresh) if fresh else {}
        for tp in streams:
            committed = self._committed_offset.get(tp)
            self.sequencer.expect(tp, starts.get(tp, 0) if committed is None else committed)

    async def _drain_messages(self, fetcher: Any) -> None:
        """Each fetched record to the conductor, without faust's four tasks a record while
        catching up (streams/worker/delivery.py), unless the settings ask for faust's own."""
        settings = getattr(self.app, "settings", None)
        if settings is not None and settings.worker.handover == "faust":
            await super()._drain_messages(fetcher)
        else:
            await drain(self, fetcher)

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return HighwaterConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer = cast(Any, Consumer)
