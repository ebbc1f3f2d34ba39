"""Settings: one pydantic-settings class per part, read from ``MIDFIELD_*`` variables or ``.env``.

Every default is documented on its field; ``midfield settings`` prints the values in force.
The broker address is the standard ``KAFKA_BOOTSTRAP_SERVERS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import Annotated, Literal, NamedTuple, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "GROUP_TIMINGS",
    "AccessSettings",
    "ConnectorSettings",
    "DepartmentSettings",
    "DutySettings",
    "GroupTimings",
    "HotlineSettings",
    "KafkaSettings",
    "OfficeSettings",
    "PrivacySettings",
    "ReplaySettings",
    "RepliesSettings",
    "Settings",
    "SinkSettings",
    "SupervisionSettings",
    "TopicSettings",
    "WorkerSettings",
    "settings_config",
    "settings_part",
]

P = TypeVar("P", bound=BaseSettings)

_DECLARED: list[type[BaseSettings]] = []


def settings_part(model: type[P]) -> type[P]:
    """Class decorator of a part declared outside this module (a source's own settings, next to
    the source): every :class:`Settings` reads it when it is made, as it reads the parts here."""
    _DECLARED.append(model)
    return model


def settings_config(prefix: str) -> SettingsConfigDict:
    """The configuration of every settings part: ``prefix`` (``MIDFIELD_<PART>_``), ``.env``."""
    return SettingsConfigDict(
        env_prefix=prefix,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )


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
    request_timeout_ms: Annotated[int, Field(gt=0)] = 30_000
    retry_backoff_s: Annotated[float, Field(gt=0)] = Field(
        0.5, description="First back-off after a broker error; doubles up to retry_backoff_max_s."
    )
    retry_backoff_max_s: Annotated[float, Field(gt=0)] = 30.0
    bootstrap_timeout_s: Annotated[float, Field(gt=0)] = Field(
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


class OfficeSettings(BaseSettings):
    """Facts about the office itself."""

    model_config = settings_config("MIDFIELD_OFFICE_")

    timezone: str = Field("Asia/Shanghai", description="IANA zone of local times in inputs.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class WorkerSettings(BaseSettings):
    """The stream-processing worker (faust app) and its HTTP server."""

    model_config = settings_config("MIDFIELD_WORKER_")

    app_id: str = Field("midfield", description="Consumer group and changelog prefix.")
    fetch_max_wait_ms: Annotated[int, Field(ge=0)] | None = Field(
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
    lag_interval_s: Annotated[float, Field(gt=0)] = Field(
        10.0, description="How often the worker measures its lag and checks the broker."
    )
    producer_linger_s: Annotated[float, Field(ge=0)] = Field(
        0.05, description="How long the worker's producer gathers a batch (changelogs, outputs)."
    )
    commit_interval_s: Annotated[float, Field(gt=0)] = Field(
        0.5, description="Offset commit interval; shorter means fewer re-deliveries after a kill."
    )
    shutdown_timeout_s: Annotated[float, Field(gt=0)] = Field(
        10.0,
        description=(
            "After SIGTERM or SIGINT the worker exits within this time, whatever the broker "
            "does (a lost broker made faust wait ~60 s); what it had not committed is "
            "delivered again on restart and ignored by id."
        ),
    )
    standby_replicas: Annotated[int, Field(ge=0)] = Field(
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
    shutdown_timeout_s: Annotated[float, Field(gt=0)] = Field(
        10.0,
        description=(
            "After SIGTERM or SIGINT a connector exits within this time, whatever the broker "
            "does; nothing unacknowledged is committed, so the input is read again on restart."
        ),
    )
    poll_interval_s: Annotated[float, Field(gt=0)] = Field(
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


class DepartmentSettings(BaseSettings):
    """Who may call Midfield and where work for each department goes (see docs/departments.md)."""

    model_config = settings_config("MIDFIELD_DEPARTMENTS_")

    file: Path | None = Field(
        None,
        description=(
            "TOML file naming the office and each department: code, name, API keys, webhook "
            "URL and secret. None: no departments (the tasks API then only knows the office)."
        ),
    )
    min_key_length: Annotated[int, Field(ge=1)] = Field(
        20,
        description=(
            "Shortest API key the directory accepts (a key from `secrets.token_urlsafe(32)` has "
            "43 characters); a shorter one stops every process that reads the file."
        ),
    )


class AccessSettings(BaseSettings):
    """Who may read what on every HTTP port (docs/security.md): sessions, sign-in throttling,
    masking of personal data and the grouped alert on repeated denials."""

    model_config = settings_config("MIDFIELD_ACCESS_")

    session_key: SecretStr = Field(
        SecretStr(""),
        description=(
            "Fernet key (32 url-safe base64 bytes) that seals the dashboard's session cookie; "
            "`midfield users new-session-key` makes one. Empty: a new key per process, so "
            "sessions end when the worker restarts and are not shared between workers."
        ),
    )
    session_hours: Annotated[float, Field(gt=0, le=24)] = Field(
        12.0, description="A session ends this long after sign-in (one duty shift and a half)."
    )
    secure_cookies: bool = Field(
        False,
        description=(
            "Mark the session cookie Secure (sent over HTTPS only). Set it in production, where "
            "TLS sits in front of every HTTP port (docs/deploy.md)."
        ),
    )
    sign_in_attempts: Annotated[int, Field(ge=1)] = Field(
        5, description="Failed sign-ins per login and address before sign-in is refused (429)."
    )
    sign_in_lockout_s: Annotated[float, Field(gt=0)] = Field(
        900.0, description="How long failed sign-ins are remembered for that count."
    )
    unmasked_roles: tuple[str, ...] = Field(
        ("director", "duty-officer"),
        description=(
            "Roles that see citizens' personal data (names, phone and ID numbers) in clear; "
            "every other reader sees them masked."
        ),
    )
    scrape_token: SecretStr = Field(
        SecretStr(""),
        description=(
            "Bearer token Prometheus presents for GET /metrics on the worker and every intake; "
            "empty: /metrics needs a principal with the ops role."
        ),
    )
    oidc_issuer: str = Field(
        "",
        description=(
            "The county's single sign-on (OIDC) issuer, e.g. https://sso.example.gov.cn/realms/"
            "county; empty: no single sign-on. A person's token is accepted as Authorization: "
            "Bearer <token> when it verifies and names a person of the directory."
        ),
    )
    oidc_audience: str = Field("", description="The audience (client id) tokens must name.")
    oidc_jwks_url: str = Field(
        "",
        description=(
            "Where the issuer publishes its signing keys: the jwks_uri of its "
            ".well-known/openid-configuration (never guessed)."
        ),
    )
    oidc_login_claim: str = Field(
        "preferred_username", description="The claim that holds the directory's login."
    )
    failed_credentials: Annotated[int, Field(ge=1)] = Field(
        30,
        description=(
            "Failed credentials (401) from one address within failed_credentials_window_s after "
            "which an intake answers 429 without checking more."
        ),
    )
    failed_credentials_window_s: Annotated[float, Field(gt=0)] = Field(
        60.0, description="The window of failed_credentials."
    )
    denials_alert_at: Annotated[int, Field(ge=1)] = Field(
        5,
        description=(
            "Denials of one principal (or one address without credentials) in one day that "
            "raise the grouped security alert; it escalates at 10x and 100x, never per request."
        ),
    )


class SupervisionSettings(BaseSettings):
    """The supervision ledger's traffic lights and reminders (conventions differ by county)."""

    model_config = settings_config("MIDFIELD_SUPERVISION_")

    warning_days: Annotated[int, Field(ge=0)] = Field(
        3, description="Yellow when the deadline is this many days away or fewer."
    )
    progress_lag: Annotated[float, Field(ge=0, le=1)] = Field(
        0.25,
        description=(
            "Yellow when the reported share done lags the share of time elapsed by more than "
            "this (0.25: 25 percentage points)."
        ),
    )
    reminder_window_hours: Annotated[float, Field(gt=0)] = Field(
        24.0, description="At most one reminder per task in this window."
    )
    reminder_check_interval_s: Annotated[float, Field(gt=0)] = Field(
        60.0, description="How often the worker looks for yellow and red tasks to remind."
    )


class RepliesSettings(BaseSettings):
    """Public-message reply tallies (办复率) and the early warning (docs/metrics.md)."""

    model_config = settings_config("MIDFIELD_REPLIES_")

    on_time_days: Annotated[float, Field(gt=0)] = Field(
        5, description="A reply within this many days of receipt is on time (calendar days)."
    )
    warning_days: tuple[int, ...] = Field(
        (30, 60, 80),
        min_length=1,
        description="Unanswered this many days: an alert, escalating at each (JSON list).",
    )
    fail_days: Annotated[int, Field(gt=0)] = Field(
        91,
        description="Unanswered this long fails the national website check (3 months, 互动回应差).",
    )
    check_interval_s: Annotated[float, Field(gt=0)] = Field(
        300.0, description="How often the worker looks for unanswered messages."
    )
    red_below: Annotated[float, Field(ge=0, le=1)] = Field(
        0.8,
        description="The dashboard shows a reply rate or on-time reply rate below this red.",
    )
    yellow_below: Annotated[float, Field(ge=0, le=1)] = Field(
        0.95,
        description="...and below this (but not below red_below) yellow; green from here up.",
    )

    @field_validator("warning_days")
    @classmethod
    def _ascending(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if list(value) != sorted(set(value)) or value[0] <= 0:
            raise ValueError("warning days must be positive and ascending")
        return value

    @model_validator(mode="after")
    def _colours_in_order(self) -> RepliesSettings:
        if self.yellow_below < self.red_below:
            raise ValueError("MIDFIELD_REPLIES_YELLOW_BELOW must not be below RED_BELOW")
        return self


def _close_days() -> dict[str, int]:
    return {
        "consultation": 1,
        "help": 5,
        "complaint": 15,
        "report": 15,
        "suggestion": 15,
        "other": 5,
    }


class HotlineSettings(BaseSettings):
    """Hotline (12345) time limits; counties set their own (docs/metrics.md)."""

    model_config = settings_config("MIDFIELD_HOTLINE_")

    sign_for_hours: Annotated[float, Field(gt=0)] = Field(
        2.0, description="A unit signs for a dispatched order within this many hours to be on time."
    )
    close_days: dict[str, Annotated[int, Field(gt=0)]] = Field(
        default_factory=_close_days,
        description="Days from acceptance to close, per category (JSON object).",
    )
    at_risk_hours: Annotated[float, Field(ge=0)] = Field(
        24.0,
        description=(
            "The dashboard lists an open order as at risk when it is due within this many "
            "hours (and when it is overdue)."
        ),
    )
    secret: SecretStr = Field(
        SecretStr(""),
        description=(
            "Standard Webhooks secret of the hotline webhook: whsec_ + base64 of the key "
            "(docs/hotline.md says how to convert an old secret)."
        ),
    )


class DutySettings(BaseSettings):
    """The duty system (值班): its shifts, for the duty report (值班报告)."""

    model_config = settings_config("MIDFIELD_DUTY_")

    shifts: dict[str, str] = Field(
        default_factory=lambda: {"白班": "08:30", "夜班": "17:30"},
        description=(
            "Shift name -> start time (HH:MM, office time); each shift runs until the next "
            "one starts, the last one past midnight (JSON object)."
        ),
    )
    report_check_interval_s: Annotated[float, Field(gt=0)] = Field(
        60.0, description="How often the worker looks for a shift that has ended."
    )
    item_days: dict[str, Annotated[int, Field(gt=0)]] = Field(
        default_factory=lambda: {"特提": 1, "特急": 3, "加急": 5, "平急": 10, "平件": 15},
        description="Days to handle an incoming item by urgency (JSON object).",
    )

    @field_validator("shifts")
    @classmethod
    def _times(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("at least one shift")
        for name, start in value.items():
            try:
                time.fromisoformat(start)
            except ValueError as exc:
                raise ValueError(f"shift {name!r}: start {start!r} is not HH:MM") from exc
        if len(set(value.values())) != len(value):
            raise ValueError("two shifts start at the same time")
        return value


class PrivacySettings(BaseSettings):
    """Keeping citizens' personal data out of what is stored in clear (issue 18)."""

    model_config = settings_config("MIDFIELD_PRIVACY_")

    key: SecretStr = Field(
        SecretStr(""),
        description=(
            "Key of the HMAC-SHA256 digests that stand for personal data (phone and ID numbers, "
            "names, OpenIDs) in the HTTP intakes' dead letters; any long random text. Empty: a "
            "new key per process, so digests match only within one run."
        ),
    )


class SinkSettings(BaseSettings):
    """Delivery of outbox records to department systems over signed webhooks."""

    model_config = settings_config("MIDFIELD_SINK_")

    attempts: Annotated[int, Field(ge=1)] = Field(
        8, description="Deliveries tried before a record becomes a dead letter."
    )
    backoff_first_s: Annotated[float, Field(gt=0)] = Field(
        1.0, description="Wait after the first failed delivery; doubles each time."
    )
    backoff_max_s: Annotated[float, Field(gt=0)] = Field(300.0, description="Longest wait.")
    timeout_s: Annotated[float, Field(gt=0)] = Field(10.0, description="HTTP request timeout.")


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


class Settings:
    """All parts, read once at the entry point and passed down."""

    def __init__(
        self,
        *,
        kafka: KafkaSettings | None = None,
        topics: TopicSettings | None = None,
        office: OfficeSettings | None = None,
        worker: WorkerSettings | None = None,
        connect: ConnectorSettings | None = None,
        departments: DepartmentSettings | None = None,
        supervision: SupervisionSettings | None = None,
        sink: SinkSettings | None = None,
        replies: RepliesSettings | None = None,
        hotline: HotlineSettings | None = None,
        duty: DutySettings | None = None,
        replay: ReplaySettings | None = None,
        privacy: PrivacySettings | None = None,
        access: AccessSettings | None = None,
        parts: Iterable[BaseSettings] = (),
    ) -> None:
        self.kafka = kafka or KafkaSettings()
        self.topics = topics or TopicSettings()
        self.office = office or OfficeSettings()
        self.worker = worker or WorkerSettings()
        self.connect = connect or ConnectorSettings()
        self.departments = departments or DepartmentSettings()
        self.supervision = supervision or SupervisionSettings()
        self.sink = sink or SinkSettings()
        self.replies = replies or RepliesSettings()
        self.hotline = hotline or HotlineSettings()
        self.duty = duty or DutySettings()
        self.replay = replay or ReplaySettings()
        self.privacy = privacy or PrivacySettings()
        self.access = access or AccessSettings()
        self._parts: dict[type[BaseSettings], BaseSettings] = {
            type(part): part for part in (*vars(self).values(), *parts)
            if isinstance(part, BaseSettings)
        }  # fmt: skip
        for model in _DECLARED:
            self.part(model)

    def part(self, model: type[P]) -> P:
        """The part ``model``: one of the above, or a source's own settings (declared next to
        the source with :func:`settings_part`, read with the others; another, on first use)."""
        if model not in self._parts:
            self._parts[model] = model()
        return cast(P, self._parts[model])

    def as_dict(self) -> dict[str, dict[str, object]]:
        """Every part read so far, by name (``MIDFIELD_TELEGRAM_`` is ``telegram``)."""
        return {_part_name(model): part.model_dump(mode="json")
                for model, part in self._parts.items()}  # fmt: skip


def _part_name(model: type[BaseSettings]) -> str:
    prefix = str(model.model_config.get("env_prefix", ""))
    return prefix.removeprefix("MIDFIELD_").removesuffix("_").lower()
