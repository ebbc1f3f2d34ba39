"""What a dead letter of an HTTP intake may keep of a request: no personal data in clear.

``office.deadletter.v1`` is kept forever, and what the public sends holds citizens' personal
data (issue 18). So a letter of the board, hotline, WeChat, duty or tasks intake keeps:

* a body that parses (a JSON object, WeChat's flat XML): the body, with the value of every
  personal field (:data:`PERSONAL`: phone, contact, names, ID numbers, OpenID …) and every
  phone- or ID-number-like run in any text replaced by a **keyed** digest
  (``hmac-sha256:<hex>``; a plain SHA-256 of a phone number is reversed by trying all 10^11);
  the same value gives the same digest under one key, so letters can still be matched up;
* a body that does not parse (``withheld``): nothing of it but its size and keyed digest. Its
  fields cannot be told apart, so any byte may be personal; these letters are never re-driven
  (the sender was answered 4xx and resends, midfield/replay/reparse.py) and the sender still holds
  the body, so a copy — even encrypted, under a key that then guards a forever-kept topic —
  would only add risk. The letter's reason and error say what was wrong with it.

The key is ``MIDFIELD_PRIVACY_KEY``; without one, a random key per process (digests are then
comparable only within one run).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["PERSONAL", "Kept", "Redactor"]

PERSONAL = frozenset(
    {
        "contact",
        "phone",
        "mobile",
        "tel",
        "telephone",
        "caller_phone",
        "person",
        "name",
        "caller",
        "citizen",
        "id_number",
        "id_card",
        "idcard",
        "address",
        "openid",
        "fromusername",
        "encrypt",  # WeChat's ciphertext: the office holds its key, so it is the message itself
        "联系电话",
        "手机号码",
        "电话",
        "联系人",
        "来电人",
        "姓名",
        "身份证号",
        "身份证号码",
        "地址",
    }
)
"""Field names (compared in lower case) whose values are personal data."""

_NUMBERS = re.compile(
    r"(?<![0-9])(?:1[3-9][0-9]{9}|[0-9]{17}[0-9Xx]|0[0-9]{2,3}-?[0-9]{7,8})(?![0-9])"
)
"""Mainland mobile numbers, 18-character ID numbers, landlines with an area code."""


@dataclass(frozen=True)
class Kept:
    """What a letter keeps: ``raw`` (the redacted body, or ``b""``) and how it was redacted."""

    raw: bytes
    redaction: Literal["fields", "withheld"]


class Redactor:
    """Keyed digests of personal values, and the redacted views of bodies."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def digest(self, value: bytes) -> str:
        return hmac.new(self.key, value, hashlib.sha256).hexdigest()

    def text(self, value: str) -> str:
        return "hmac-sha256:" + self.digest(value.encode("utf-8", "surrogatepass"))

    def scrubbed(self, value: str) -> str:
        """``value`` with phone- and ID-number-like runs digested."""
        return _NUMBERS.sub(lambda m: self.text(m.group()), value)

    def fields(self, value: Any) -> Any:
        """A JSON value with personal fields and number runs digested, at any depth."""
        if isinstance(value, dict):
            return {key: self._field(key, item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.fields(item) for item in value]
        return self.scrubbed(value) if isinstance(value, str) else value

    def _field(self, key: str, value: Any) -> Any:
        if key.lower() not in PERSONAL:
            return self.fields(value)
        if value is None or value == "":
            return value
        return self.text(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))

    def json_body(self, raw: bytes) -> Kept:
        """A JSON object redacted by field; anything else withheld."""
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return Kept(b"", "withheld")
        if not isinstance(body, dict):
            return Kept(b"", "withheld")
        try:
            kept = json.dumps(self.fields(body), ensure_ascii=False)
        except RecursionError:  # deeper than Python recurses: nothing can be told apart
            return Kept(b"", "withheld")
        return Kept(kept.encode("utf-8", "surrogatepass"), "fields")

    def flat_fields(self, fields: dict[str, str]) -> Kept:
        """A flat message (WeChat's XML fields) redacted by field, kept as JSON."""
        return Kept(json.dumps(self.fields(fields), ensure_ascii=False).encode(), "fields")
