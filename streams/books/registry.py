"""Every book, in one place, and what one event does to them all.

Adding a book is one module exporting a :class:`~streams.books.book.Book` and one line in
:data:`BOOKS`; the worker's tables and agents, replay's rebuild, as-of and shadow runs, the
views' lookups, the table-size metrics and the benches are all built from this list
(streams/README.md says how).

:func:`process` applies an event, read from a topic, to every book that takes its type from that
topic, in registry order, and gathers their decisions into one :class:`Outcome`. It writes
nothing: the live worker does the side effects first and writes the books after, so a worker
killed in between reads the event again and does them again (same ids), rather than finding it
applied with its notices never sent; a replay writes the books and does no side effect. One
function, so a rebuild cannot disagree with the live workers.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from midfield.settings import Settings
from schemas.envelope import Envelope
from streams.books import (
    alerts,
    audit,
    duty_log,
    emergencies,
    info_reports,
    items,
    ledger,
    replies,
    waiting_letters,
    withheld,
    workorders,
)
from streams.books.book import Book, Context, Decision, Index, Refusal, State
from streams.books.suggest import dispatches

__all__ = ["BOOKS", "INDEXES", "NAMES", "PROCESSED", "Outcome", "Tables", "book", "process"]

BOOKS: tuple[Book, ...] = (
    items.BOOK,
    emergencies.BOOK,
    duty_log.BOOK,  # after items and emergencies: it reads their decisions
    ledger.BOOK,
    alerts.BOOK,
    replies.BOOK,
    workorders.BOOK,
    audit.BOOK,
    withheld.BOOK,
    info_reports.BOOK,
    dispatches.BOOK,
)
"""The books the events make, in the order they apply an event."""

INDEXES: tuple[Index, ...] = (waiting_letters.INDEX,)
"""Tables over records that are no events (not rebuilt by a replay)."""

NAMES: tuple[str, ...] = tuple(b.name for b in BOOKS)


def _readers(books: tuple[Book, ...]) -> dict[str, tuple[Book, ...]]:
    """Topic -> the books reading it, in order; refuses a registry whose ``after`` points
    forward or nowhere (the decision it reads would not exist yet)."""
    seen: set[str] = set()
    for b in books:
        if b.name in seen:
            raise ValueError(f"two books are named {b.name}")
        missing = [name for name in b.after if name not in seen]
        if missing:
            raise ValueError(f"{b.name} reads the decisions of {missing}: list them before it")
        seen.add(b.name)
    readers: dict[str, list[Book]] = {}
    for b in books:
        for name in b.reads:
            readers.setdefault(name, []).append(b)
    return {name: tuple(found) for name, found in readers.items()}


_READERS = _readers(BOOKS)

PROCESSED: tuple[str, ...] = tuple(_READERS)
"""The topics the books read: what lag is measured on and what a replay reads again."""

Tables = Mapping[str, MutableMapping[str, Any]]
"""Book name -> entity id -> stored entity (faust tables on the worker, dicts in a replay)."""


_ROUTES: dict[tuple[str, type], tuple[Book, ...]] = {}


def _route(topic: str, kind: type) -> tuple[Book, ...]:
    """The books that take events of ``kind`` from ``topic``, in order (worked out once per
    pair: an event pays a dict look-up, not a type check per book)."""
    route = _ROUTES.get((topic, kind))
    if route is None:
        readers = _READERS.get(topic)
        if readers is None:
            raise KeyError(f"no book reads {topic}")
        route = _ROUTES[(topic, kind)] = tuple(
            b for b in readers if issubclass(kind, b.reads[topic])
        )
    return route


def book(name: str) -> Book:
    """The book called ``name``."""
    for b in BOOKS:
        if b.name == name:
            return b
    raise KeyError(f"no book is named {name}; the books are {list(NAMES)}")


@dataclass
class Outcome:
    """Every book's decision on one event, gathered."""

    writes: dict[tuple[str, str], State] = field(default_factory=dict)
    """(book, entity id) -> the entity to store."""
    refusals: list[Refusal] = field(default_factory=list)
    alerts: list[Envelope] = field(default_factory=list)
    notices: list[tuple[str, Envelope]] = field(default_factory=list)
    reminded: str | None = None

    def add(self, name: str, key: str, decision: Decision) -> None:
        if decision.state is not None:
            self.writes[(name, key)] = decision.state
        if decision.refusals:
            self.refusals += decision.refusals
        if decision.alerts:
            self.alerts += decision.alerts
        if decision.notices:
            self.notices += decision.notices
        if decision.reminded is not None:
            self.reminded = decision.reminded


def process(tables: Tables, topic: str, envelope: Envelope, settings: Settings, *,
            source: str) -> Outcome:  # fmt: skip
    """Apply ``envelope``, read from ``topic``, to ``tables``. ``source`` is the worker's (the
    source of the alerts and notices it makes). An event no book takes from that topic is
    refused (``unexpected-type``); an exception from a book is a bug and propagates."""
    readers = _route(topic, type(envelope.data))
    out = Outcome()
    if not readers:
        detail = f"{envelope.type} on {topic}"
        out.refusals.append(Refusal("unexpected-type", detail, _READERS[topic][0].connector))
        return out
    earlier: dict[str, Decision] = {}
    context = Context(settings, source, earlier)
    key = envelope.subject
    for b in readers:
        decision = b.apply(tables[b.name].get(key), envelope, context)
        earlier[b.name] = decision
        out.add(b.name, key, decision)
    return out
