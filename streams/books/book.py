"""The one shape of a book: what it reads, how an event changes it, what it decides.

A book is a table of entities (tasks, items, messages…) keyed by entity id, each stored as plain
JSON. Its module exports one :class:`Book`: the topics it reads with the event types it takes from
each, a pure ``apply(state, envelope, context) -> Decision``, and ``state``, the shape of one
stored entity: a closed :class:`typing_extensions.TypedDict` (PEP 728: no key it does not name),
or a union of them where one table holds more than one kind of entity (a task, and the stub that
only remembers the events refused for a task not created yet). The stored JSON is that shape
exactly, checked by tests/unit/test_book_states.py against every state the processor cases make;
nothing checks it at run time (that would cost every event). The readers that take a typed
entity (``lights.light(book: TaskState, …)``) let ``mypy --strict`` check their field access.

The decision is values only — the new state to store, and what must happen outside the book
(refusals to dead-letter, alerts to raise, notices for department outboxes) — so the live worker
(streams/worker/), a replay (midfield/replay/) and a unit test run the very same function and
differ only in what they do with the decision.

Refusals are values, never exceptions: an event the office's rules refuse (an illegal step, a
step before signing) comes back as a :class:`Refusal`. An exception from ``apply`` is a bug and
stops the worker; it never becomes a dead letter. The registry (streams/books/__init__.py) routes
only the event types a book declares, so ``apply`` never sees anything else.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import UnionType
from typing import Any, Protocol, TypeVar

from midfield.settings import Settings
from schemas.catalog import topic
from schemas.envelope import Envelope, EventData

__all__ = [
    "Book",
    "Context",
    "Decision",
    "Held",
    "Index",
    "KeptSummary",
    "Refusal",
    "State",
    "Summary",
    "Timer",
    "reading",
    "seen",
]

State = dict[str, Any]
"""One entity of a book, as stored: a JSON object (its shape: the book's ``state`` model)."""


@dataclass(frozen=True)
class Refusal:
    """An event (or a held step) the book refused: a dead letter on the live worker."""

    reason: str
    detail: str
    connector: str
    """The ``connector`` the dead letter names (who refused it)."""
    late: dict[str, Any] | None = None
    """For an item step held until its registration and refused then: the held step."""

    def late_letter_raw(self) -> bytes:
        assert self.late is not None
        return json.dumps(self.late["event"], ensure_ascii=False).encode()


@dataclass(slots=True)
class Decision:
    """What one event did to one entity of one book."""

    state: State | None = None
    """The entity to store; ``None``: nothing to write (seen before, or not for this book)."""
    refusals: Sequence[Refusal] = ()
    alerts: Sequence[Envelope] = ()
    """Alerts to send (an overdue item resolved, repeated denials…)."""
    notices: Sequence[tuple[str, Envelope]] = ()
    """(department, notice) for its outbox."""
    reminded: str | None = None
    """The light of an applied reminder (a metric)."""

    @property
    def applied(self) -> bool:
        """The event changed the entity and was not itself refused (a held step refused late
        is not a refusal of this event)."""
        return self.state is not None and all(r.late is not None for r in self.refusals)


@dataclass(slots=True)
class Context:
    """What ``apply`` may read besides the entity and the event."""

    settings: Settings
    source: str
    """The worker's source URI: the source of the alerts and notices it makes."""
    earlier: Mapping[str, Decision] = field(default_factory=dict)
    """The decisions of the books before this one (registry order) on the same event, for a
    book that declares them in ``after`` (the duty log writes a registration's line only when
    the item took it)."""


@dataclass(frozen=True)
class Timer:
    """Events a book proposes on a clock, from its entities (reminders, overdue warnings).

    ``propose`` is pure. The worker runs it every ``interval`` seconds once its tables are
    recovered, over the entities in chunks, and sends each proposal to ``to``; the proposals
    carry fixed ids, so one made twice (every check, or after a restart) is applied once.

    With ``candidates``, only the entities it names are decoded and proposed from: the keys
    that may be due, read from the book's summary. It must name every entity ``propose`` would
    make a proposal for (more is harmless): at 1M messages a scan of every book took ~20 s of
    the loop's CPU every check, for the few unanswered for a month."""

    name: str
    interval: Callable[[Settings], float]
    propose: Callable[[list[State], datetime, Settings, str], Iterable[Envelope]]
    to: str
    """The topic the proposals go to."""
    remember: bool = True
    """Skip a proposal this worker already sent (spares the topic; the ids make it safe)."""
    candidates: Callable[[Any, datetime, Settings], Iterable[str]] | None = None
    """The keys that may be due at a time, from the book's summary (``None``: every entity)."""


Apply = Callable[[State | None, Envelope, Context], Decision]
Show = Callable[[State, datetime, Settings], dict[str, Any]]


class Summary(Protocol):
    """What a book's views read instead of decoding every entity, kept by the worker beside its
    table: told every write, and after a recovery every entity the worker holds.

    A batch's writes are told all at once, the event loop held (a view sees all of a batch or
    none: streams/worker/table.py ``write``), so what a summary derives from a book alone
    (parsing its times, cutting its text into features) it may derive before, in
    :meth:`prepare`, while the loop still turns; :meth:`put_prepared` then only counts."""

    def put(self, key: str, book: State | None) -> None: ...

    def prepare(self, key: str, book: State | None) -> object: ...

    def put_prepared(self, key: str, book: State | None, prepared: object) -> None: ...

    def reset(self, books: Iterable[tuple[str, State]]) -> None: ...

    def settle(self, now: datetime, most: int) -> int: ...


K = TypeVar("K")
V = TypeVar("V")


class Held(dict[K, V]):
    """A dict the garbage collector always tracks, for a summary's rows (one per entity).

    The collector stops tracking a plain dict whose keys and values it need not walk (strings,
    and tuples of them once it has looked at those), and tracks it again, *in the youngest
    generation*, the moment a new tuple goes in: a summary's dict of 1M rows written at every
    event was walked by nearly every collection, young ones included (40–90 ms each at 1M
    messages: the views' tails; a gen-0 collection of a plain dict of 1M rows took 19 ms where
    this one took 0.05, offline). A dict subclass is never untracked, so the heap's freeze
    (streams/worker/heap.py) keeps it, and its rows, out of every collection for good."""

    __slots__ = ()


class KeptSummary(Summary):
    """A :class:`Summary` made from the writes alone, so that a recovery starts it afresh
    (:meth:`forget`) and tells it every entity again: every summary in streams/books is one."""

    @abstractmethod
    def forget(self) -> None:
        """Back to empty, as just made."""

    def reset(self, books: Iterable[tuple[str, State]]) -> None:
        """Forget everything, then take ``books`` (a table's entities after a recovery)."""
        self.forget()
        for key, book in books:
            self.put(key, book)

    def settle(self, now: datetime, most: int) -> int:
        """Do at most ``most`` steps of the work a first read at ``now`` would do (after a
        recovery, the ledger's lights); how many remain. Most summaries defer none."""
        return 0

    def prepare(self, key: str, book: State | None) -> object:
        """What :meth:`put` of ``book`` derives from the book alone, made ahead of it with the
        event loop free (``None``: nothing; most summaries derive little). It may read the
        summary, but :meth:`put_prepared` must be right whatever was told between."""
        return None

    def put_prepared(self, key: str, book: State | None, prepared: object) -> None:
        """:meth:`put`, with what :meth:`prepare` made of ``book``."""
        self.put(key, book)


def seen(book: State | None, envelope: Envelope) -> bool:
    """Did ``book`` apply (or refuse) ``envelope`` before? Delivery is at least once and a replay
    reads every event again, so a book keeps the ids it applied (and refused, where it keeps
    those) and answers ``None`` for an event it has seen."""
    if book is None:
        return False
    return envelope.id in book["applied"] or envelope.id in book.get("refused", ())


def reading(*types: type[EventData]) -> dict[str, tuple[type[EventData], ...]]:
    """:attr:`Book.reads` for ``types``: each under the catalog topic its model names (an event
    says once where it goes), in the order given."""
    reads: dict[str, tuple[type[EventData], ...]] = {}
    for event_type in types:
        name = topic(event_type.topic).name
        reads[name] = (*reads.get(name, ()), event_type)
    return reads


@dataclass(frozen=True)
class Book:
    """A book: the one object its module exports, and all that the worker, the replay tools,
    the views, the metrics and the benches need to know of it."""

    name: str
    """The table's name (and its changelog's: ``<app id>-<name>-changelog``)."""
    reads: Mapping[str, tuple[type[EventData], ...]]
    """Topic name -> the event types this book takes from it."""
    apply: Apply
    state: type | UnionType
    """The shape of one stored entity: a closed TypedDict, or a union of them (``TaskState |
    TaskStub``). Declarative: nothing validates a state at run time (that would cost every
    event); the unit tests validate every state the processor cases make against it."""
    connector: str = ""
    """Who refuses, in dead letters (also for an event no book on a topic takes): the part that
    refuses, when not the book itself (its name)."""
    after: tuple[str, ...] = ()
    """Books whose decisions on the same event ``apply`` reads (``Context.earlier``)."""
    show: Show | None = None
    """Fields a snapshot adds to a stored entity (a task's light, an item's due time)."""
    timers: tuple[Timer, ...] = ()
    rebuilt: bool = True
    """Rebuilt by a replay; ``False`` for a book that is no function of the intake topics."""
    summary: Callable[[Settings], Summary] | None = None
    """Makes the book's :class:`Summary`, for views that must not scan (the ledger's lights)."""

    def __post_init__(self) -> None:
        if not self.connector:
            object.__setattr__(self, "connector", self.name)


@dataclass(frozen=True)
class Index:
    """A table over records that are no events (the dead-letter topic): the worker keeps the
    latest entity per key; a replay does not rebuild it."""

    name: str
    topic: str
    take: Callable[[bytes], tuple[str, State] | None]
    """The record's key and entity; ``None`` for a record that is none of this index's."""
    state: type | UnionType
    """The shape of one stored entity, as :attr:`Book.state`."""
    summary: Callable[[Settings], Summary] | None = None
    """Makes the index's :class:`Summary`, as :attr:`Book.summary`."""
