"""A message-board message and its reply as events: pure, shared by the board's two inputs.

The webhook (:mod:`connectors.sources.board`) and the export import
(:mod:`connectors.sources.board_export`) give the same fields; a message becomes
:class:`PublicMessageReceived` (id ``board-<留言编号>``), a reply :class:`PublicMessageReplied`.
Ids come from the message id alone, so a re-sent webhook or a re-imported export (or both) is
applied once. The submitter's phone number never travels: only a salted digest of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from midfield.departments import Directory
from midfield.errors import ParseError
from schemas.envelope import Envelope, EventData
from schemas.errors import parse_error
from schemas.events.message import (
    MessageCategory,
    MessageChannel,
    PublicMessageReceived,
    PublicMessageReplied,
)

__all__ = ["HEADERS", "BoardEvents", "BoardMessage"]

HEADERS = {
    "留言编号": "id",
    "编号": "id",
    "留言时间": "received_at",
    "提交时间": "received_at",
    "留言类别": "category",
    "类别": "category",
    "标题": "title",
    "留言标题": "title",
    "留言内容": "content",
    "内容": "content",
    "联系电话": "contact",
    "手机号码": "contact",
    "办理单位": "department",
    "承办单位": "department",
    "回复内容": "reply",
    "答复内容": "reply",
    "回复时间": "replied_at",
    "答复时间": "replied_at",
    "回复单位": "replied_by",
}
"""The export's Chinese headers -> fields (the webhook uses the field names themselves)."""
_CATEGORIES = {"咨询": "consultation", "求助": "help", "投诉": "complaint", "建议": "suggestion"}


class BoardMessage(BaseModel):
    """One message as the board gives it (webhook JSON or an export row)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=60, pattern=r"^[^\s/]+$")
    received_at: datetime | None = None
    category: str = ""
    title: str = Field("", max_length=200)
    content: str = Field("", max_length=20_000)
    contact: str = Field("", max_length=100)
    department: str = ""
    reply: str = Field("", max_length=20_000)
    replied_at: datetime | None = None
    replied_by: str = ""


@dataclass(frozen=True)
class BoardEvents:
    """What the board sends, as the events of one connector (``source``). Pure: ``now`` stands
    for a time the board left out."""

    source: str
    zone: ZoneInfo
    """The zone of times written without an offset."""
    directory: Directory
    salt: bytes
    """Of the submitters' digests (:func:`connectors.sources.board.submitter_salt`)."""

    def message(self, fields: dict[str, Any], now: datetime) -> list[Envelope]:
        """The events of one message (and its reply, when it has one)."""
        try:
            msg = BoardMessage.model_validate(
                {k: v for k, v in fields.items() if v not in (None, "")}
            )
        except ValidationError as exc:
            raise parse_error(exc, "invalid-message", root="") from exc
        department = _code(msg.department, self.directory)
        subject = f"board-{msg.id}"
        received = PublicMessageReceived(
            message_id=subject,
            channel=MessageChannel.board,
            category=_category(msg.category),
            title=msg.title,
            content=msg.content,
            department=department,
            submitter="sha256:" + hashlib.sha256(self.salt + msg.contact.encode()).hexdigest()
            if msg.contact
            else "",
        )

        def wrap(event: EventData, part: str, at: datetime | None) -> Envelope:
            return Envelope.wrap(
                event,
                source=self.source,
                position=f"{part}/{msg.id}",
                subject=subject,
                time=_aware(at, self.zone) or now,
            )

        events = [wrap(received, "message", msg.received_at)]
        if msg.reply:
            replied = PublicMessageReplied(
                message_id=subject,
                reply=msg.reply,
                department=_code(msg.replied_by, self.directory) or department,
            )
            events.append(wrap(replied, "reply", msg.replied_at))
        return events

    def reply(self, fields: dict[str, Any], now: datetime) -> list[Envelope]:
        """The event of a reply sent alone (the webhook's ``/board/replies``)."""
        message_id = str(fields.get("message_id") or "")
        text = str(fields.get("reply") or "").strip()
        if not message_id or not text:
            raise ParseError("invalid-reply", "a reply needs message_id and reply")
        alone = {
            "id": message_id,
            "reply": text,
            "replied_at": fields.get("replied_at"),
            "replied_by": fields.get("department", ""),
        }
        return self.message(alone, now)[1:]


def _aware(when: datetime | None, zone: ZoneInfo) -> datetime | None:
    return when.replace(tzinfo=zone) if when is not None and when.tzinfo is None else when


def _category(text: str) -> MessageCategory:
    value = _CATEGORIES.get(text, text or "other")
    try:
        return MessageCategory(value)
    except ValueError as exc:
        raise ParseError("unknown-category", f"category {text!r}") from exc


def _code(text: str, directory: Directory) -> str:
    code = directory.code_of(text) if text else ""
    if code is None:
        raise ParseError("unknown-department", f"{text!r} is not in the departments file")
    return code
