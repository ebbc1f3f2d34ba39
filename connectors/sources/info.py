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

import hashlib
import uuid
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import Field

from connectors.runtime.deployment import Deployment
from connectors.runtime.follow import FollowingApi
from connectors.runtime.guard import ACTOR, KEYED, PERSON, allow
from connectors.runtime.http import HttpSourceOptions
from connectors.runtime.http_requests import bearer_principal, invalid, json_object, validated
from connectors.runtime.intake import Intake
from connectors.sources.info_view import InfoView
from connectors.sources.task_view import Seen
from midfield.clock import Clock, utc_now
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

    def __init__(
        self, *, instance: str, zone: ZoneInfo, directory: Directory, clock: Clock = utc_now
    ) -> None:
        super().__init__(instance=instance, zone=zone, directory=directory, clock=clock)
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
            envelope = Envelope.wrap(
                event,
                source=self.uri,
                position=f"{event.by}/{request.headers.get('Idempotency-Key') or uuid.uuid4()}",
                subject=event.report_id,
                time=at,
                connector_version=self.version,
            )
            seen = self.view.claim(envelope)
            if seen is not Seen.new:
                return _repeated(envelope, event, seen)
            try:
                self._check_step(event)
                await intake.publish(envelope)
                self.view.take(envelope)
            finally:
                self.view.release(envelope)
            return _accepted(envelope, event)

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
        at = await self._time(intake, raw, body.pop("time", None), where)
        who = {
            "actor": actor,
            "by": request[ACTOR],
            "by_name": request.get(PERSON) or self.directory.name_of(actor),
        }
        report_id = path_id or body.pop("report_id", None) or _made_id(request)
        data = body | who | {"report_id": report_id}
        return await validated(intake, raw, event_type, data, where), at

    async def _time(self, intake: Intake, raw: bytes, value: Any, where: str) -> datetime:
        if value is None:
            return self.clock()
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError as exc:
            error = f"time must be ISO 8601, got {value!r}"
            raise await invalid(intake, raw, [{"field": "time", "message": error}], where) from exc
        return at if at.tzinfo else at.replace(tzinfo=self.zone)

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

    def _check_step(self, event: InfoEvent) -> None:
        """404 for a report never proposed, 409 for a step its lifecycle does not allow."""
        known = self.view.get(event.report_id)
        after = next_status(known.status if known else None, event)
        if isinstance(after, Illegal):
            status = 404 if after.reason == "unknown-report" else 409
            raise Rejected(after.detail, reason=after.reason, status=status)


def _made_id(request: web.Request) -> str:
    """A candidate's id when the body gives none: from its ``Idempotency-Key`` (a retry is the
    same candidate), else new."""
    key = request.headers.get("Idempotency-Key")
    made = hashlib.sha256(key.encode()).hexdigest() if key else uuid.uuid4().hex
    return f"INFO-{made[:12]}"


def _repeated(envelope: Envelope, event: InfoEvent, seen: Seen) -> web.Response:
    """A request whose ``Idempotency-Key`` was used before: the same request is the same event
    (200, applied once); a key reused for another request is refused, never dropped."""
    if seen is Seen.retry:
        return _accepted(envelope, event, duplicate=True)
    if seen is Seen.in_flight:
        raise Rejected(
            "the same request is being accepted now: retry in a moment",
            reason="idempotency-key-in-flight",
            status=409,
        )
    raise Rejected(
        "this Idempotency-Key was used for another request: send it with a new key",
        reason="idempotency-key-reused",
        status=422,
    )


def _accepted(envelope: Envelope, event: InfoEvent, *, duplicate: bool = False) -> web.Response:
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
