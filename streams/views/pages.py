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

from bisect import bisect_right
from collections.abc import Callable, Collection, Mapping
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
    "cursor",
    "forbidden_department",
    "office_json",
    "own_department",
    "page",
    "page_of",
    "principal_of",
    "summary_of",
]

PRINCIPAL = RequestKey("principal", Principal)
"""Who the gate found the request to be (every view reads it with principal_of)."""

OFFICE_READERS = (R.director, R.duty_officer, R.supervision)
"""The office's roles that read the office's books."""

PAGE_SIZE, PAGE_MOST = 200, 1000
"""Entries a long list answers when ``?limit=`` is not given, and at the most."""


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


def cursor(query: Mapping[str, str]) -> tuple[str | None, int]:
    """A long list's ``?after=`` (the ``next`` of the page before; ``None``: from the first)
    and ``?limit=`` (:data:`PAGE_SIZE` unless given, at most :data:`PAGE_MOST`); a bad limit
    raises ``ValueError``."""
    text = query.get("limit") or str(PAGE_SIZE)
    if not text.isdigit() or not 1 <= int(text) <= PAGE_MOST:
        raise ValueError(f"limit must be 1 to {PAGE_MOST}, not {text!r}")
    return query.get("after") or None, int(text)


def page_of(keys: Collection[str], after: str | None, limit: int) -> tuple[list[str], str | None]:
    """The ``limit`` keys after ``after`` in order, and the cursor of the next page (``None``:
    this is the last). A cursor is a key, not a position: entries added or removed between two
    pages neither repeat nor skip the others."""
    ordered = sorted(keys)
    start = bisect_right(ordered, after) if after is not None else 0
    listed = ordered[start : start + limit]
    return listed, (listed[-1] if start + limit < len(ordered) else None)


def summary_of(table: Any) -> Any:
    """The summary the worker keeps beside a book's table (streams/books/book.py ``Summary``)."""
    if table.summary is None:
        raise LookupError(f"the book {table.name} keeps no summary")
    return table.summary
