"""The tasks API (督查督办): the office and the departments move supervised tasks along.

``midfield connect tasks --port 8070`` serves (docs/departments.md has examples)::

    POST /tasks                              create (立项)                     office
    POST /tasks/{id}/assign                  assign (交办)                     office
    POST /tasks/{id}/sign                    sign for (签收)                   its departments
    POST /tasks/{id}/progress                progress report (反馈)            its departments
    POST /tasks/{id}/completion              completion report                its departments
    POST /tasks/{id}/review                  accept or send back (复核)        office
    POST /tasks/{id}/extension               request an extension (延期)       its departments
    POST /tasks/{id}/extension/approve       approve it                       office
    POST /tasks/{id}/extension/reject        refuse it                        office
    POST /tasks/{id}/close                   close (办结销号)                  office
    GET  /tasks/{id}                         the task as the API knows it     office, departments

Every request carries ``Authorization: Bearer <key>``; the key names the actor (the office or one
department, midfield/departments.py). An unknown key answers 401. A department acting on a task
that is not its own, or on a step that is the office's, answers 403; the denial is audited on
``office.audit.v1`` and repeated denials raise one grouped security alert (streams/audit.py).
A step the lifecycle does not allow now answers 409. A body that is not JSON answers 400, one
that does not validate 422 with the fields; both are dead-lettered. An accepted request answers
202 (201 for a create) once the broker has the event. An ``Idempotency-Key`` header makes a
retried request the same event (same id), applied once; the same key (per actor) reused for
another request (task, step or body) answers 422 ``idempotency-key-reused`` and nothing is
produced (:mod:`connectors.runtime.idempotency`).
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any, ClassVar, NoReturn, Unpack

from aiohttp import web

from connectors.runtime.follow import FollowingApi, following
from connectors.runtime.guard import KEYED, KEYED_READ, PERSON, allow
from connectors.runtime.http_requests import (
    Invalid,
    bearer_principal,
    invalid,
    json_error,
    json_object,
    validated,
)
from connectors.runtime.idempotency import accept_once
from connectors.runtime.intake import Intake
from connectors.runtime.source import Place
from connectors.sources.task_view import TaskView
from midfield.departments import OFFICE, Directory
from midfield.errors import Rejected
from midfield.logging import get_logger
from schemas.envelope import Envelope
from schemas.events import task as task_events
from schemas.events.task import TaskCreated, TaskEvent
from schemas.events.task_lifecycle import IllegalTransition, next_status

__all__ = ["ACTIONS", "TasksApi"]

log = get_logger(__name__)

ACTIONS: dict[str, type[TaskEvent]] = {
    "assign": task_events.TaskAssigned,
    "sign": task_events.TaskSigned,
    "progress": task_events.TaskProgressReported,
    "completion": task_events.TaskCompletionReported,
    "review": task_events.TaskReviewed,
    "extension": task_events.TaskExtensionRequested,
    "extension/approve": task_events.TaskExtensionApproved,
    "extension/reject": task_events.TaskExtensionRejected,
    "close": task_events.TaskClosed,
}
"""Path after ``/tasks/{id}/`` -> the event it makes."""

_REUSED = (
    "this Idempotency-Key was used for another request (another task, step or body): "
    "send this one with a new key"
)
"""A key reused for another request is refused, never taken as a duplicate and dropped."""


class TasksApi(FollowingApi):
    """Serve the tasks API for the office and the departments (see docs/departments.md)."""

    name: ClassVar[str] = "tasks"
    follows = TaskEvent.topic
    reading = "reading the task topic"
    deployment = following(
        follows,
        note="The departments' task API (reads its task events back for its task view).",
        port=8070,
    )

    def __init__(
        self, *, directory: Directory, view: TaskView | None = None, **place: Unpack[Place]
    ) -> None:
        super().__init__(directory=directory, **place)
        self.view = view or TaskView()

    def take(self, envelope: Envelope) -> None:
        self.view.take(envelope)

    def routes(self, intake: Intake) -> list[web.RouteDef]:
        return [
            allow(KEYED, web.post("/tasks", self._handler(intake, TaskCreated))),
            *[
                allow(KEYED, web.post(f"/tasks/{{task_id}}/{path}", self._handler(intake, event)))
                for path, event in ACTIONS.items()
            ],
            allow(KEYED_READ, web.get("/tasks/{task_id}", self._show)),
        ]

    # -- handling a request ----------------------------------------------------------------
    def _handler(self, intake: Intake, event_type: type[TaskEvent]) -> Any:
        async def handle(request: web.Request) -> web.Response:
            actor = self._authenticate(request)
            if event_type.office_only and actor != OFFICE:
                task_id = request.match_info.get("task_id", "")
                await self._forbid(
                    intake,
                    actor,
                    task_id,
                    "office-only",
                    f"only the office may {event_type.kind} a task",
                    request,
                )
            raw = await request.read()
            event = await self._parse(intake, request, raw, event_type, actor)
            envelope = self._wrap(event, actor, request)
            check = partial(self._authorize, intake, event, request)
            duplicate = await accept_once(self.view, intake, envelope, check, reused=_REUSED)
            return _accepted(envelope, event, duplicate=duplicate)

        return handle

    def _authenticate(self, request: web.Request) -> str:
        return bearer_principal(request, self.directory)

    async def _parse(
        self,
        intake: Intake,
        request: web.Request,
        raw: bytes,
        event_type: type[TaskEvent],
        actor: str,
    ) -> TaskEvent:
        where = f"{request.method} {request.path} by {actor}"
        body = await json_object(intake, raw, where)
        fixed = {"actor": actor, "task_id": request.match_info.get("task_id")}
        clash = sorted(k for k in ("actor", "task_id") if k in body and fixed[k] is not None)
        if clash:
            error = f"{', '.join(clash)} come from the key and the path, not the body"
            raise await invalid(intake, raw, [{"field": clash[0], "message": error}], where)
        data = body | {k: v for k, v in fixed.items() if v}
        if request.get(PERSON):  # signed in: the person is who acted, not a typed-in name
            data["person"] = request[PERSON]
        return await validated(intake, raw, event_type, data, where)

    def _wrap(self, event: TaskEvent, actor: str, request: web.Request) -> Envelope:
        key = request.headers.get("Idempotency-Key") or uuid.uuid4().hex
        return self.envelope(
            event, position=f"{actor}/{key}", subject=event.task_id, time=self.clock()
        )

    async def _authorize(self, intake: Intake, event: TaskEvent, request: web.Request) -> None:
        known = self.view.get(event.task_id)
        if isinstance(event, TaskCreated):
            self._check_departments(event)
        elif known is None:
            raise Rejected(f"no task {event.task_id}", reason="unknown-task", status=404)
        if event.actor != OFFICE and known is not None and event.actor not in known.departments:
            await self._forbid(
                intake,
                event.actor,
                event.task_id,
                "not-a-task-department",
                f"{event.actor} is not a department of {event.task_id}",
                request,
            )
        try:
            next_status(
                known.status if known else None,
                event,
                extension_pending=bool(known and known.extension_pending),
            )
        except IllegalTransition as exc:
            raise Rejected(exc.detail, reason=exc.reason, status=409) from exc

    def _check_departments(self, event: TaskCreated) -> None:
        unknown = [
            d
            for d in (event.lead_department, *event.assisting_departments)
            if d not in self.directory.departments
        ]
        if unknown:
            raise Invalid(
                [
                    {
                        "field": "lead_department/assisting_departments",
                        "message": f"unknown departments: {', '.join(unknown)}",
                    }
                ]
            )

    async def _forbid(
        self,
        intake: Intake,
        actor: str,
        task_id: str,
        reason: str,
        message: str,
        request: web.Request,
    ) -> NoReturn:
        """Answer 403. The access middleware audits the denial (who, task, route, address), and
        the worker raises one grouped security alert when a principal is denied repeatedly
        (streams/audit.py): an alert per forbidden request let one caller flood the alerts."""
        log.warning("forbidden request", actor=actor, task=task_id, reason=reason)
        raise Rejected(message, reason=reason, status=403)

    async def _show(self, request: web.Request) -> web.Response:
        actor = self._authenticate(request)
        known = self.view.get(request.match_info["task_id"])
        if known is None or (actor != OFFICE and actor not in known.departments):
            return json_error(404, "unknown-task", "no such task of yours")
        return web.json_response(
            {
                "task_id": known.task_id,
                "status": known.status.value,
                "lead_department": known.lead_department,
                "assisting_departments": list(known.assisting_departments),
                "extension_pending": known.extension_pending,
            }
        )


def _accepted(envelope: Envelope, event: TaskEvent, *, duplicate: bool) -> web.Response:
    status = 200 if duplicate else 201 if isinstance(event, TaskCreated) else 202
    return web.json_response(
        {"id": envelope.id, "task_id": event.task_id, "step": event.kind, "duplicate": duplicate},
        status=status,
    )
