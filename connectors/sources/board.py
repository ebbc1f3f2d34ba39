"""The ``board`` source: the county website's public message board (公众留言台).

Two inputs, one shape (docs/board.md):

* ``midfield connect board [--port 8073]`` serves a webhook for the board's system:
  ``POST /board/messages`` (a new message) and ``POST /board/replies`` (a published reply),
  JSON, signed in the Standard Webhooks style (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``; ``MIDFIELD_BOARD_SECRET`` = ``whsec_`` + base64): a missing, wrong or
  stale signature, or the old ``X-Board-Signature``, answers 401 (connectors/runtime/signatures.py).
* ``midfield connect board --csv FILE`` or ``--xlsx FILE`` imports the board's export (Chinese
  headers: 留言编号, 留言时间, 留言类别, 标题, 留言内容, 联系电话, 办理单位, 回复内容, 回复时间 …).

A message becomes :class:`PublicMessageReceived` (id ``board-<留言编号>``), a reply
:class:`PublicMessageReplied`; ids come from the message id alone, so a re-sent webhook or a
re-imported export (or both, for the same message) is applied once. The submitter's phone
number never travels: only a salted digest of it (nor into the webhook's dead letters:
connectors/runtime/privacy.py). Departments are given by code or by name (the departments
file). A row that cannot be read becomes a dead letter naming its row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings

from connectors.runtime.deployment import Deployment
from connectors.runtime.exports import read_export, row_of, table
from connectors.runtime.guard import SIGNED, allow
from connectors.runtime.http import HttpSource, HttpSourceOptions
from connectors.runtime.http_requests import json_object
from connectors.runtime.intake import Intake
from connectors.runtime.signatures import StandardWebhook, webhook_key
from connectors.runtime.source import NO_INPUT, Position, RawRecord, Reading, Skip, Source
from midfield.clock import Clock, utc_now
from midfield.departments import Directory, load_directory
from midfield.errors import ParseError, Rejected, StoreError
from midfield.settings import Settings, settings_config, settings_part
from schemas.envelope import Envelope
from schemas.errors import parse_error
from schemas.events.message import (
    MessageCategory,
    MessageChannel,
    PublicMessageReceived,
    PublicMessageReplied,
)

__all__ = [
    "BoardExport",
    "BoardOptions",
    "BoardSettings",
    "BoardWebhook",
    "board_events",
    "board_reply",
    "submitter_salt",
]

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


@settings_part
class BoardSettings(BaseSettings):
    """The website's message board (docs/board.md)."""

    model_config = settings_config("MIDFIELD_BOARD_")

    secret: SecretStr = Field(
        SecretStr(""),
        description=(
            "Standard Webhooks secret of the webhook: whsec_ + base64 of the key (docs/board.md "
            "says how to convert an old secret); the key also salts the submitters' digests."
        ),
    )


class BoardOptions(HttpSourceOptions):
    port: int = Field(8073, ge=0, le=65535, description="Port of the webhook.")
    csv: Path | None = Field(None, description="Import this CSV export instead of serving.")
    xlsx: Path | None = Field(None, description="Import this XLSX export instead of serving.")
    once: bool = Field(False, description="With --csv/--xlsx: read to the end, commit, exit 0.")


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


def board_events(
    fields: dict[str, Any],
    *,
    source: str,
    zone: ZoneInfo,
    now: datetime,
    directory: Directory,
    salt: bytes,
) -> list[Envelope]:
    """The events of one message (and its reply, when it has one). Pure."""
    try:
        msg = BoardMessage.model_validate({k: v for k, v in fields.items() if v not in (None, "")})
    except ValidationError as exc:
        raise parse_error(exc, "invalid-message", root="") from exc
    department = _code(msg.department, directory)
    subject = f"board-{msg.id}"
    received = PublicMessageReceived(
        message_id=subject,
        channel=MessageChannel.board,
        category=_category(msg.category),
        title=msg.title,
        content=msg.content,
        department=department,
        submitter="sha256:" + hashlib.sha256(salt + msg.contact.encode()).hexdigest()
        if msg.contact
        else "",
    )
    events = [
        Envelope.wrap(
            received,
            source=source,
            position=f"message/{msg.id}",
            subject=subject,
            time=_aware(msg.received_at, zone) or now,
        )
    ]
    if msg.reply:
        replied = PublicMessageReplied(
            message_id=subject,
            reply=msg.reply,
            department=_code(msg.replied_by, directory) or department,
        )
        events.append(
            Envelope.wrap(
                replied,
                source=source,
                position=f"reply/{msg.id}",
                subject=subject,
                time=_aware(msg.replied_at, zone) or now,
            )
        )
    return events


def board_reply(
    fields: dict[str, Any],
    *,
    source: str,
    zone: ZoneInfo,
    now: datetime,
    directory: Directory,
    salt: bytes,
) -> list[Envelope]:
    """The event of a reply sent alone (the webhook's ``/board/replies``). Pure."""
    message_id, text = str(fields.get("message_id") or ""), str(fields.get("reply") or "").strip()
    if not message_id or not text:
        raise ParseError("invalid-reply", "a reply needs message_id and reply")
    return board_events(
        {
            "id": message_id,
            "reply": text,
            "replied_at": fields.get("replied_at"),
            "replied_by": fields.get("department", ""),
        },
        source=source,
        zone=zone,
        now=now,
        directory=directory,
        salt=salt,
    )[1:]


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


def submitter_salt(settings: Settings) -> bytes:
    """The salt of submitters' digests: the webhook's key (for a secret converted to ``whsec_``,
    the bytes of the old secret, so digests stay what they were)."""
    return webhook_key(
        settings.part(BoardSettings).secret.get_secret_value(), "MIDFIELD_BOARD_SECRET"
    )


class BoardWebhook(HttpSource):
    """Serve the message board's webhook, or import its CSV/XLSX export (see docs/board.md)."""

    name: ClassVar[str] = "board"
    options = BoardOptions
    settings_model = BoardSettings
    deployment = Deployment(
        note="The website's message board: public messages and replies.",
        writes=(PublicMessageReceived.topic,),
        port=8073,
        secrets=True,
        directory=True,
    )

    def __init__(
        self,
        *,
        key: bytes,
        directory: Directory,
        instance: str,
        zone: ZoneInfo,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(instance=instance, zone=zone, clock=clock)
        self.secret = key
        self.signed = StandardWebhook(key, legacy="X-Board-Signature")
        self.directory = directory

    @classmethod
    def from_options(cls, options: Any, settings: Settings) -> Any:
        directory = load_directory(settings.departments)
        if options.csv or options.xlsx:
            return BoardExport(
                path=options.csv or options.xlsx,
                directory=directory,
                salt=submitter_salt(settings),
                instance=options.instance,
                zone=settings.office.zone,
            )
        key = submitter_salt(settings)
        if not key:
            raise Rejected("MIDFIELD_BOARD_SECRET is not set", reason="board-secret")
        return cls(
            key=key,
            directory=directory,
            instance=options.instance,
            zone=settings.office.zone,
        )

    @classmethod
    def reparser(cls, instance: str, settings: Settings) -> Source:
        """Letters of the export import (a row each) are parsed again; the webhook's were
        answered 4xx."""
        directory, salt = load_directory(settings.departments), submitter_salt(settings)
        return BoardExport(path=NO_INPUT, directory=directory, salt=salt, instance=instance,
                           zone=settings.office.zone)  # fmt: skip

    def routes(self, intake: Intake) -> list[web.RouteDef]:
        return [
            allow(SIGNED, web.post("/board/messages", self._handler(intake, reply=False))),
            allow(SIGNED, web.post("/board/replies", self._handler(intake, reply=True))),
        ]

    def _handler(self, intake: Intake, *, reply: bool) -> Any:
        async def handle(request: web.Request) -> web.Response:
            raw = await request.read()
            self.signed.verify(request.headers, raw, self.clock())
            body = await json_object(intake, raw, f"POST {request.path}")
            make = board_reply if reply else board_events
            try:
                events = make(
                    body,
                    source=self.uri,
                    zone=self.zone,
                    now=self.clock(),
                    directory=self.directory,
                    salt=self.secret,
                )
            except ParseError as exc:
                await intake.dead_letter(raw, exc, f"POST {request.path}")
                raise Rejected(str(exc), reason=exc.reason, status=422) from exc
            await intake.publish(*events)
            return web.json_response({"ids": [e.id for e in events]}, status=202)

        return handle


class BoardExport(Source):
    """The board's CSV or XLSX export, read row by row (position: file digest and row)."""

    name: ClassVar[str] = "board"

    def __init__(
        self,
        *,
        path: Path,
        directory: Directory,
        salt: bytes,
        instance: str,
        zone: ZoneInfo,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(instance=instance, zone=zone, clock=clock)
        self.path, self.directory, self.salt = Path(path), directory, salt

    @classmethod
    def from_options(cls, options: Any, settings: Settings) -> Source:
        raise NotImplementedError("made by BoardWebhook.from_options")

    def parse(self, record: RawRecord) -> Envelope | list[Envelope] | Skip:
        fields = row_of(record.raw)
        if not any(fields.values()):
            return Skip("blank-row")
        return board_events(
            fields,
            source=self.uri,
            zone=self.zone,
            now=self.clock(),
            directory=self.directory,
            salt=self.salt,
        )

    def read(self, position: Position | None, *, follow: bool) -> Reading:
        return read_export(self.path, position, self._rows)

    def _rows(self, content: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
        rows = table(self.path, content)
        if not rows:
            return
        keys = [HEADERS.get(re.sub(r"\s+", "", str(h or "")), "") for h in rows[0]]
        if "id" not in keys:
            raise StoreError(
                f"{self.path.name} has no 留言编号 column: not a board export",
                reason="not-a-board-export",
            )
        for number, row in enumerate(rows[1:], start=2):
            yield number, {k: v for k, v in zip(keys, row, strict=False) if k}
