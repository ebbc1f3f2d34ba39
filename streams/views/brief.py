"""The weekly brief (每周简报): ``GET /brief?week=YYYY-Www`` as JSON and ``GET /brief.docx``
as the office document, for the director and the supervision office.

Built by streams/brief/ from the books the worker holds: the messages, work orders, ledger and
items are copied out of the tables on the event loop (a scan of each: the brief is weekly, not
on the hot path), then read and laid out in a thread, so the loop is not held for the
segmentation (~0.7 s the first time a worker loads jieba's dictionary, then ~1 s per 10,000
messages) or the document. Examples are masked for every reader (docs/brief.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from midfield.access import Policy
from midfield.access import Role as R
from streams.books.registry import book
from streams.brief.assemble import READS, build
from streams.brief.document import docx_bytes
from streams.brief.model import Brief
from streams.brief.week import Week
from streams.views.pages import bad_request, office_json, page

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["DOCX", "brief_of", "register_brief_views"]

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def register_brief_views(app: MidfieldApp) -> None:
    readers = Policy.of(R.director, R.supervision)

    @page(app, "/brief", readers)
    async def brief_view(web: Any, request: Any) -> Any:
        return await _answer(app, web, request, _as_json)

    @page(app, "/brief.docx", readers)
    async def brief_document(web: Any, request: Any) -> Any:
        return await _answer(app, web, request, _as_docx)


Render = Callable[["MidfieldApp", Any, Brief], Awaitable[Any]]
"""How a view answers with the brief (JSON, the document)."""


async def _answer(app: MidfieldApp, web: Any, request: Any, render: Render) -> Any:
    """The brief of the week ``request`` asks for, as ``render`` answers it; 400 ``bad-week``."""
    week = _week(app, request)
    if week is None:
        return bad_request(web, "bad-week", "week must be YYYY-Www, e.g. 2026-W49")
    return await render(app, web, await brief_of(app, week, app.clock()))


async def _as_json(app: MidfieldApp, web: Any, brief: Brief) -> Any:
    return office_json(web, brief.model_dump(mode="json"), app.settings.office.zone)


async def _as_docx(app: MidfieldApp, web: Any, brief: Brief) -> Any:
    body = await asyncio.get_running_loop().run_in_executor(None, docx_bytes, brief)
    disposition = f'attachment; filename="brief-{brief.week}.docx"'
    return web.bytes(body, content_type=DOCX, headers={"Content-Disposition": disposition})


def _week(app: MidfieldApp, request: Any) -> Week | None:
    """``?week=``, this week (office time) when absent; ``None`` when it names no week."""
    zone = app.settings.office.zone
    text = request.query.get("week")
    try:
        return Week.parse(text, zone) if text else Week.of(app.clock(), zone)
    except ValueError:
        return None


async def brief_of(app: MidfieldApp, week: Week, now: datetime) -> Brief:
    """The brief of ``week`` from the books this worker holds, built off the event loop."""
    books = {name: [b for _, b in app.table(book(name)).items() if b] for name in READS}
    return await asyncio.get_running_loop().run_in_executor(
        None, build, books, week, now, app.settings, app.directory.name_of
    )
