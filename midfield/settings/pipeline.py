"""Settings of the machinery events run through: the Kafka client and its consumer-group
timings, the topics, the stream worker, the connectors, the department sink and replay.

What the operators set per deployment (broker, TLS, directories, timeouts), apart from what the
office decides (:mod:`midfield.settings.office`) and who may see what
(:mod:`midfield.settings.access`). The broker address is the standard
``KAFKA_BOOTSTRAP_SERVERS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import (
    AliasChoices,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    model_validator,
)
from pydantic_settings import BaseSettings

from midfield.settings.declaring import settings_config

__all__ = [
    "GROUP_TIMINGS",
    "ConnectorSettings",
    "GroupTimings",
    "KafkaSettings",
    "ReplaySettings",
    "SinkSettings",
    "TopicSettings",
    "WorkerSettings",
]


class GroupTimings(NamedTuple):
    """A consumer group's timings, in seconds (faust's ``broker_*`` settings)."""

    session_timeout: float
    heartbeat_interval: float
    rebalance_timeout: float


GROUP_TIMINGS: dict[str, GroupTimings] = {
    # faust's defaults, which Apache Kafka accepts (group.min.session.timeout.ms is 6 s): a
    # worker killed without leaving holds its partitions until its 60 s session is over.
    "kafka": GroupTimings(60.0, 3.0, 60.0),
    # Tansu answers JoinGroup after session_timeout / 2: 30 s on faust's defaults, 1 s here.
    "embedded": GroupTimings(2.0, 0.5, 4.0),
}


class KafkaSettings(BaseSettings):
    """How to reach the broker, and which timing profile suits it."""

    model_config = settings_config("MIDFIELD_KAFKA_")

    bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS", "MIDFIELD_KAFKA_BOOTSTRAP_SERVERS"
        ),
        description="Comma-separated host:port list (the standard KAFKA_BOOTSTRAP_SERVERS).",
    )
    profile: Literal["kafka", "embedded"] = Field(
        "kafka",
        description=(
            "'kafka' keeps client timings Apache Kafka accepts; 'embedded' uses the short "
            "session timeouts that make the embedded broker assign partitions in ~2 s "
            "(Kafka refuses sessions under group.min.session.timeout.ms, 6 s by default)."
        ),
    )
    request_timeout_ms: PositiveInt = 30_000
    retry_backoff_s: PositiveFloat = Field(
        0.5, description="First back-off after a broker error; doubles up to retry_backoff_max_s."
    )
    retry_backoff_max_s: PositiveFloat = 30.0
    bootstrap_timeout_s: PositiveFloat = Field(
        5.0,
        description=(
            "How long a command (topics create, worker, replay, a connector) waits for the "
            "broker's first answer before saying that no broker answers at bootstrap_servers."
        ),
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT",
        description=(
            "How clients talk to the broker: PLAINTEXT (laptops, a private compose network), "
            "SSL (TLS, optionally with a client certificate), SASL_PLAINTEXT or SASL_SSL "
            "(user name and password; SASL_SSL in production). Used by every client: "
            "connectors, sinks, the worker, the admin tools (docs/deploy.md)."
        ),
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism (Strimzi's KafkaUser uses SCRAM-SHA-512)."
    )
    sasl_username: str = Field("", description="SASL user name; required with SASL_*.")
    sasl_password: SecretStr = Field(
        SecretStr(""), description="SASL password; required with SASL_*. Never logged."
    )
    ssl_cafile: Path | None = Field(
        None, description="PEM file of the CA that signed the brokers' certificates (TLS)."
    )
    ssl_certfile: Path | None = Field(
        None, description="PEM client certificate, for brokers that authenticate clients by TLS."
    )
    ssl_keyfile: Path | None = Field(None, description="PEM private key of ssl_certfile.")

    @model_validator(mode="after")
    def _security_complete(self) -> KafkaSettings:
        sasl = self.security_protocol.startswith("SASL_")
        if sasl and not (self.sasl_username and self.sasl_password.get_secret_value()):
            raise ValueError(f"{self.security_protocol} needs sasl_username and sasl_password")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("ssl_certfile and ssl_keyfile go together")
        tls_files = (self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile)
        if not self.uses_tls and any(f is not None for f in tls_files):
            raise ValueError(f"ssl_* files given but security_protocol is {self.security_protocol}")
        return self

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def group_timings(self) -> GroupTimings:
        """The worker's consumer-group timings for this profile."""
        return GROUP_TIMINGS[self.profile]

    @property
    def bootstrap_list(self) -> list[str]:
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]


class TopicSettings(BaseSettings):
    """Defaults for topics created from the catalog (a catalog row may override partitions)."""

    model_config = settings_config("MIDFIELD_TOPICS_")

    partitions: Annotated[int, Field(ge=1)] = 4
    replication_factor: Annotated[int, Field(ge=1)] = 1
    retention_days: Annotated[int, Field(ge=-1)] = Field(
        -1, description="Retention of event topics in days; -1 keeps the log forever."
    )


class WorkerSettings(BaseSettings):
    """The stream-processing worker (faust app) and its HTTP server."""

    model_config = settings_config("MIDFIELD_WORKER_")

    app_id: str = Field("midfield", description="Consumer group and changelog prefix.")
    fetch_max_wait_ms: NonNegativeInt | None = Field(
        None,
        description=(
            "How long a fetch may wait at the broker for new records. Default: faust's 1500 ms "
            "with MIDFIELD_KAFKA_PROFILE=kafka (Apache Kafka answers a waiting fetch as soon as "
            "records arrive, so the wait costs no latency) and 100 ms with the embedded profile "
            "(Tansu answers when the wait is over: the wait is latency; docs/brokers.md)."
        ),
    )
    web_host: str = Field("127.0.0.1", description="Bind address of the HTTP server.")
    web_port: Annotated[int, Field(ge=0, le=65535)] = 6066
    store: str = Field(
        "memory://",
        description=(
            "Table store: memory:// (rebuilt from the changelogs at every start) or rocksdb:// "
            "(kept on local disk under data_dir, so a restart only reads the changelog tail; "
            "needs the rocksdb extra: pip install 'midfield[rocksdb]'; docs/deploy.md)."
        ),
    )
    data_dir: Path = Field(Path(".midfield/worker"), description="faust's data directory.")
    lag_interval_s: PositiveFloat = Field(
        10.0, description="How often the worker measures its lag and checks the broker."
    )
    producer_linger_s: NonNegativeFloat = Field(
        0.05, description="How long the worker's producer gathers a batch (changelogs, outputs)."
    )
    commit_interval_s: PositiveFloat = Field(
        0.5, description="Offset commit interval; shorter means fewer re-deliveries after a kill."
    )
    batch_max: PositiveInt = Field(
        500,
        description=(
            "Events the worker applies as one batch: each book entity the batch touches is "
            "written, and sent to its changelog, once per batch instead of once per event."
        ),
    )
    batch_within_s: PositiveFloat = Field(
        0.1,
        description=(
            "While the worker is behind the end of the log (catching up), how long it "
            "gathers a batch before it applies what it has. At the end of the log an event is "
            "applied at once, whatever this says (streams/worker/intake.py)."
        ),
    )
    handover: Literal["midfield", "faust"] = Field(
        "midfield",
        description="How the consumer hands records to faust's conductor: midfield at once while "
        "behind (streams/worker/delivery.py); faust is faust's own, four tasks each (to compare).",
    )
    shutdown_timeout_s: PositiveFloat = Field(
        10.0,
        description=(
            "After SIGTERM or SIGINT the worker exits within this time, whatever the broker "
            "does (a lost broker made faust wait ~60 s); what it had not committed is "
            "delivered again on restart and ignored by id."
        ),
    )
    stall_log_ms: PositiveFloat | None = Field(
        None,
        description=(
            "Log every step that holds the worker's event loop this long or longer, with the "
            "task it belongs to: who makes the views wait (streams/worker/stalls.py). Off by "
            "default; costs two clock reads a callback."
        ),
    )
    refreeze_every_s: PositiveFloat = Field(
        60.0,
        description=(
            "After a full garbage collection of 20 ms or more the worker collects and freezes "
            "its heap again, at most this often (streams/worker/heap.py): shorter keeps full "
            "collections short while books grow fast; each freeze keeps for good what was in "
            "flight then and later dies in a reference cycle."
        ),
    )
    standby_replicas: NonNegativeInt = Field(
        0,
        description=(
            "Standby copies of each table partition kept warm on other workers (faust's "
            "table_standby_replicas): a partition that moves after a worker dies starts from "
            "the standby instead of replaying its whole changelog. Useful from 2 workers on."
        ),
    )


class ConnectorSettings(BaseSettings):
    """What every connector shares."""

    model_config = settings_config("MIDFIELD_CONNECT_")

    state_dir: Path = Field(Path(".midfield/state"), description="Offset store files live here.")
    batch_size: Annotated[int, Field(ge=1)] = Field(
        500, description="Records produced before the producer is flushed and the position saved."
    )
    shutdown_timeout_s: PositiveFloat = Field(
        10.0,
        description=(
            "After SIGTERM or SIGINT a connector exits within this time, whatever the broker "
            "does; nothing unacknowledged is committed, so the input is read again on restart."
        ),
    )
    poll_interval_s: PositiveFloat = Field(
        0.2,
        description=(
            "How often a tailing reader looks for new input (the fax log and Maildir readers "
            "are also woken by inotify as soon as their directory changes)."
        ),
    )
    documents_dir: Path = Field(
        Path(".midfield/documents"),
        description="The document store: received TIFFs and PDFs, by SHA-256.",
    )
    imap_password: SecretStr = Field(
        SecretStr(""),
        description=(
            "Password of `connect fax-mail --imap URL` when the URL has none (keeps it off the "
            "command line and out of `ps`)."
        ),
    )


class SinkSettings(BaseSettings):
    """Delivery of outbox records to department systems over signed webhooks."""

    model_config = settings_config("MIDFIELD_SINK_")

    attempts: Annotated[int, Field(ge=1)] = Field(
        8, description="Deliveries tried before a record becomes a dead letter."
    )
    backoff_first_s: PositiveFloat = Field(
        1.0, description="Wait after the first failed delivery; doubles each time."
    )
    backoff_max_s: PositiveFloat = Field(300.0, description="Longest wait.")
    timeout_s: PositiveFloat = Field(10.0, description="HTTP request timeout.")


class ReplaySettings(BaseSettings):
    """How a worker runs when ``midfield replay rebuild``, ``as-of`` or ``shadow`` starts it
    (DESIGN §8). A live worker leaves these alone."""

    model_config = settings_config("MIDFIELD_REPLAY_")

    read_only: bool = Field(
        False,
        description=(
            "The processors write only their own tables: no outbox notices, alerts, reminders, "
            "duty reports or dead letters, and the timers stay idle, so a rebuild or a shadow "
            "run never acts twice on what the live workers already did."
        ),
    )
    stop_offsets_file: Path | None = Field(
        None,
        description=(
            "JSON {topic: {partition: offset}}: records at or after these offsets are read but "
            "not applied (`replay as-of` stops the books at a moment)."
        ),
    )
    module: str | None = Field(
        None,
        description=(
            "A Python module imported before the processors are built: the new code a shadow "
            "run tries (it may replace functions of the streams package or change settings)."
        ),
    )
