"""Settings come from MIDFIELD_* variables; the broker from KAFKA_BOOTSTRAP_SERVERS."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.sources.board import BoardSettings
from midfield.settings import KafkaSettings, OfficeSettings, Settings, WorkerSettings


def test_bootstrap_comes_from_the_standard_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "a:9092, b:9093")
    assert KafkaSettings().bootstrap_list == ["a:9092", "b:9093"]


def test_prefixed_variables_set_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIDFIELD_WORKER_WEB_PORT", "7001")
    assert WorkerSettings().web_port == 7001


def test_worker_binds_to_loopback_by_default() -> None:
    assert WorkerSettings().web_host == "127.0.0.1"


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        OfficeSettings(timezone="Mars/Olympus")


def test_embedded_profile_is_not_the_default() -> None:
    assert KafkaSettings().profile == "kafka"


def test_a_sources_own_settings_are_read_when_the_settings_are_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As every part is: a command reads its environment once, at its start."""
    monkeypatch.setenv("MIDFIELD_BOARD_SECRET", "whsec_c2VjcmV0")
    settings = Settings()
    monkeypatch.delenv("MIDFIELD_BOARD_SECRET")
    assert settings.part(BoardSettings).secret.get_secret_value() == "whsec_c2VjcmV0"
    assert "board" in settings.as_dict()
