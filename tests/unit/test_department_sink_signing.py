"""The department sink's pure part: the body it posts, the signature, what each answer means,
the retry schedule and its configuration; and the receiver snippets of docs/departments.md."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from connectors.sinks.department import Target
from connectors.sinks.webhook import (
    Answer,
    Verdict,
    judge,
    retry_delay,
    signed_headers,
    structured,
)
from midfield.departments import Department, Directory
from midfield.errors import ConfigError, ParseError
from midfield.settings import SinkSettings
from schemas.envelope import Envelope
from schemas.events.task import TaskNotice, TaskStatus
from tests.harness import REPO

URL = "https://edu.example/hook"
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def _notice() -> Envelope:
    data = TaskNotice(task_id="DC-2025-017", step="reminded", title="城区学校扩容工程",
                      deadline=date(2025, 8, 31), status=TaskStatus.in_progress,
                      lead_department="edu", light="red", message="overdue by 3 days")  # fmt: skip
    when = datetime(2025, 9, 3, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    return Envelope.wrap(data, source="midfield://worker/t", position="DC-2025-017/1",
                         subject="DC-2025-017", time=when)  # fmt: skip


def _signed(body: str, now: datetime | None = None) -> dict[str, str]:
    return signed_headers(Webhook(SECRET), "evt-1", body, now or datetime.now(UTC))


def _receiver_snippets() -> dict[str, Any]:
    """The python blocks of docs/departments.md's receiver section, run in one namespace."""
    text = (REPO / "docs" / "departments.md").read_text(encoding="utf-8")
    section = text.split("## Receiving work: signed webhooks", 1)[1].split("\n## ", 1)[0]
    namespace: dict[str, Any] = {}
    for block in re.findall(r"```python\n(.*?)```", section, flags=re.S):
        exec(block, namespace)
    return namespace


def test_body_is_the_structured_cloudevent_of_the_binary_record() -> None:
    envelope = _notice()
    event_id, body = structured(envelope.headers(), envelope.value())
    event = json.loads(body)
    assert event_id == envelope.id
    assert {k: event[k] for k in ("specversion", "id", "source", "type", "subject", "time")} == {
        "specversion": "1.0",
        "id": envelope.id,
        "source": "midfield://worker/t",
        "type": TaskNotice.type,
        "subject": "DC-2025-017",
        "time": "2025-09-03T09:00:00+08:00",
    }
    assert event["datacontenttype"] == "application/json"
    assert event["data"] == json.loads(envelope.value())


def test_body_keeps_extension_attributes_and_chinese_text_as_utf8() -> None:
    envelope = _notice()
    _, body = structured(envelope.headers(), envelope.value())
    assert json.loads(body)["classification"] == "none"
    assert "城区学校扩容工程" in body


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("content-type", b"application/json")],
        [("ce_specversion", b"1.0"), ("ce_source", b"s"), ("ce_type", b"t")],  # no id
        [("ce_specversion", b"0.3"), ("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t")],
    ],
)
def test_record_without_the_required_ce_headers_is_not_a_cloudevent(
    headers: list[tuple[str, bytes]],
) -> None:
    with pytest.raises(ParseError) as caught:
        structured(headers, b"{}")
    assert caught.value.reason == "not-cloudevent"


@pytest.mark.parametrize("value", [None, b"", b"not json", b"\xff\xfe{"])
def test_record_whose_value_is_not_json_is_not_a_cloudevent(value: bytes | None) -> None:
    envelope = _notice()
    with pytest.raises(ParseError) as caught:
        structured(envelope.headers(), value)
    assert caught.value.reason == "not-cloudevent"


@pytest.mark.parametrize("event_id", ["任务-1", "a\r\nx-injected: 1", "tab\there"])
def test_an_id_that_cannot_travel_as_the_webhook_id_header_is_refused(event_id: str) -> None:
    headers = [(k, event_id.encode() if k == "ce_id" else v) for k, v in _notice().headers()]
    with pytest.raises(ParseError) as caught:
        structured(headers, b"{}")
    assert caught.value.reason == "bad-event-id"


def test_signed_headers_verify_with_the_standard_webhooks_package() -> None:
    body = '{"id":"evt-1"}'
    headers = _signed(body)
    assert headers["webhook-id"] == "evt-1"
    assert headers["content-type"] == "application/cloudevents+json"
    assert Webhook(SECRET).verify(body.encode(), headers) == {"id": "evt-1"}


def test_signature_does_not_verify_over_another_body_or_with_another_secret() -> None:
    headers = _signed('{"id":"evt-1"}')
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(b'{"id":"evt-2"}', headers)
    other = "whsec_" + base64.b64encode(b"another secret of thirty-two by").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(b'{"id":"evt-1"}', headers)


def test_timestamp_is_the_signing_time_in_unix_seconds_whatever_the_zone() -> None:
    shanghai = datetime(2025, 9, 3, 9, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    utc = shanghai.astimezone(UTC)
    assert _signed("{}", shanghai) == _signed("{}", utc)
    assert _signed("{}", shanghai)["webhook-timestamp"] == str(int(utc.timestamp()))


def test_docs_receiver_snippets_accept_what_the_sink_signs() -> None:
    snippets = _receiver_snippets()
    body = '{"id":"evt-1","data":{"task_id":"DC-2025-017"}}'
    headers = _signed(body)
    assert snippets["verify"](SECRET, body.encode(), headers)["id"] == "evt-1"
    assert snippets["verify_plain"](SECRET, body.encode(), headers)["id"] == "evt-1"


def test_docs_receiver_snippets_refuse_a_tampered_body_and_a_stale_timestamp() -> None:
    snippets = _receiver_snippets()
    headers = _signed('{"id":"evt-1"}')
    stale = _signed('{"id":"evt-1"}', datetime.now(UTC) - timedelta(minutes=6))
    with pytest.raises(WebhookVerificationError):
        snippets["verify"](SECRET, b'{"id":"evt-X"}', headers)
    with pytest.raises(ValueError, match="no valid signature"):
        snippets["verify_plain"](SECRET, b'{"id":"evt-X"}', headers)
    with pytest.raises(ValueError, match="too old"):
        snippets["verify_plain"](SECRET, b'{"id":"evt-1"}', stale)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert judge(status, 1, 8) is Verdict.delivered


@pytest.mark.parametrize("status", [None, 408, 429, 500, 502, 503, 504])
def test_no_answer_408_429_and_5xx_are_retried_until_the_last_attempt(status: int | None) -> None:
    assert judge(status, 7, 8) is Verdict.retry
    assert judge(status, 8, 8) is Verdict.failed


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 301, 302, 307, 100])
def test_other_answers_are_rejected_at_the_first_attempt(status: int) -> None:
    assert judge(status, 1, 8) is Verdict.rejected


def test_retry_delay_starts_at_the_first_backoff_doubles_and_is_capped() -> None:
    settings = SinkSettings(backoff_first_s=1.0, backoff_max_s=300.0)
    assert [retry_delay(settings, n) for n in range(1, 11)] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256, 300
    ]  # fmt: skip
    assert retry_delay(settings, 10_000) == 300


def test_answer_reads_as_status_and_body_start_or_the_network_error() -> None:
    assert str(Answer(400, "unknown task")) == "HTTP 400: unknown task"
    assert str(Answer(503)) == "HTTP 503"
    assert str(Answer(None, "ConnectionRefusedError: [Errno 111] Connection refused")) == (
        "ConnectionRefusedError: [Errno 111] Connection refused"
    )


def _directory(**fields: Any) -> Directory:
    return Directory([Department(code="edu", name="县教育局", **fields)])


def test_target_comes_from_the_directory() -> None:
    target = Target.of(_directory(webhook_url="https://edu.example/hook",
                                  webhook_secret=SecretStr(SECRET)), "edu")  # fmt: skip
    assert (target.code, target.url, target.source) == (
        "edu",
        "https://edu.example/hook",
        "midfield://sink/edu",
    )
    assert SECRET.removeprefix("whsec_") not in repr(target)


@pytest.mark.parametrize(
    ("code", "fields", "reason"),
    [
        ("health", {"webhook_url": URL}, "unknown-department"),
        ("edu", {}, "no-webhook"),
        ("edu", {"webhook_url": URL}, "no-webhook"),
        ("edu", {"webhook_secret": SecretStr(SECRET)}, "no-webhook"),
        ("edu", {"webhook_url": URL, "webhook_secret": SecretStr("whsec_a")}, "bad-webhook-secret"),
        ("edu", {"webhook_url": URL, "webhook_secret": SecretStr("whsec_")}, "bad-webhook-secret"),
    ],
)
def test_department_without_a_usable_webhook_is_a_config_error(
    code: str, fields: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Target.of(_directory(**fields), code)
    assert caught.value.reason == reason
    assert code in str(caught.value)
