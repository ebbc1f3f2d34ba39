"""Dead-letter records on ``office.deadletter.v1``.

Headers follow Kafka Connect's error-context style (``dlq.*``, DESIGN §3) so ops tools can filter
without decoding the value; the value is JSON that keeps the raw input whole: UTF-8 text as is,
anything else base64 (the first :data:`MAX_RAW` bytes, with the size and digest of the whole).
The key is the connector's ``source`` URI. Letters of the HTTP intakes are redacted
(``redaction``, connectors/runtime/privacy.py): they keep no personal data in clear.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.envelope import DecodeError, Header, event_id

__all__ = ["MAX_RAW", "OUTBOX_META", "UNKNOWN_DEPARTMENT", "DeadLetter"]

MAX_RAW = 256 * 1024
"""Raw bytes a dead letter keeps: a hostile multi-megabyte input must not make the dead letter
itself too large for the broker (Kafka's default message limit is 1 MB)."""
UNKNOWN_DEPARTMENT = "unknown-department"
"""The worker's reason for a department notice it could not send: no such department in the
directory, so no outbox (streams/worker/agents.py)."""
OUTBOX_META = "outbox"
"""Where such a letter's notice was going: the topic a re-drive sends it to."""


class DeadLetter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Deterministic: the same input at the same position, same id.")
    reason: str = Field(examples=["bad-field-count"], description="Machine-readable category.")
    error: str = Field(description="Human-readable message.")
    source: str = Field(examples=["midfield://fax-log/hylafax-main"])
    position: str = Field(description="Where in the source the input was.")
    connector: str = Field(examples=["fax-log"])
    attempts: Annotated[int, Field(ge=1)] = 1
    first_seen: datetime
    raw: str
    raw_encoding: Literal["utf-8", "base64"]
    raw_size: int = Field(description="Size of the whole input in bytes.")
    raw_sha256: str = Field(
        description=(
            "Digest of the whole input, kept even when raw is cut: SHA-256, or when ``redaction`` "
            "is set HMAC-SHA256 under MIDFIELD_PRIVACY_KEY (a plain digest of a short input, a "
            "phone number, is reversed by trying them all)."
        )
    )
    raw_truncated: bool = Field(False, description="raw holds only the first MAX_RAW bytes.")
    meta: dict[str, str] = Field(default_factory=dict, description="Input headers, file names.")
    redaction: Literal["fields", "withheld"] | None = Field(
        None,
        description=(
            "Personal data is not kept in clear: ``fields``: raw is the input with personal "
            "values replaced by keyed digests; ``withheld``: the input could not be parsed, raw "
            "is empty and only its size and keyed digest are kept."
        ),
    )
    resolved: Literal["redriven", "skipped"] | None = Field(
        None,
        description=(
            "Set on the record a re-drive writes once today's parser took the input: its events "
            "(``redriven_ids``) are on their topics, or it is now a documented skip. The latest "
            "record of an ``id`` is its state; a resolved letter is not re-driven again."
        ),
    )
    redriven_ids: list[str] = Field(
        default_factory=list, description="The ids of the events a re-drive made of the input."
    )

    @classmethod
    def of(
        cls,
        raw: bytes,
        *,
        reason: str,
        error: str,
        source: str,
        position: str,
        connector: str,
        first_seen: datetime,
        attempts: int = 1,
        meta: dict[str, str] | None = None,
    ) -> DeadLetter:
        """A letter keeping ``raw``: UTF-8 text as is, anything else base64; at most its first
        :data:`MAX_RAW` bytes, with the size and SHA-256 of the whole."""
        kept = raw[:MAX_RAW]
        try:
            text, encoding = kept.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(kept).decode("ascii"), "base64"
        return cls(
            id=event_id(source, position),
            reason=reason,
            error=error,
            source=source,
            position=position,
            connector=connector,
            attempts=attempts,
            first_seen=first_seen,
            raw=text,
            raw_encoding=encoding,
            raw_size=len(raw),
            raw_sha256=hashlib.sha256(raw).hexdigest(),
            raw_truncated=len(raw) > MAX_RAW,
            meta=meta or {},
        )

    def redacted(
        self, redaction: Literal["fields", "withheld"], *, size: int, keyed_digest: str
    ) -> DeadLetter:
        """This letter, made of the input's redacted view (``raw``), with the whole input's
        ``size`` and ``keyed_digest`` in place of the view's."""
        return self.model_copy(
            update={"raw_size": size, "raw_sha256": keyed_digest, "redaction": redaction}
        )

    def raw_bytes(self) -> bytes:
        if self.raw_encoding == "utf-8":
            return self.raw.encode("utf-8")
        return base64.b64decode(self.raw)

    def headers(self) -> list[Header]:
        attrs = {
            "dlq.id": self.id,
            "dlq.reason": self.reason,
            "dlq.error": self.error,
            "dlq.source": self.source,
            "dlq.position": self.position,
            "dlq.connector": self.connector,
            "dlq.attempts": str(self.attempts),
            "dlq.first_seen": self.first_seen.isoformat(),
            "content-type": "application/json",
        }
        if self.resolved is not None:
            attrs["dlq.resolved"] = self.resolved
        return [(k, v.encode()) for k, v in attrs.items()]

    def key(self) -> bytes:
        return self.source.encode()

    def value(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_value(cls, value: bytes) -> DeadLetter:
        try:
            letter = cls.model_validate_json(value)
            letter.raw_bytes()
            return letter
        except ValueError as exc:  # pydantic's, binascii's, and a raw that cannot be bytes:
            # base64 text that is not ASCII, UTF-8 text with a lone surrogate (UnicodeError)
            first = str(exc).splitlines()[:1] or [type(exc).__name__]
            raise DecodeError("invalid-dead-letter", first[0]) from exc
