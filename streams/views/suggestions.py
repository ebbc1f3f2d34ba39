"""Suggested departments (docs/suggestions.md): ``GET /suggestions/{subject}`` for one message or
work order, and the dashboard's panel of the open ones no department has, each with the three
likeliest departments, their scores and the words that decided.

For the office's readers only (director, duty officer, supervision): a department never sees
what the model thinks of another's share. Nothing here assigns anything: a suggestion is shown,
and the duty officer dispatches, or does not.

The model is the ``dispatches`` book's summary (streams/books/suggest/summary.py), learned from
the examples of this worker's partitions; the first suggestion a worker makes loads jieba's
dictionary (~1.5–3 s) if no message has yet.
"""

from __future__ import annotations

import heapq
from itertools import islice
from typing import TYPE_CHECKING, Any

from midfield.access import Policy, Principal
from streams.books import workorders
from streams.books.book import State
from streams.books.replies import BOOK as MESSAGES
from streams.books.suggest import dispatches
from streams.books.suggest.summary import SuggestSummary
from streams.views import masking
from streams.views.pages import OFFICE_READERS, office_json, page, summary_of

if TYPE_CHECKING:
    from streams.worker.app import MidfieldApp

__all__ = ["register_suggestion_views", "unassigned"]

LISTED = 20
"""Open messages and orders without a department the dashboard lists (the count is whole)."""

TITLE_CHARS = 40
"""What the panel shows of a work order's 诉求内容 (it has no title)."""


def register_suggestion_views(app: MidfieldApp) -> None:
    zone = app.settings.office.zone

    @page(app, "/suggestions/{subject}", Policy.of(*OFFICE_READERS))
    async def suggestions_view(web: Any, request: Any, subject: str) -> Any:
        book = app.table(dispatches.BOOK).get(subject)
        if book is None:
            message = f"no message or work order {subject} on this worker"
            return web.json({"error": "unknown-subject", "message": message}, status=404)
        summary: SuggestSummary = summary_of(app.table(dispatches.BOOK))
        shown = {
            "subject": subject,
            "units": [_department(app, code) for code in book["units"]],
            "returned": [_department(app, code) for code in book["returned"]],
            "learned_from": summary.learned,
            "suggestions": suggested(app, summary, book),
        }
        return office_json(web, shown, zone)


def suggested(app: MidfieldApp, summary: SuggestSummary, book: State) -> list[dict[str, Any]]:
    """The top three for the example ``book``, each with its department's name."""
    return [
        _department(app, s.department) | {"score": round(s.score, 3), "words": s.words}
        for s in summary.suggest(book)
    ]


def _department(app: MidfieldApp, code: str) -> dict[str, str]:
    return {"department": code, "name": app.directory.name_of(code)}


def unassigned(app: MidfieldApp, viewer: Principal) -> dict[str, Any]:
    """The dashboard's panel: open messages (not answered) and work orders (not closed) that no
    department has, oldest first, at most :data:`LISTED`, each with its suggestions; for an
    office reader only (anyone else: empty, ``shown`` false). Titles are masked for a reader
    whose role does not need citizens' personal data. From the messages' and the orders'
    summaries: only the listed orders' books are read."""
    if not viewer.has(OFFICE_READERS):
        return {"shown": False, "count": 0, "items": []}
    unmasked = not viewer.roles.isdisjoint(app.settings.access.unmasked_roles)
    messages = summary_of(app.table(MESSAGES))
    orders = summary_of(app.table(workorders.BOOK)).unassigned
    oldest = heapq.merge(
        [(*entry, "message") for entry in messages.oldest_open("", LISTED)],
        [(*entry, "work_order") for entry in orders.first(LISTED)],
    )
    table = app.table(dispatches.BOOK)
    summary: SuggestSummary = summary_of(table)
    items = []
    for _, subject, kind in islice(oldest, LISTED):
        row = _message(messages, subject) if kind == "message" else _order(app, subject)
        if row is None:
            continue
        book = table.get(subject)
        title = row["title"] if unmasked else masking.text(row["title"])
        found = suggested(app, summary, book) if book is not None else []
        items.append(row | {"title": title, "suggestions": found})
    return {"shown": True, "count": messages.open_count("") + len(orders), "items": items}


def _message(messages: Any, subject: str) -> dict[str, Any]:
    shown = messages.message(subject)
    return {"kind": "message", "subject": subject, "title": shown["title"],
            "received_at": shown["received_at"]}  # fmt: skip


def _order(app: MidfieldApp, number: str) -> dict[str, Any] | None:
    """A work order accepted and not closed that no unit has (never dispatched, or every unit
    sent it back)."""
    book = app.table(workorders.BOOK).get(number)
    if not workorders.is_order(book):
        return None
    note = next((h["note"] for h in book["history"] if h["step"] == "accepted"), "")
    return {"kind": "work_order", "subject": number, "category": book["category"],
            "title": note[:TITLE_CHARS], "received_at": book["accepted_at"]}  # fmt: skip
