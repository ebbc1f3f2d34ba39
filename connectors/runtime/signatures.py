"""Checking the credentials of signed HTTP requests (board, hotline, WeChat), safely.

* :func:`same_secret` compares a credential in constant time **on bytes**: ``hmac.compare_digest``
  raises ``TypeError`` on a ``str`` that is not ASCII, which answered 500 to a signature header
  of ``中`` (issue 18). A malformed credential is a 4xx, never a 500.
* :class:`ReplayCache` remembers which request ids (a webhook-id, WeChat's timestamp and nonce)
  were seen within the timestamp tolerance, each bound to a digest of its body: the same id with
  the same body is the sender's retry (taken again; event ids make it one event), the same id
  with another body is a replay and refused.
* :class:`StandardWebhook` verifies ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature`` as https://www.standardwebhooks.com/ specifies (the department sink signs
  the same way, with the ``standardwebhooks`` package). Verification is done here on the raw
  bytes rather than by ``Webhook.verify``: that decodes the body as UTF-8 (a non-UTF-8 body
  raised ``UnicodeDecodeError``), splits and base64-decodes signatures unguarded
  (``ValueError``), and reads the wall clock; tests/unit/test_signatures.py proves that what
  the package signs verifies here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from enum import Enum

from midfield.errors import ConfigError, Rejected

__all__ = [
    "MAX_REMEMBERED",
    "TOLERANCE_S",
    "ReplayCache",
    "Seen",
    "StandardWebhook",
    "same_secret",
    "webhook_key",
]

TOLERANCE_S = 300
"""A Standard Webhooks timestamp further than this from now is refused: the ``standardwebhooks``
package's own tolerance (5 minutes), so both ends agree."""
MAX_REMEMBERED = 100_000
"""Request ids a :class:`ReplayCache` holds at most; only signed requests are remembered, so
only a sender with the secret can fill it, and then new requests wait (429), never forgotten."""

_ID = re.compile(r"[\x21-\x7e]{1,256}")
_STAMP = re.compile(r"[0-9]{1,12}")


def _bytes(value: str | bytes) -> bytes:
    # surrogatepass: aiohttp hands undecodable header bytes over as lone surrogates
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def same_secret(given: str | bytes, expected: str | bytes) -> bool:
    """Whether ``given`` equals ``expected``, in constant time, compared as bytes (any text)."""
    return hmac.compare_digest(_bytes(given), _bytes(expected))


class Seen(Enum):
    new = "new"
    retry = "retry"  # same id, same body
    replay = "replay"  # same id, another body


class ReplayCache:
    """Request ids seen until they expire (their timestamp's tolerance ends), bounded."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self.limit = limit
        self._seen: dict[str, tuple[float, bytes]] = {}
        self._expiry: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._seen)

    def see(self, key: str, body: bytes, *, expires: float, now: float) -> Seen:
        """Remember ``key`` for ``body`` until ``expires``; what it was. 429 when full."""
        self._forget(now)
        digest = hashlib.sha256(body).digest()
        known = self._seen.get(key)
        if known is not None and known[1] != digest:
            return Seen.replay
        if known is None and len(self._seen) >= self.limit:
            raise Rejected(
                "too many signed requests to remember; try again later",
                reason="too-many-requests",
                status=429,
            )
        until = max(expires, known[0]) if known else expires
        self._seen[key] = (until, digest)
        heapq.heappush(self._expiry, (until, key))
        return Seen.retry if known else Seen.new

    def _forget(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] < now:
            until, key = heapq.heappop(self._expiry)
            if key in self._seen and self._seen[key][0] == until:
                del self._seen[key]


def webhook_key(secret: str, setting: str) -> bytes:
    """The signing key of a Standard Webhooks secret (``whsec_`` + base64); ``b""`` for none."""
    if not secret:
        return b""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not secret.startswith("whsec_") or not key:
        raise ConfigError(
            f"{setting} must be whsec_ followed by the base64 of the key (Standard Webhooks); "
            "an existing secret S converts as whsec_$(printf %s S | base64 -w0) — docs/board.md",
            reason="bad-webhook-secret",
        )
    return key


class StandardWebhook:
    """Verify a Standard Webhooks request and remember its id (docs/board.md, docs/hotline.md).

    ``legacy``: the header of the old ``sha256=<hex HMAC>`` scheme, refused with a reason that
    names the new one: it has no timestamp, so a captured request could be replayed forever."""

    def __init__(self, key: bytes, *, legacy: str, cache: ReplayCache | None = None) -> None:
        self.key, self.legacy = key, legacy
        self.seen = cache or ReplayCache()

    def verify(self, headers: Mapping[str, str], raw: bytes, now: datetime) -> str:
        """The request's ``webhook-id``; :class:`Rejected` (401, 409, 429) when it may not pass."""
        msg_id, stamp, signatures = (
            headers.get(f"webhook-{name}", "") for name in ("id", "timestamp", "signature")
        )
        if not (msg_id or stamp or signatures) and self.legacy in headers:
            raise _unauthenticated(
                f"{self.legacy} is no longer accepted: sign with Standard Webhooks "
                "(webhook-id, webhook-timestamp, webhook-signature)",
                "old-signature-scheme",
            )
        if not (_ID.fullmatch(msg_id) and _STAMP.fullmatch(stamp) and signatures):
            raise _unauthenticated(
                "missing or malformed webhook-id, webhook-timestamp or webhook-signature",
                "bad-signature",
            )
        if abs(now.timestamp() - int(stamp)) > TOLERANCE_S:
            raise _unauthenticated(
                f"webhook-timestamp is over {TOLERANCE_S} s from now", "stale-timestamp"
            )
        if not self._signed(msg_id, stamp, signatures, raw):
            raise _unauthenticated("webhook-signature does not match", "bad-signature")
        seen = self.seen.see(msg_id, raw, expires=int(stamp) + TOLERANCE_S, now=now.timestamp())
        if seen is Seen.replay:
            raise Rejected(
                "this webhook-id was already used for another body",
                reason="webhook-id-reused",
                status=409,
            )
        return msg_id

    def _signed(self, msg_id: str, stamp: str, signatures: str, raw: bytes) -> bool:
        """Whether one ``v1,<base64>`` of ``signatures`` is the HMAC-SHA256 of
        ``id.timestamp.body``; every candidate is compared, malformed ones never match."""
        expected = hmac.new(self.key, f"{msg_id}.{stamp}.".encode() + raw, hashlib.sha256).digest()
        matched = False
        for candidate in signatures.split(" ")[:8]:
            version, _, encoded = candidate.partition(",")
            try:
                given = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):  # ValueError: text that is not ASCII
                continue
            matched |= version == "v1" and same_secret(given, expected)
        return matched


def _unauthenticated(message: str, reason: str) -> Rejected:
    return Rejected(message, reason=reason, status=401)
