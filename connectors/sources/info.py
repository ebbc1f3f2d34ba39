"""The information reports intake (信息): the office's information staff, and the departments'
clerks for their own candidates, record each step of a report (docs/information.md).

``midfield connect info --port 8075`` serves::

    POST /info/reports                          a candidate (信息线索)        office, departments
    POST /info/reports/{report_id}/draft        a draft or a revision (编写)  office, its department
    POST /info/reports/{report_id}/submit       submitted (报送)              office
    POST /info/reports/{report_id}/adopt        adopted (采用)                office
    POST /info/reports/{report_id}/endorse      endorsed (批示)               office
    POST /info/reports/{report_id}/not-adopted  not adopted (未采用)          office
    POST /info/reports/{report_id}/withdraw     withdrawn (撤回)              office, its department

A caller is the office or a department: an API key (``Authorization: Bearer``), or a person
signed in to the dashboard (an office role acts as the office, a clerk as their department). The
event records who acted — ``actor``, ``by`` (``person:<login>``, ``office``,
``department:<code>``) and ``by_name`` — from that credential: a body that names any of them
answers 422. ``time`` (ISO 8601; office time without an offset) is when the step happened (an
adoption recorded days after the issue came out), default now; a candidate's ``report_id`` is
made when the body gives none. A step the caller may not take answers 403 (audited), a report
never proposed 404, a step the lifecycle does not allow 409
(schemas/events/info_lifecycle.py); a body that is not JSON 400, one that does not validate 422
with the fields, both dead-lettered. Accepted: 201 (a candidate) or 202 once the broker has the
event. An ``Idempotency-Key`` makes a retried request the same event (200, applied once); the
same key (per caller) on another request answers 422 ``idempotency-key-reused``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, Unpack

from aiohttp import web
from pydantic import Field

from connectors.runtime.deployment import Deployment
from connectors.runtime.follow import FollowingApi
from connectors.runtime.guard import ACTOR, KEYED, PERSON, allow
from connectors.runtime.http import HttpSourceOptions
from connectors.runtime.http_requests import (
    bearer_principal,
    invalid,
    json_object,
    made_id,
    stated_time,
    validated,
)
from connectors.runtime.idempotency import accept_once
from connectors.runtime.intake import Intake
from connectors.runtime.source import Place
from connectors.sources.info_view import InfoView
from midfield.departments import Directory
from midfield.errors import Rejected
from midfield.logging import get_logger
from schemas.envelope import Envelope
from schemas.events.info import (
    InfoEvent,
    InfoReportAdopted,
    InfoReportDrafted,
    InfoReportEndorsed,
    InfoReportNotAdopted,
    InfoReportProposed,
    InfoReportSubmitted,
    InfoReportWithdrawn,
)
from schemas.events.info_lifecycle import Illegal, may_act, next_status

__all__ = ["STEPS", "InfoApi", "InfoOptions"]

log = get_logger(__name__)

STEPS: dict[str, type[InfoEvent]] = {
    "draft": InfoReportDrafted,
    "submit": InfoReportSubmitted,
    "adopt": InfoReportAdopted,
    "endorse": InfoReportEndorsed,
    "not-adopted": InfoReportNotAdopted,
    "withdraw": InfoReportWithdrawn,
}
"""Path after ``/info/reports/{report_id}/`` -> the event it makes."""

_FROM_CREDENTIAL = ("actor", "by", "by_name")

_REUSED = "this Idempotency-Key was used for another request: send it with a new key"


class InfoOptions(HttpSourceOptions):
    port: int = Field(8075, ge=0, le=65535, description="Port to listen on.")


class InfoApi(FollowingApi):
    """Serve the information reports intake (see docs/information.md)."""

    name: ClassVar[str] = "info"
    options = InfoOptions
    deployment = Deployment(
        note="The information reports' intake (reads its report events back for its view).",
        writes=(InfoEvent.topic,),
        reads=(InfoEvent.topic,),
        port=8075,
    )
    follows = InfoEvent.topic
    reading = "reading the information reports topic"

    def __init__(self, *, directory: Directory, **place: Unpack[Place]) -> None:
        super().__init__(directory=directory, **place)
        self.view = InfoView()

    def take(self, envelope: Envelope) -> None:
        self.view.take(envelope)

    def routes(self, intake: Intake) -> list[web.RouteDef]:
        return [
            allow(KEYED, web.post("/info/reports", self._handler(intake, InfoReportProposed))),
            *[
                allow(
                    KEYED,
                    web.post(f"/info/reports/{{report_id}}/{path}", self._handler(intake, event)),
                )
                for path, event in STEPS.items()
            ],
        ]

    def _handler(self, intake: Intake, event_type: type[InfoEvent]) -> Any:
        async def handle(request: web.Request) -> web.Response:
            actor = bearer_principal(request, self.directory)
            raw = await request.read()
            event, at = await self._parse(intake, request, raw, event_type, actor)
            self._authorize(event, request)
            key = request.headers.get("Idempotency-Key") or uuid.uuid4()
            envelope = self.envelope(
                event, position=f"{event.by}/{key}", subject=event.report_id, time=at
            )
            check = partial(self._check_step, event)
            duplicate = await accept_once(self.view, intake, envelope, check, reused=_REUSED)
            return _accepted(envelope, event, duplicate=duplicate)

        return handle

    async def _parse(
        self,
        intake: Intake,
        request: web.Request,
        raw: bytes,
        event_type: type[InfoEvent],
        actor: str,
    ) -> tuple[InfoEvent, datetime]:
        """The event the request makes, its who taken from the credential, and its time."""
        where = f"{request.method} {request.path} by {request[ACTOR]}"
        body = await json_object(intake, raw, where)
        path_id = request.match_info.get("report_id")
        fixed = (*_FROM_CREDENTIAL, "report_id") if path_id else _FROM_CREDENTIAL
        named = sorted(k for k in fixed if k in body)
        if named:
            error = f"{', '.join(named)} come from the credential and the path, not the body"
            raise await invalid(intake, raw, [{"field": named[0], "message": error}], where)
        stated = body.pop("time", None)
        at = await stated_time(intake, raw, stated, where, clock=self.clock, zone=self.zone)
        who = {
            "actor": actor,
            "by": request[ACTOR],
            "by_name": request.get(PERSON) or self.directory.name_of(actor),
        }
        report_id = path_id or body.pop("report_id", None) or made_id("INFO", request)
        data = body | who | {"report_id": report_id}
        return await validated(intake, raw, event_type, data, where), at

    def _authorize(self, event: InfoEvent, request: web.Request) -> None:
        """403 for a step the caller may not take (the guard audits the denial)."""
        known = self.view.get(event.report_id)
        refused = may_act(event, known.owner if known else None)
        if refused is not None:
            log.warning(
                "forbidden request",
                actor=request[ACTOR],
                report=event.report_id,
                reason=refused.reason,
            )
            raise Rejected(refused.detail, reason=refused.reason, status=403)

    async def _check_step(self, event: InfoEvent) -> None:
        """404 for a report never proposed, 409 for a step its lifecycle does not allow."""
        known = self.view.get(event.report_id)
        after = next_status(known.status if known else None, event)
        if isinstance(after, Illegal):
            status = 404 if after.reason == "unknown-report" else 409
            raise Rejected(after.detail, reason=after.reason, status=status)


def _accepted(envelope: Envelope, event: InfoEvent, *, duplicate: bool) -> web.Response:
    status = 200 if duplicate else 201 if isinstance(event, InfoReportProposed) else 202
    return web.json_response(
        {
            "id": envelope.id,
            "report_id": event.report_id,
            "step": event.kind,
            "duplicate": duplicate,
        },
        status=status,
    )
