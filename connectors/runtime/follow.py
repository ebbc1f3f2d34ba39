"""Following a topic from its beginning, for HTTP sources that answer from what is on the bus
(the tasks API's task view, the duty API's emergencies): no consumer group, every partition,
every envelope handed to ``take``; ``caught_up`` is set once what was there at the start is read.
:class:`FollowingApi` is what those sources share.
"""

from __future__ import annotations

import contextlib
import threading
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Self, Unpack

from connectors.runtime.deployment import Deployment
from connectors.runtime.http import HttpSource
from connectors.runtime.source import Place, at_office
from midfield.bus.clients import client_config
from midfield.bus.consumer import TopicPartition, probe_consumer
from midfield.bus.watermarks import topic_end_offsets
from midfield.departments import Directory, load_directory
from midfield.errors import BrokerError
from midfield.logging import Outage, get_logger
from midfield.settings import KafkaSettings, Settings
from schemas.envelope import DecodeError, Envelope
from schemas.events.alert import AlertRaised

__all__ = ["FollowingApi", "follow_topic", "following"]

log = get_logger(__name__)


def follow_topic(
    kafka: KafkaSettings,
    topic: str,
    take: Callable[[Envelope], None],
    caught_up: threading.Event,
    stop: threading.Event,
) -> None:
    """Read ``topic`` until ``stop``, retrying while the broker is away (run it in a thread);
    a lost broker is logged once, then once a minute with a count."""
    outage = Outage(log.bind(topic=topic))
    while not stop.is_set():
        try:
            _read(kafka, topic, take, caught_up, stop, outage)
        except BrokerError as exc:
            outage.failed(exc)
            stop.wait(2.0)


def _read(
    kafka: KafkaSettings,
    topic: str,
    take: Callable[[Envelope], None],
    caught_up: threading.Event,
    stop: threading.Event,
    outage: Outage,
) -> None:
    config = client_config(kafka)
    ends = topic_end_offsets(config, [topic])  # true ends: fetch high watermarks
    with probe_consumer(config, auto_offset_reset="earliest") as consumer:
        partitions = [TopicPartition(t, p) for t, p in ends]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        outage.recovered()
        while not stop.is_set():
            for batch in consumer.poll(timeout_ms=500).values():
                for record in batch:
                    with contextlib.suppress(DecodeError):  # the worker dead-letters it
                        take(Envelope.from_record(record.headers, record.value))
            if not caught_up.is_set() and all(
                consumer.position(TopicPartition(t, p)) >= end for (t, p), end in ends.items()
            ):
                log.info("caught up with a topic", topic=topic)
                caught_up.set()


def following(topic: str, *, note: str, port: int) -> Deployment:
    """The service of an API following ``topic``: it writes the topic (and alerts) and reads
    it back."""
    return Deployment(note=note, writes=(topic, AlertRaised.topic), reads=(topic,), port=port)


class FollowingApi(HttpSource):
    """An API of the office's and the departments' keys that answers from its own topic: it
    reads ``follows`` back from the beginning in a thread while it serves (:meth:`take` gets
    each envelope), and is ready once it has read what was there when it started."""

    needs_api_keys = True
    follows: ClassVar[str]
    """The topic read back."""
    reading: ClassVar[str]
    """Why ``/ready`` says no until the topic is read (``reading the … topic``)."""

    def __init__(self, *, directory: Directory, **place: Unpack[Place]) -> None:
        super().__init__(**place)
        self.directory = directory
        self.caught_up = threading.Event()
        self._stop = threading.Event()

    @classmethod
    def from_options(cls, options: Any, settings: Settings) -> Self:
        return cls(
            directory=load_directory(settings.departments), **at_office(options.instance, settings)
        )

    @abstractmethod
    def take(self, envelope: Envelope) -> None:
        """Take an envelope of the topic (read back, or just accepted) into what the API knows."""

    async def start(self, settings: Settings) -> None:
        args = (settings.kafka, self.follows, self.take, self.caught_up, self._stop)
        threading.Thread(
            target=follow_topic, name=f"{self.name}-view", daemon=True, args=args
        ).start()

    async def stop(self) -> None:
        self._stop.set()

    def ready(self) -> tuple[bool, str]:
        if not self.caught_up.is_set():
            return False, self.reading
        return True, "ready"
