"""What every kafka-python client shares: its settings (TLS and SASL included), and the admin
client, opened for one request and closed again."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kafka import KafkaAdminClient

from midfield.bus.errors import map_kafka_errors
from midfield.settings import KafkaSettings

__all__ = ["admin_client", "client_config"]


def client_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Settings every kafka-python client shares, TLS and SASL included when configured.

    The worker's faust/aiokafka clients get the same from ``streams.worker.app.broker_credentials``.
    """
    config: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_list,
        "request_timeout_ms": kafka.request_timeout_ms,
        "client_id": "midfield",
    }
    if kafka.security_protocol == "PLAINTEXT":
        return config
    config["security_protocol"] = kafka.security_protocol
    if kafka.security_protocol.startswith("SASL_"):
        config |= {
            "sasl_mechanism": kafka.sasl_mechanism,
            "sasl_plain_username": kafka.sasl_username,
            "sasl_plain_password": kafka.sasl_password.get_secret_value(),
        }
    if kafka.uses_tls:
        files = {"ssl_cafile": kafka.ssl_cafile, "ssl_certfile": kafka.ssl_certfile,
                 "ssl_keyfile": kafka.ssl_keyfile}  # fmt: skip
        config |= {key: str(path) for key, path in files.items() if path is not None}
        config["ssl_check_hostname"] = True
    return config


@contextmanager
def admin_client(config: Mapping[str, Any]) -> Iterator[KafkaAdminClient]:
    """A kafka-python admin client for the block, closed after it; errors inside are
    translated (the block's too, as it works the client)."""
    with map_kafka_errors():
        admin = KafkaAdminClient(**config)
        try:
            yield admin
        finally:
            admin.close()
