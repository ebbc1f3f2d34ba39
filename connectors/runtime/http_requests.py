"""What an HTTP intake's handlers use to read a request: who acts, its JSON body, the model it
must validate into, the time it states and the id of what it makes; and how a refusal is
answered.

Apart from the serving (:mod:`connectors.runtime.http`) because every handler of every HTTP
source calls these, and their answers (401/403, 400 ``bad-json``, 422 with field-level reasons)
are part of each intake's documented contract (DESIGN §6).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ValidationError

from connectors.runtime.guard import ACTOR, PERSON, SESSION
from connectors.runtime.signatures import StandardWebhook
from midfield.access import Principal, Role
from midfield.departments import OFFICE, Directory
from midfield.errors import ParseError, Rejected
from schemas.errors import field_errors

if TYPE_CHECKING:
    from connectors.runtime.intake import Intake

__all__ = [
    "MAX_JSON_DEPTH",
    "Invalid",
    "bearer_principal",
    "field_errors",
    "invalid",
    "json_error",
    "json_object",
    "made_id",
    "signed_json",
    "stated_time",
    "validated",
]

M = TypeVar("M", bound=BaseModel)


def json_error(status: int, reason: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": reason, "message": message, **extra}, status=status)


def bearer_principal(request: web.Request, directory: Directory) -> str:
    """Who acts: the office or a department code. From ``Authorization: Bearer <key>``, or from
    a person signed in to the dashboard (the session the access middleware found: an office
    role acts as the office, a department clerk as the department, and the person's name is
    what the event records, in ``request[PERSON]``). 401 for no or an unknown credential,
    403 for a person whose roles act for nobody. The audit trail records the principal
    (connectors/runtime/guard.py)."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    person = request.get(SESSION) if not scheme else None
    if person is not None:
        return _acting_person(request, person)
    principal = directory.principal(key.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        raise Rejected(
            "missing or unknown API key (Authorization: Bearer <key>), and no sign-in",
            reason="unauthenticated",
            status=401,
        )
    request[ACTOR] = principal if principal == OFFICE else f"department:{principal}"
    return principal


_OFFICE_ROLES = frozenset({Role.director, Role.duty_officer, Role.supervision})


def _acting_person(request: web.Request, person: Principal) -> str:
    request[ACTOR] = person.id
    request[PERSON] = person.name
    if person.department is not None and Role.department in person.roles:
        return person.department
    if not person.roles.isdisjoint(_OFFICE_ROLES):
        return OFFICE
    raise Rejected(f"{person.id} acts for no office or department", reason="role", status=403)


class Invalid(Rejected):
    """422 with field-level reasons (``fields``: ``[{"field", "message"}]``)."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        super().__init__(summary, reason="invalid-request", status=422)
        self.fields = fields


MAX_JSON_DEPTH = 32
"""No intake's body nests more than a few levels. A deeper one is refused as ``bad-json``: a value
nested near Python's recursion limit still parses, then breaks whatever prints it (a 500 from a
duty ``kind`` nested 965 deep; tests/integration/test_hostile_inputs.py)."""


async def json_object(intake: Intake, raw: bytes, where: str) -> dict[str, Any]:
    """The body as a JSON object; 400 ``bad-json`` and a dead letter otherwise."""
    try:
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        if _depth(body) > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        return body
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python goes
        await intake.dead_letter(raw, ParseError("bad-json", str(exc)), where)
        raise Rejected(f"body is not a JSON object: {exc}", reason="bad-json") from exc


def _depth(value: Any) -> int:
    """How deep ``value`` nests (``{}`` is 1), counted without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            todo.extend((child, depth + 1) for child in children)
    return deepest


async def signed_json(
    intake: Intake, request: web.Request, webhook: StandardWebhook, now: datetime
) -> tuple[bytes, dict[str, Any], str]:
    """A Standard Webhooks request's bytes, JSON object and ``webhook-id``: its signature is
    checked first (401), then its body is read as :func:`json_object` (400 ``bad-json``)."""
    raw = await request.read()
    webhook_id = webhook.verify(request.headers, raw, now)
    return raw, await json_object(intake, raw, f"POST {request.path}"), webhook_id


async def invalid(intake: Intake, raw: bytes, fields: list[dict[str, str]], where: str) -> Invalid:
    """The 422 to raise for ``fields``, once ``raw`` is dead-lettered (``invalid-request``, with
    the first field's message)."""
    await intake.dead_letter(raw, ParseError("invalid-request", fields[0]["message"]), where)
    return Invalid(fields)


async def validated(
    intake: Intake, raw: bytes, model: type[M], data: dict[str, Any], where: str
) -> M:
    """``model`` from ``data``; 422 with the fields and a dead letter when it does not validate."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise await invalid(intake, raw, field_errors(exc), where) from exc


async def stated_time(
    intake: Intake,
    raw: bytes,
    value: Any,
    where: str,
    *,
    clock: Callable[[], datetime],
    zone: ZoneInfo,
) -> datetime:
    """When a body's ``time`` says the step happened (ISO 8601; in ``zone``, the office's, when
    it has no offset), ``clock()`` when it says nothing; 422 and a dead letter when it is no
    time."""
    if value is None:
        return clock()
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError as exc:
        error = f"time must be ISO 8601, got {value!r}"
        raise await invalid(intake, raw, [{"field": "time", "message": error}], where) from exc
    return at if at.tzinfo else at.replace(tzinfo=zone)


def made_id(prefix: str, request: web.Request) -> str:
    """An id for an entity sent without one (``<prefix>-`` and 12 hex digits): from the
    request's ``Idempotency-Key`` (so a retry is the same entity), else new."""
    key = request.headers.get("Idempotency-Key")
    made = hashlib.sha256(key.encode()).hexdigest() if key else uuid.uuid4().hex
    return f"{prefix}-{made[:12]}"
