"""Items withheld from the bus (``office.quarantine.v1``): the telegrams the guard kept back
because they carry a classification, each waiting to be handled through the confidential
channel (机要渠道) — the duty officer's list of what must not be forgotten and must not leak.

One entity per withheld item (its number, or its sheet's digest): how it was withheld (the
rules that matched), the digests of the files kept in ``rejected/``, when it was first and last
withheld (the same cover sheet dropped twice is one item seen twice). Like the event, it holds
no free text of the item: nothing of its content reaches a book either.
"""

from __future__ import annotations

from typing_extensions import TypedDict

from schemas.envelope import Envelope
from schemas.events.quarantine import ItemQuarantined
from streams.books.book import Book, Context, Decision, State, reading, seen
from streams.books.office_time import earliest, latest

__all__ = ["APPLIED", "BOOK", "WithheldState", "apply", "decide"]

APPLIED = 200
"""Event ids remembered per item, for effectively-once (an item is withheld a few times)."""


class WithheldState(TypedDict, closed=True):
    """One withheld item: how and when it was withheld, never what it says."""

    item_id: str
    """Its number in the standard form, or ``sheet-<digest>`` (docs/telegram.md)."""
    kind: str
    rules: list[str]
    """The rules that withheld it, in the order first seen."""
    digests: list[str]
    """``sha256:<hex>`` of each withheld file (found in the drop directory's ``rejected/``)."""
    times: int
    first_at: str
    last_at: str
    applied: list[str]


def apply(book: State | None, envelope: Envelope) -> State | None:
    """The item after ``envelope``; ``None`` if this event was applied before."""
    if seen(book, envelope):
        return None
    event = envelope.data
    if not isinstance(event, ItemQuarantined):
        raise TypeError(f"the withheld items do not take {envelope.type}")
    at = envelope.time.isoformat()
    new: State = dict(book) if book else {
        "item_id": event.item_id, "kind": event.kind, "rules": [], "digests": [], "times": 0,
        "first_at": at, "last_at": at, "applied": [],
    }  # fmt: skip
    new["times"] += 1
    new["first_at"], new["last_at"] = earliest(new["first_at"], at), latest(new["last_at"], at)
    if event.rule not in new["rules"]:
        new["rules"] = [*new["rules"], event.rule]
    if event.sheet_digest and event.sheet_digest not in new["digests"]:
        new["digests"] = [*new["digests"], event.sheet_digest]
    new["applied"] = [*new["applied"], envelope.id][-APPLIED:]
    return new


def decide(book: State | None, envelope: Envelope, context: Context) -> Decision:
    return Decision(apply(book, envelope))


BOOK = Book(
    name="withheld",
    reads=reading(ItemQuarantined),
    apply=decide,
    connector="telegram",
    state=WithheldState,
)
