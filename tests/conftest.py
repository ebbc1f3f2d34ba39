"""Shared fixtures. The broker is chosen as DESIGN §9 says: ``KAFKA_BOOTSTRAP_SERVERS`` if set,
testcontainers' Kafka when a Docker engine answers, the embedded broker otherwise. One broker
per test session (with xdist, per worker process)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from midfield.apache_kafka import ApacheKafka
from midfield.broker import EmbeddedBroker
from midfield.bus.topics import create_topics
from midfield.settings import TopicSettings
from tests.harness import Broker, RunWorker, WorkerProcess


def _docker_engine_runs() -> bool:
    try:
        import docker
        import docker.errors

        docker.from_env(timeout=3).ping()
        return True
    except (ImportError, docker.errors.DockerException, OSError):
        return False


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    profile = os.environ.get("MIDFIELD_KAFKA_PROFILE", "kafka")
    if external and os.environ.get("MIDFIELD_TEST_BROKER") == "apache-kafka":
        yield from _apache_kafka(external, profile, tmp_path_factory)
    elif external:
        yield Broker(external, "external", profile)
    elif _docker_engine_runs():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield Broker(kafka.get_bootstrap_server(), "testcontainers", "kafka")
    else:
        with EmbeddedBroker(tmp_path_factory.mktemp("broker")).running() as status:
            yield Broker(status.bootstrap, "embedded", "embedded")


def _apache_kafka(
    bootstrap: str, profile: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Broker]:
    """`make test-kafka`'s broker for the first xdist worker; a private Apache Kafka (same
    install, same settings) for every further one. As on the embedded lane, each worker process
    has a broker of its own: test workers read the shared catalog topics from the start, so two
    running at once on one broker act on each other's inputs (each proposes its own reminder
    for the other's overdue task, for instance)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if worker == "gw0":
        yield Broker(bootstrap, "apache-kafka", profile)
        return
    with ApacheKafka(tmp_path_factory.mktemp(f"kafka-{worker}")).running() as kafka:
        yield Broker(kafka.bootstrap, "apache-kafka", profile)


@pytest.fixture(scope="session")
def catalog_topics(broker: Broker) -> Broker:
    """The broker with every catalog topic created (as `midfield topics create` does)."""
    create_topics(broker.kafka_settings(), TopicSettings())
    return broker


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def run_worker(catalog_topics: Broker, workdir: Path, unique: str) -> RunWorker:
    """``run_worker(name, directory=None, **settings)``: a ``midfield worker`` on the shared
    broker in the test's ``workdir``, app id ``<name>-<unique>``, with the departments file
    ``directory`` and ``settings`` (``MIDFIELD_…=value``), started and ready for a ``with``
    block (:meth:`WorkerProcess.running`)."""

    def run(
        name: str, directory: Path | None = None, **settings: str
    ) -> AbstractContextManager[WorkerProcess]:
        given = {"MIDFIELD_DEPARTMENTS_FILE": str(directory)} if directory else {}
        worker = WorkerProcess(
            catalog_topics, workdir, f"{name}-{unique}", env_extra=given | settings
        )
        return worker.running()

    return run


@pytest.fixture(scope="module")
def own_broker(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A private broker of the session's kind for one test module (nothing else produces to
    it), with the catalog's topics: a second embedded broker, or a second Apache Kafka in the
    `make test-kafka` lane; the session's broker when that is a cluster we cannot start."""
    if broker.kind == "apache-kafka":
        with ApacheKafka(tmp_path_factory.mktemp("own-kafka")).running() as kafka:
            own = Broker(kafka.bootstrap, "apache-kafka", broker.profile)
            create_topics(own.kafka_settings(), TopicSettings())
            yield own
        return
    if not broker.is_tansu:
        create_topics(broker.kafka_settings(), TopicSettings())
        yield broker
        return
    with EmbeddedBroker(tmp_path_factory.mktemp("own-broker")).running() as status:
        own = Broker(status.bootstrap, "embedded", "embedded")
        create_topics(own.kafka_settings(), TopicSettings())
        yield own
