"""The ``hotline`` source: 12345 / magistrate hotline (县长热线) work orders.

* ``midfield connect hotline [--port 8074]`` serves ``POST /hotline/steps`` for the platform:
  one JSON step of an order's flow record (流转记录), signed like the board's webhook in the
  Standard Webhooks style (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``;
  ``MIDFIELD_HOTLINE_SECRET`` = ``whsec_`` + base64); a wrong, missing or stale signature, or
  the old ``X-Hotline-Signature``, answers 401.
* ``midfield connect hotline --xlsx FILE`` imports the platform's export: one row per order as it
  stands, with Chinese headers (工单编号, 来电时间, 诉求类型, 诉求内容, 承办单位, 工单状态,
  派单时间, 签收时间, 答复时间, 回访时间, 办结时间, 回访结果, 满意度 …), matched by name in any
  order; a missing required column stops the import with its name. A row becomes the steps its
  status implies (accepted, dispatched, signed, replied, callback, closed …), each with the time
  of its column when there is one.

Every step's id comes from the order number and the step (and, for a repeated step, its time,
or when the platform gives none its ``webhook-id``, so a retry or a replay is the same step):
re-importing the same export, a later export of the same orders, or the webhook and the export
together apply each step once (docs/hotline.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Unpack
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import Field, ValidationError

from connectors.runtime.deployment import Deployment
from connectors.runtime.exports import ExportSource, header_keys, keyed_rows, table
from connectors.runtime.guard import SIGNED, allow
from connectors.runtime.http import HttpSource, HttpSourceOptions
from connectors.runtime.http_requests import signed_json
from connectors.runtime.intake import Intake
from connectors.runtime.signatures import StandardWebhook, webhook_key
from connectors.runtime.source import NO_INPUT, Place, Source, at_office
from midfield.departments import Directory, load_directory
from midfield.errors import ParseError, Rejected, StoreError
from midfield.settings import HotlineSettings, Settings
from schemas.envelope import Envelope
from schemas.errors import parse_error
from schemas.events.workorder import Satisfaction, WorkOrderStep, WorkOrderStepped

__all__ = ["HotlineExport", "HotlineOptions", "HotlineWebhook", "row_steps"]

HEADERS = {
    "工单编号": "number",
    "来电时间": "accepted_at",
    "受理时间": "accepted_at",
    "诉求类型": "category",
    "诉求内容": "content",
    "承办单位": "units",
    "办理时限": "deadline",
    "工单状态": "status",
    "派单时间": "dispatched_at",
    "签收时间": "signed_at",
    "答复时间": "replied_at",
    "回访时间": "callback_at",
    "办结时间": "closed_at",
    "回访结果": "callback",
    "满意度": "satisfaction",
}
REQUIRED = ("number", "accepted_at", "status")
_CATEGORIES = {
    "咨询": "consultation",
    "求助": "help",
    "投诉": "complaint",
    "举报": "report",
    "建议": "suggestion",
}
_SATISFACTION = {
    "满意": Satisfaction.satisfied,
    "基本满意": Satisfaction.basically_satisfied,
    "不满意": Satisfaction.dissatisfied,
}
T = WorkOrderStep
_BY_STATUS: dict[str, tuple[WorkOrderStep, ...]] = {
    "已受理": (T.accepted,),
    "待派单": (T.accepted,),
    "已派单": (T.accepted, T.dispatched),
    "待签收": (T.accepted, T.dispatched),
    "已签收": (T.accepted, T.dispatched, T.signed),
    "办理中": (T.accepted, T.dispatched, T.signed, T.handling),
    "已答复": (T.accepted, T.dispatched, T.signed, T.replied),
    "已回访": (T.accepted, T.dispatched, T.signed, T.replied, T.callback),
    "已办结": (T.accepted, T.dispatched, T.signed, T.replied, T.callback, T.closed),
    "已退单": (T.accepted, T.dispatched, T.returned),
}
"""工单状态 -> the steps an order in that status has been through."""
_TIME_OF = {
    T.accepted: "accepted_at",
    T.dispatched: "dispatched_at",
    T.signed: "signed_at",
    T.handling: "signed_at",
    T.replied: "replied_at",
    T.callback: "callback_at",
    T.closed: "closed_at",
    T.returned: "dispatched_at",
}


class HotlineOptions(HttpSourceOptions):
    port: int = Field(8074, ge=0, le=65535, description="Port of the webhook.")
    xlsx: Path | None = Field(None, description="Import this XLSX export instead of serving.")
    once: bool = Field(False, description="With --xlsx: read to the end, commit, exit 0.")


def row_steps(
    row: dict[str, Any], *, source: str, zone: ZoneInfo, directory: Directory
) -> list[Envelope]:
    """The steps one export row implies, oldest first. Pure."""
    number = _text(row.get("number"))
    if not number:
        raise ParseError("missing-order-number", "工单编号 is empty")
    status = _text(row.get("status"))
    steps = _BY_STATUS.get(status)
    if steps is None:
        raise ParseError("unknown-status", f"工单状态 {status!r}")
    units = tuple(
        _code(u, directory) for u in re.split(r"[、,，;；\s]+", _text(row.get("units"))) if u
    )
    satisfaction = _SATISFACTION.get(_text(row.get("satisfaction")) or _text(row.get("callback")))
    last = _time(row.get("accepted_at"), zone, "来电时间")
    out = []
    for step in steps:
        if step is T.callback and satisfaction is None:
            continue  # 已办结 without a 回访 result: closed without a callback
        last = _time(row.get(_TIME_OF[step]), zone, _TIME_OF[step], default=last)
        fields: dict[str, Any] = {"order_number": number, "step": step}
        if step is T.accepted:
            fields |= {
                "category": _CATEGORIES.get(_text(row.get("category")), "other"),
                "note": _text(row.get("content"))[:4000],
            }
        if step in (T.dispatched, T.returned):
            if not units:
                raise ParseError("missing-units", "承办单位 is empty")
            fields |= {"units": units} if step is T.dispatched else {"unit": units[0]}
        if step in (T.signed, T.handling, T.replied):
            fields["unit"] = units[0] if units else ""
        if step is T.callback:
            fields["satisfaction"] = satisfaction
        try:
            event = WorkOrderStepped.model_validate(fields)
        except ValidationError as exc:
            raise parse_error(exc, "invalid-step", root=None) from exc
        out.append(
            Envelope.wrap(
                event, source=source, position=f"{number}/{step.value}", subject=number, time=last
            )
        )
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _time(value: Any, zone: ZoneInfo, column: str, default: datetime | None = None) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    text = _text(value)
    if not text:
        if default is None:
            raise ParseError("missing-time", f"{column} is empty")
        return default
    try:
        parsed = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError as exc:
        raise ParseError("bad-time", f"{column} {text!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _code(text: str, directory: Directory) -> str:
    code = directory.code_of(text)
    if code is None:
        raise ParseError("unknown-unit", f"{text!r} is not in the departments file")
    return code


class HotlineWebhook(HttpSource):
    """Serve the hotline platform's webhook, or import its XLSX export (see docs/hotline.md)."""

    name: ClassVar[str] = "hotline"
    options = HotlineOptions
    settings_model = HotlineSettings
    deployment = Deployment(
        note="The 12345 hotline webhook: work order steps.",
        writes=(WorkOrderStepped.topic,),
        port=8074,
        secrets=True,
    )

    def __init__(self, *, key: bytes, **place: Unpack[Place]) -> None:
        super().__init__(**place)
        self.signed = StandardWebhook(key, legacy="X-Hotline-Signature")

    @classmethod
    def from_options(cls, options: Any, settings: Settings) -> Any:
        if options.xlsx:
            return HotlineExport(
                path=options.xlsx,
                directory=load_directory(settings.departments),
                **at_office(options.instance, settings),
            )
        key = webhook_key(settings.hotline.secret.get_secret_value(), "MIDFIELD_HOTLINE_SECRET")
        if not key:
            raise Rejected("MIDFIELD_HOTLINE_SECRET is not set", reason="hotline-secret")
        return cls(key=key, **at_office(options.instance, settings))

    @classmethod
    def reparser(cls, instance: str, settings: Settings) -> Source:
        """Letters of the export import (a row each) are parsed again; the webhook's were
        answered 4xx."""
        return HotlineExport(path=NO_INPUT, directory=load_directory(settings.departments),
                             **at_office(instance, settings))  # fmt: skip

    def routes(self, intake: Intake) -> list[web.RouteDef]:
        return [allow(SIGNED, web.post("/hotline/steps", self._step(intake)))]

    def _step(self, intake: Intake) -> Any:
        async def handle(request: web.Request) -> web.Response:
            raw, body, webhook_id = await signed_json(intake, request, self.signed, self.clock())
            at = body.pop("time", None)
            try:
                event = WorkOrderStepped.model_validate(body)
                when = _time(at, self.zone, "time", default=self.clock())
            except ValidationError as exc:
                error = parse_error(exc, "invalid-step", root=None)
                raise await intake.refused(raw, error, "POST /hotline/steps") from exc
            except ParseError as exc:
                raise await intake.refused(raw, exc, "POST /hotline/steps") from exc
            position = f"{event.order_number}/{event.step.value}"
            if event.step in (
                T.dispatched,
                T.reopened,
                T.returned,
                T.extension_requested,
                T.extension_approved,
                T.signed,
                T.replied,
            ):
                # these may happen more than once; a step without a time is told apart by its
                # webhook-id, so that a retry (or a replay) of it is the same step
                position += f"@{when.isoformat()}" if _text(at) else f"#{webhook_id}"
            envelope = Envelope.wrap(
                event, source=self.uri, position=position, subject=event.order_number, time=when
            )
            await intake.publish(envelope)
            return web.json_response({"id": envelope.id}, status=202)

        return handle


class HotlineExport(ExportSource):
    """The platform's XLSX export, a row per order (position: file digest and row)."""

    name: ClassVar[str] = "hotline"

    def row_events(self, row: dict[str, Any]) -> list[Envelope]:
        return row_steps(row, source=self.uri, zone=self.zone, directory=self.directory)

    def rows(self, content: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
        rows = table(self.path, content)
        keys = header_keys(HEADERS, rows[0] if rows else [])
        first_header = {field: name for name, field in reversed(HEADERS.items())}
        missing = [first_header[field] for field in REQUIRED if field not in keys]
        if missing:
            raise StoreError(
                f"{self.path.name} lacks required columns: {', '.join(missing)}",
                reason="not-a-hotline-export",
            )
        yield from keyed_rows(rows, keys)
