"""Signed requests: what the ``standardwebhooks`` package signs verifies here, malformed
credentials are refused with a reason (never an exception), and the replay cache is bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from connectors.runtime.signatures import (
    ReplayCache,
    Seen,
    StandardWebhook,
    same_secret,
    webhook_key,
)
from midfield.errors import Rejected
from tests.webhooks import whsec

SECRET = whsec("unit-secret")
NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
BODY = '{"id": "M1", "content": "请问学区？"}'.encode()


def _verifier() -> StandardWebhook:
    return StandardWebhook(webhook_key(SECRET, "SECRET"), legacy="X-Board-Signature")


def _headers(body: bytes = BODY, msg_id: str = "msg_1", at: datetime = NOW) -> dict[str, str]:
    signature = Webhook(SECRET).sign(msg_id, at, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def test_what_the_standardwebhooks_package_signs_verifies() -> None:
    assert _verifier().verify(_headers(), BODY, NOW) == "msg_1"


def test_the_same_id_and_body_is_a_retry_another_body_is_refused() -> None:
    verifier = _verifier()
    verifier.verify(_headers(), BODY, NOW)
    verifier.verify(_headers(), BODY, NOW)
    other = b'{"id": "M2"}'
    with pytest.raises(Rejected) as refused:
        verifier.verify(_headers(other), other, NOW)
    assert (refused.value.status, refused.value.reason) == (409, "webhook-id-reused")


def test_the_old_signature_header_is_refused_naming_the_new_scheme() -> None:
    with pytest.raises(Rejected) as refused:
        _verifier().verify({"X-Board-Signature": "sha256=00"}, BODY, NOW)
    assert refused.value.reason == "old-signature-scheme" and "webhook-signature" in str(
        refused.value
    )


def test_a_stale_timestamp_is_refused() -> None:
    with pytest.raises(Rejected) as refused:
        _verifier().verify(_headers(), BODY, NOW.replace(hour=10))
    assert refused.value.reason == "stale-timestamp"


@given(
    msg_id=st.text(max_size=20),
    stamp=st.text(max_size=14),
    signature=st.text(max_size=60),
)
def test_any_credential_is_taken_or_refused_with_401(
    msg_id: str, stamp: str, signature: str
) -> None:
    headers = {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": signature}
    try:
        _verifier().verify(headers, BODY, NOW)
    except Rejected as exc:
        assert exc.status == 401


def test_secrets_compare_as_bytes_whatever_the_text() -> None:
    assert not same_secret("中", "0" * 40) and same_secret("中", "中".encode())
    assert not same_secret("\udce9", "e")  # an undecodable header byte, as aiohttp hands it over


def test_the_replay_cache_forgets_after_expiry_and_refuses_when_full() -> None:
    cache = ReplayCache(limit=2)
    assert cache.see("a", b"x", expires=10, now=0) is Seen.new
    assert cache.see("b", b"x", expires=20, now=0) is Seen.new
    with pytest.raises(Rejected) as full:
        cache.see("c", b"x", expires=20, now=5)
    assert full.value.status == 429
    assert cache.see("c", b"x", expires=30, now=11) is Seen.new  # "a" expired
    assert cache.see("b", b"y", expires=30, now=12) is Seen.replay
    assert len(cache) == 2
