"""The duty officer's API (值班): calls and visits, emergency reports and their follow-ups.

``midfield connect duty --port 8071`` serves, for the office's key only (docs/duty.md)::

    POST /duty/entries                                a call or a visit (来电、来访)
    POST /duty/emergencies                            an emergency's first report (首报)
    POST /duty/emergencies/{report_id}/follow-ups     a numbered follow-up (续报一, 续报二 …)
    POST /duty/emergencies/{report_id}/close          the emergency is over (终报)
    POST /duty/items                                  an incoming document registered (收文)
    POST /duty/items/{item_id}/sign|handle|close      an incoming item signed (签阅, sets its
                                                      urgency), handed on (办理), closed (办结)
    POST /duty/alerts/{alert_id}/acknowledge          someone is on an alert (it stays open)
    GET  /duty                                        a minimal form for the duty officer

An entry's or report's own id is its idempotency key (the same entry id, or the same report id
and follow-up number, sent twice is one event); without one the server makes an id, from the
``Idempotency-Key`` header when there is one. A follow-up or close of an emergency with no first
report on the bus answers 404 ``unknown-emergency``. ``time``
(ISO 8601; office time when it has no offset) is when the call came in, default now. Answers:
201/202 once the broker has the event, 401 unknown key, 403 a department's key, 422 with the
fields (and a dead letter), 400 not JSON, 413 too large, 503 broker unavailable.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, ClassVar, TypeVar, Unpack

from aiohttp import web

from connectors.runtime.follow import FollowingApi, following
from connectors.runtime.guard import KEYED, OPEN, PERSON, allow
from connectors.runtime.http_requests import (
    Invalid,
    bearer_principal,
    json_object,
    made_id,
    stated_time,
    validated,
)
from connectors.runtime.intake import Intake
from connectors.runtime.source import Place
from midfield.departments import OFFICE, Directory
from midfield.errors import Rejected
from schemas.envelope import Envelope, EventData
from schemas.events.alert import AlertAcknowledged
from schemas.events.duty import (
    DocumentRegistered,
    DutyEntryRecorded,
    EmergencyClosed,
    EmergencyReported,
    ItemHandled,
    ItemStep,
)

__all__ = ["DutyApi"]

M = TypeVar("M", bound=EventData)

_ITEM_STEPS = {"sign": ItemStep.signed, "handle": ItemStep.handling, "close": ItemStep.closed}

_FORM = files("connectors.sources").joinpath("duty_form.html")


class DutyApi(FollowingApi):
    """Serve the duty officer's API: calls, visits, emergency reports (see docs/duty.md)."""

    name: ClassVar[str] = "duty"
    follows = DutyEntryRecorded.topic
    reading = "reading the duty topic"
    deployment = following(
        follows,
        note="The duty officers' API (reads duty entries back for the open emergencies).",
        port=8071,
    )

    def __init__(self, *, directory: Directory, **place: Unpack[Place]) -> None:
        super().__init__(directory=directory, **place)
        self._reports: set[str] = set()
        """Emergencies with a first report on the bus (followed from the duty topic)."""

    def take(self, envelope: Envelope) -> None:
        if isinstance(envelope.data, EmergencyReported) and envelope.data.sequence == 0:
            self._reports.add(envelope.data.report_id)

    def routes(self, intake: Intake) -> list[web.RouteDef]:
        def post(path: str, make: Maker, signer: str) -> web.RouteDef:
            return allow(KEYED, web.post(path, self._handler(intake, make, signer)))

        return [
            post("/duty/entries", self._entry, "recorder"),
            post("/duty/emergencies", self._first_report, "recorder"),
            post("/duty/emergencies/{report_id}/follow-ups", self._follow_up, "recorder"),
            post("/duty/emergencies/{report_id}/close", self._close, "recorder"),
            post("/duty/items", self._document, "by"),
            post("/duty/alerts/{alert_id:.+}/acknowledge", self._ack, "by"),
            *[
                post(f"/duty/items/{{item_id}}/{path}", self._item(step), "by")
                for path, step in _ITEM_STEPS.items()
            ],
            allow(OPEN, web.get("/duty", self._form)),  # a blank form; it posts with a key
        ]

    def _handler(self, intake: Intake, make: Maker, signer: str) -> Any:
        """A route's handler: the office only, the body with its ``time``, ``signer``
        (``recorder`` or ``by``) signed (:func:`_signed`), the event ``make`` makes of it."""

        async def handle(request: web.Request) -> web.Response:
            if bearer_principal(request, self.directory) != OFFICE:
                raise Rejected("the duty API is the office's", reason="office-only", status=403)
            raw = await request.read()
            call = _Call(intake, raw, request, f"{request.method} {request.path}")
            body = await json_object(intake, raw, call.where)
            stated = body.pop("time", None)
            at = await stated_time(
                intake, raw, stated, call.where, clock=self.clock, zone=self.zone
            )
            _signed(body, request, signer)
            event, position = await make(call, body)
            envelope = self.envelope(event, position=position, subject=_subject(event), time=at)
            await intake.publish(envelope)
            self.take(envelope)
            created = isinstance(event, DutyEntryRecorded | EmergencyReported | DocumentRegistered)
            return web.json_response(
                {"id": envelope.id, "subject": envelope.subject}, status=201 if created else 202
            )

        return handle

    # -- what each route makes of its body, and the event's position -----------------------
    async def _entry(self, call: _Call, body: dict[str, Any]) -> tuple[EventData, str]:
        body.setdefault("entry_id", made_id("D", call.request))
        event = await call.validated(DutyEntryRecorded, body)
        return event, f"entry/{event.entry_id}"

    async def _first_report(self, call: _Call, body: dict[str, Any]) -> tuple[EventData, str]:
        body.setdefault("report_id", made_id("EM", call.request))
        event = await call.validated(EmergencyReported, body | {"sequence": 0})
        return event, f"emergency/{event.report_id}/0"

    async def _follow_up(self, call: _Call, body: dict[str, Any]) -> tuple[EventData, str]:
        report = self._known(call.request.match_info["report_id"])
        event = await call.validated(EmergencyReported, body | {"report_id": report})
        if event.sequence < 1:
            raise Invalid([{"field": "sequence", "message": "a follow-up is numbered from 1"}])
        return event, f"emergency/{event.report_id}/{event.sequence}"

    async def _close(self, call: _Call, body: dict[str, Any]) -> tuple[EventData, str]:
        report = self._known(call.request.match_info["report_id"])
        event = await call.validated(EmergencyClosed, body | {"report_id": report})
        return event, f"emergency/{event.report_id}/close"

    async def _document(self, call: _Call, body: dict[str, Any]) -> tuple[EventData, str]:
        event = await call.validated(DocumentRegistered, body)
        return event, f"item/{event.number}/registered"

    async def _ack(self, call: _Call, body: dict[str, Any]) -> tuple[EventData, str]:
        alert = call.request.match_info["alert_id"]
        event = await call.validated(AlertAcknowledged, body | {"alert_id": alert})
        return event, f"alert/{event.alert_id}/ack/{uuid.uuid4().hex[:8]}"

    def _known(self, report_id: str) -> str:
        if report_id not in self._reports:
            raise Rejected(
                f"no first report of emergency {report_id}: send it first",
                reason="unknown-emergency",
                status=404,
            )
        return report_id

    def _item(self, step: ItemStep) -> Maker:
        async def make(call: _Call, body: dict[str, Any]) -> tuple[EventData, str]:
            data = body | {"item_id": call.request.match_info["item_id"], "step": step.value}
            event = await call.validated(ItemHandled, data)
            return event, f"item/{event.item_id}/{step.value}"

        return make

    async def _form(self, request: web.Request) -> web.Response:
        return web.Response(text=_FORM.read_text(encoding="utf-8"), content_type="text/html")


@dataclass(frozen=True, slots=True)
class _Call:
    """One request to a route: what its maker validates the body against, and where."""

    intake: Intake
    raw: bytes
    request: web.Request
    where: str

    async def validated(self, model: type[M], data: dict[str, Any]) -> M:
        return await validated(self.intake, self.raw, model, data, self.where)


Maker = Callable[[_Call, dict[str, Any]], Awaitable[tuple[EventData, str]]]
"""What a route makes of its (signed) body: the event and its position."""


def _subject(event: EventData) -> str:
    """The entity an event is about: its Kafka key."""
    match event:
        case DutyEntryRecorded():
            return event.entry_id
        case EmergencyReported() | EmergencyClosed():
            return event.report_id
        case ItemHandled():
            return event.item_id
        case DocumentRegistered():
            return event.number
        case AlertAcknowledged():
            return event.alert_id
    raise TypeError(type(event).__name__)


def _signed(body: dict[str, Any], request: web.Request, field: str) -> None:
    """With a person signed in, ``field`` (``recorder`` or ``by``) is that person: what a
    person records carries the authenticated principal, not a typed-in name. With the office's
    key the body says who recorded it (and the audit trail that the key did)."""
    if request.get(PERSON):
        body[field] = request[PERSON]
