"""Production settings reach both Kafka clients: TLS and SASL/SCRAM from KafkaSettings into
kafka-python's config (connectors, sinks, admin, tools) and into faust's broker credentials
(the worker's aiokafka); standby replicas and the RocksDB store into faust's settings."""

from __future__ import annotations

import ssl
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import faust
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import ValidationError

from midfield.bus.changelog import MAX_SEGMENT_BYTES
from midfield.bus.clients import client_config
from midfield.errors import ConfigError
from midfield.settings import KafkaSettings, Settings, WorkerSettings
from streams.worker.app import _faust_config, broker_credentials
from streams.worker.transport import _client_config as recovery_client_config


def _pem_pair(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate and its key, as PEM files (a stand-in CA or client cert)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


def _sasl_ssl(cafile: Path) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers="k1:9093,k2:9093", security_protocol="SASL_SSL",
                         sasl_username="midfield", sasl_password="s3cret",  # type: ignore[arg-type]
                         ssl_cafile=cafile)  # fmt: skip


def test_plaintext_adds_nothing_to_the_kafka_python_config() -> None:
    config = client_config(KafkaSettings(bootstrap_servers="k1:9092"))
    assert config == {"bootstrap_servers": ["k1:9092"], "request_timeout_ms": 30_000,
                      "client_id": "midfield"}  # fmt: skip
    assert broker_credentials(KafkaSettings()) is None


def test_sasl_ssl_maps_to_kafka_python_scram_over_tls(tmp_path: Path) -> None:
    ca, _ = _pem_pair(tmp_path, "ca")
    config = client_config(_sasl_ssl(ca))
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("midfield", "s3cret")
    assert config["ssl_cafile"] == str(ca) and config["ssl_check_hostname"] is True
    assert "ssl_certfile" not in config


def test_sasl_ssl_maps_to_faust_sasl_credentials_with_a_verifying_tls_context(
    tmp_path: Path,
) -> None:
    ca, _ = _pem_pair(tmp_path, "ca")
    credentials = broker_credentials(_sasl_ssl(ca))
    assert isinstance(credentials, faust.SASLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SASL_SSL"
    assert (auth["sasl_mechanism"], auth["sasl_plain_username"], auth["sasl_plain_password"]) == (
        "SCRAM-SHA-512", "midfield", "s3cret")  # fmt: skip
    context = auth["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "ca"),),)]


def test_both_clients_get_the_same_protocol_mechanism_and_credentials(tmp_path: Path) -> None:
    ca, _ = _pem_pair(tmp_path, "ca")
    for settings in (
        _sasl_ssl(ca),
        KafkaSettings(
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-256",
            sasl_username="u",
            sasl_password="p",  # type: ignore[arg-type]
        ),
    ):
        python = client_config(settings)
        aio = credentials_to_aiokafka_auth(broker_credentials(settings))
        for key in ("security_protocol", "sasl_mechanism", "sasl_plain_username",
                    "sasl_plain_password"):  # fmt: skip
            assert python[key] == aio[key], key


def test_ssl_with_a_client_certificate_maps_to_both_clients(tmp_path: Path) -> None:
    ca, _ = _pem_pair(tmp_path, "ca")
    cert, key = _pem_pair(tmp_path, "client")
    settings = KafkaSettings(security_protocol="SSL", ssl_cafile=ca, ssl_certfile=cert,
                             ssl_keyfile=key)  # fmt: skip
    config = client_config(settings)
    assert (config["security_protocol"], config["ssl_certfile"], config["ssl_keyfile"]) == (
        "SSL", str(cert), str(key))  # fmt: skip
    assert "sasl_mechanism" not in config
    credentials = broker_credentials(settings)
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials_to_aiokafka_auth(credentials)["security_protocol"] == "SSL"


def test_a_key_that_does_not_match_its_certificate_is_a_config_error(tmp_path: Path) -> None:
    cert, _ = _pem_pair(tmp_path, "client")
    _, other_key = _pem_pair(tmp_path, "other")
    settings = KafkaSettings(security_protocol="SSL", ssl_certfile=cert, ssl_keyfile=other_key)
    with pytest.raises(ConfigError) as caught:
        broker_credentials(settings)
    assert caught.value.reason == "tls-files"


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"security_protocol": "SASL_SSL", "sasl_username": "u"}, "needs sasl_username and"),
        ({"security_protocol": "SSL", "ssl_certfile": "c.pem"}, "go together"),
        ({"ssl_cafile": "ca.pem"}, "security_protocol is PLAINTEXT"),
        ({"security_protocol": "TLS"}, "security_protocol"),
        ({"sasl_mechanism": "GSSAPI"}, "sasl_mechanism"),
    ],
)
def test_incomplete_or_unknown_security_settings_are_refused(
    fields: dict[str, str], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        KafkaSettings(**fields)  # type: ignore[arg-type]


def test_security_settings_come_from_the_environment_and_the_password_stays_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIDFIELD_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("MIDFIELD_KAFKA_SASL_USERNAME", "midfield")
    monkeypatch.setenv("MIDFIELD_KAFKA_SASL_PASSWORD", "s3cret-from-env")
    settings = KafkaSettings()
    assert client_config(settings)["sasl_plain_password"] == "s3cret-from-env"
    assert "s3cret-from-env" not in repr(settings) + str(Settings(kafka=settings).as_dict())


def test_the_recovery_look_up_uses_the_apps_credentials(tmp_path: Path) -> None:
    """faust's table recovery asks for true high watermarks with its own kafka-python client
    (streams/worker/transport.py): on a SASL cluster it must authenticate too."""
    ca, _ = _pem_pair(tmp_path, "ca")
    settings = Settings(kafka=_sasl_ssl(ca))
    config = recovery_client_config(None, settings)  # type: ignore[arg-type]
    assert config == client_config(settings.kafka) | {"client_id": "midfield-recovery"}


def test_standby_replicas_and_credentials_reach_faust(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIDFIELD_WORKER_STANDBY_REPLICAS", "2")
    settings = Settings(kafka=KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_username="u",
                                            sasl_password="p"))  # type: ignore[arg-type]  # fmt: skip
    config = _faust_config(settings)
    assert config["table_standby_replicas"] == 2
    app = faust.App("deploy-settings-test", **config)
    assert app.conf.table_standby_replicas == 2
    assert isinstance(app.conf.broker_credentials, faust.SASLCredentials)


def test_the_rocksdb_store_without_rocksdict_is_a_config_error_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "rocksdict", None)  # import now raises ImportError
    settings = Settings(worker=WorkerSettings(store="rocksdb://"))
    with pytest.raises(ConfigError, match=r"midfield\[rocksdb\]"):
        _faust_config(settings)


def test_a_producer_batch_holds_a_whole_changelog_segment_and_kafka_takes_it() -> None:
    """aiokafka makes a partition's next record wait for its full batch to be sent: a batch
    smaller than a segment made every segment wait for the last; one over the broker's
    ``message.max.bytes`` (1,000,012 by default) would be refused."""
    app = faust.App("producer-batch-test", **_faust_config(Settings()))
    assert MAX_SEGMENT_BYTES < app.conf.producer_max_batch_size < 1_000_012
