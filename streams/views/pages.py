"""How a view is declared and what every view shares: its route with who may call it, the
caller, the caller's share of the books, and answers in the office's time.

Every view is declared with :func:`page`, which names its :class:`~midfield.access.Policy` next
to its path. The worker's gate (streams/worker/access.py) finds the caller's principal before
any view runs, keeps it under :data:`PRINCIPAL` and lets the request through only when the
route's policy allows it; a route without a policy answers 403 and stops the worker before it
serves (deny by default). A department's principal sees only its own share
(:func:`own_department`), and every time a view shows is in the office's zone
(:func:`office_json`, streams/books/office_time.py), whatever offset the event carried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp.web import RequestKey

from midfield.access import Policy, Principal
from midfield.access import Role as R
from schemas.events.audit import Action
from streams.books import office_time

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = [
    "OFFICE_READERS",
    "PRINCIPAL",
    "OtherDepartment",
    "bad_request",
    "forbidden_department",
    "office_json",
    "own_department",
    "page",
    "principal_of",
]

PRINCIPAL = RequestKey("principal", Principal)
"""Who the gate found the request to be (every view reads it with principal_of)."""

OFFICE_READERS = (R.director, R.duty_officer, R.supervision)
"""The office's roles that read the office's books."""


def page(
    app: MidfieldApp, path: str, policy: Policy, *, action: Action = Action.read
) -> Callable[[Any], Any]:
    """``app.page(path)`` that also declares who may call it (and how its calls are audited)."""
    app.gate.declare(path, policy, action)
    decorate: Callable[[Any], Any] = app.page(path)
    return decorate


def principal_of(request: Any) -> Principal:
    """The principal the gate found for ``request`` (set before any view runs)."""
    found: Principal = request[PRINCIPAL]
    return found


class OtherDepartment(Exception):
    """A department's principal asked for another department's share."""


def own_department(request: Any, asked: str | None) -> str | None:
    """The department whose share ``request`` may see: its own for a department's principal
    (asking for another raises :class:`OtherDepartment`), else what was asked (``None``: all)."""
    who: Principal = principal_of(request)
    if not who.scoped:
        return asked
    if asked and asked != who.department:
        raise OtherDepartment(asked)
    return who.department


def forbidden_department(web: Any, request: Any) -> Any:
    who = principal_of(request)
    return web.json(
        {"error": "other-department", "message": f"{who.id} sees only {who.department}"},
        status=403,
    )


def bad_request(web: Any, reason: str, message: str) -> Any:
    return web.json({"error": reason, "message": message}, status=400)


def office_json(web: Any, payload: Any, zone: ZoneInfo) -> Any:
    """A book's view as JSON with every time in it in the office's zone: one rule for all views."""
    return web.json(office_time.shown(payload, zone))
