"""What a dead letter of an HTTP intake keeps: personal values only as keyed digests."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from connectors.runtime.privacy import Redactor

REDACTOR = Redactor(b"unit-key")
PHONE, ID_NUMBER = "13912345678", "11010119900307123X"


def test_personal_fields_are_digested_at_any_depth() -> None:
    body = {"id": "M1", "contact": PHONE, "nested": [{"姓名": "王小明", "note": "ok"}]}
    kept = REDACTOR.json_body(json.dumps(body, ensure_ascii=False).encode())
    text = kept.raw.decode()
    assert kept.redaction == "fields" and PHONE not in text and "王小明" not in text
    assert json.loads(text)["id"] == "M1" and json.loads(text)["nested"][0]["note"] == "ok"


def test_numbers_in_free_text_are_digested_but_long_ids_are_not() -> None:
    text = REDACTOR.scrubbed(f"请回电 {PHONE}，身份证 {ID_NUMBER}，MsgId 24601234567890123456")
    assert PHONE not in text and ID_NUMBER not in text and "24601234567890123456" in text


def test_the_same_value_gives_the_same_digest_and_another_key_another() -> None:
    assert REDACTOR.text(PHONE) == REDACTOR.text(PHONE) != Redactor(b"other").text(PHONE)


@given(st.binary(max_size=200))
def test_a_body_is_redacted_or_withheld_never_kept_as_it_came(raw: bytes) -> None:
    kept = REDACTOR.json_body(raw)
    assert kept.redaction in ("fields", "withheld")
    if kept.redaction == "withheld":
        assert kept.raw == b""
