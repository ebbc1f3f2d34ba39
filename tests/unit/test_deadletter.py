"""Dead letters keep the raw input whole and carry Kafka-Connect-style provenance headers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from schemas.deadletter import MAX_RAW, DeadLetter
from schemas.envelope import DecodeError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _letter(raw: bytes) -> DeadLetter:
    return DeadLetter.of(
        raw,
        reason="bad-date",
        error="bad-date: 13/45/25",
        source="midfield://fax-log/a",
        position="inode 7 offset 120",
        connector="fax-log",
        first_seen=NOW,
    )


def test_utf8_input_is_kept_as_text() -> None:
    letter = _letter("03/14/25\tRECV\t坏".encode())
    assert (letter.raw_encoding, letter.raw) == ("utf-8", "03/14/25\tRECV\t坏")


def test_binary_input_is_kept_as_base64_and_restored() -> None:
    raw = b"\xff\xfe\x00bad"
    letter = _letter(raw)
    assert letter.raw_encoding == "base64"
    assert DeadLetter.from_value(letter.value()).raw_bytes() == raw


def test_headers_carry_reason_source_position_and_attempts() -> None:
    headers = dict(_letter(b"x").headers())
    assert headers["dlq.reason"] == b"bad-date"
    assert headers["dlq.source"] == b"midfield://fax-log/a"
    assert headers["dlq.position"] == b"inode 7 offset 120"
    assert headers["dlq.connector"] == b"fax-log"
    assert headers["dlq.attempts"] == b"1"
    assert headers["dlq.first_seen"] == NOW.isoformat().encode()


def test_same_input_position_gives_same_dead_letter_id() -> None:
    assert _letter(b"x").id == _letter(b"y").id


def test_garbage_is_not_a_dead_letter() -> None:
    with pytest.raises(DecodeError):
        DeadLetter.from_value(b"{}")


def test_huge_input_is_cut_to_max_raw_with_size_and_digest_of_the_whole() -> None:
    raw = b"x" * (MAX_RAW + 10)
    letter = _letter(raw)
    assert letter.raw_truncated
    assert letter.raw_bytes() == raw[:MAX_RAW]
    assert (letter.raw_size, letter.raw_sha256) == (len(raw), hashlib.sha256(raw).hexdigest())
    assert len(letter.value()) < MAX_RAW + 4096


def test_small_input_is_whole() -> None:
    letter = _letter(b"short")
    assert (letter.raw_truncated, letter.raw_size) == (False, 5)
