"""The ``board`` source: the county website's public message board (公众留言台).

Two inputs, one shape (docs/board.md):

* ``midfield connect board [--port 8073]`` serves a webhook for the board's system:
  ``POST /board/messages`` (a new message) and ``POST /board/replies`` (a published reply),
  JSON, signed in the Standard Webhooks style (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``; ``MIDFIELD_BOARD_SECRET`` = ``whsec_`` + base64): a missing, wrong or
  stale signature, or the old ``X-Board-Signature``, answers 401 (connectors/runtime/signatures.py).
* ``midfield connect board --csv FILE`` or ``--xlsx FILE`` imports the board's export (Chinese
  headers: 留言编号, 留言时间, 留言类别, 标题, 留言内容, 联系电话, 办理单位, 回复内容, 回复时间 …).

A message becomes :class:`PublicMessageReceived`, a reply :class:`PublicMessageReplied`
(:mod:`connectors.sources.board_message`, pure and shared by both inputs; the export import is
:mod:`connectors.sources.board_export`). The submitter's phone number never travels: only a
salted digest of it (nor into the webhook's dead letters: connectors/runtime/privacy.py).
Departments are given by code or by name (the departments file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Unpack

from aiohttp import web
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from connectors.runtime.deployment import Deployment
from connectors.runtime.guard import SIGNED, allow
from connectors.runtime.http import HttpSource, HttpSourceOptions
from connectors.runtime.http_requests import signed_json
from connectors.runtime.intake import Intake
from connectors.runtime.signatures import StandardWebhook, webhook_key
from connectors.runtime.source import NO_INPUT, Place, Source, at_office
from connectors.sources.board_export import BoardExport
from connectors.sources.board_message import BoardEvents
from midfield.departments import Directory, load_directory
from midfield.errors import ParseError, Rejected
from midfield.settings import Settings, settings_config, settings_part
from schemas.events.message import PublicMessageReceived

__all__ = ["BoardOptions", "BoardSettings", "BoardWebhook", "submitter_salt"]


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

    def __init__(self, *, key: bytes, directory: Directory, **place: Unpack[Place]) -> None:
        super().__init__(**place)
        self.signed = StandardWebhook(key, legacy="X-Board-Signature")
        self.board = BoardEvents(self.uri, self.zone, directory, salt=key)

    @classmethod
    def from_options(cls, options: Any, settings: Settings) -> Any:
        directory = load_directory(settings.departments)
        place = at_office(options.instance, settings)
        if options.csv or options.xlsx:
            return BoardExport(
                path=options.csv or options.xlsx,
                directory=directory,
                salt=submitter_salt(settings),
                **place,
            )
        key = submitter_salt(settings)
        if not key:
            raise Rejected("MIDFIELD_BOARD_SECRET is not set", reason="board-secret")
        return cls(key=key, directory=directory, **place)

    @classmethod
    def reparser(cls, instance: str, settings: Settings) -> Source:
        """Letters of the export import (a row each) are parsed again; the webhook's were
        answered 4xx."""
        directory, salt = load_directory(settings.departments), submitter_salt(settings)
        return BoardExport(path=NO_INPUT, directory=directory, salt=salt,
                           **at_office(instance, settings))  # fmt: skip

    def routes(self, intake: Intake) -> list[web.RouteDef]:
        return [
            allow(SIGNED, web.post("/board/messages", self._handler(intake, reply=False))),
            allow(SIGNED, web.post("/board/replies", self._handler(intake, reply=True))),
        ]

    def _handler(self, intake: Intake, *, reply: bool) -> Any:
        async def handle(request: web.Request) -> web.Response:
            raw, body, _ = await signed_json(intake, request, self.signed, self.clock())
            make = self.board.reply if reply else self.board.message
            try:
                events = make(body, self.clock())
            except ParseError as exc:
                raise await intake.refused(raw, exc, f"POST {request.path}") from exc
            await intake.publish(*events)
            return web.json_response({"ids": [e.id for e in events]}, status=202)

        return handle
