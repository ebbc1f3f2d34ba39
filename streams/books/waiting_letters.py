"""Dead letters waiting for a person: one small book per letter, from ``office.deadletter.v1``.

The dead-letter topic is a log of letter states (midfield/replay/redrive.py): a letter's latest
record, by its fixed ``id``, is where it stands; ``resolved`` set means a re-drive took it.
Every process writes its letters there (connectors, intakes and the worker itself), so reading
the topic is the one place that sees them all, and the book survives a restart in its
changelog; a counter in the worker's memory would see only its own and forget them. The book
keeps the reason, where the letter came from and when, never the raw input or its error text
(they may hold personal data). Pure logic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError
from typing_extensions import TypedDict

from schemas.catalog import DEADLETTER
from schemas.deadletter import DeadLetter
from streams.books.book import Index, State
from streams.books.office_time import instant
from streams.books.ranked import Ranked, Ranking

__all__ = ["INDEX", "LetterState", "apply", "parse", "rank", "waiting", "waiting_in"]


class LetterState(TypedDict, closed=True):
    """Where one dead letter stands: its latest record, without the raw input or the error text
    (they may hold personal data)."""

    id: str
    reason: str
    connector: str
    source: str
    first_seen: str
    """ISO 8601 text."""
    attempts: int
    resolved: Literal["redriven", "skipped"] | None
    """``None``: still waiting for a person."""


def parse(value: bytes) -> DeadLetter | None:
    """The letter in a record of the topic; ``None`` for a record that is not one."""
    try:
        return DeadLetter.model_validate_json(value)
    except ValidationError:
        return None


def apply(letter: DeadLetter) -> State:
    """The book of ``letter``'s id after this record: its latest record is its state."""
    return {
        "id": letter.id,
        "reason": letter.reason,
        "connector": letter.connector,
        "source": letter.source,
        "first_seen": letter.first_seen.isoformat(),
        "attempts": letter.attempts,
        "resolved": letter.resolved,
    }


def waiting(books: Iterable[State], listed: int) -> dict[str, Any]:
    """The unresolved letters: how many, how many per reason, the ``listed`` newest."""
    open_ = [b for b in books if b and not b["resolved"]]
    open_.sort(key=lambda b: (datetime.fromisoformat(b["first_seen"]), b["id"]), reverse=True)
    by_reason = Counter(b["reason"] for b in open_)
    return {
        "waiting": len(open_),
        "by_reason": dict(by_reason.most_common()),
        "latest": [
            {k: b[k] for k in ("reason", "connector", "first_seen")} for b in open_[:listed]
        ],
    }


def rank(book: State | None) -> tuple[int] | None:
    """A letter waiting for a person, by when it was first seen (the views list the newest
    first); ``None`` for one a re-drive took. Its group is its reason."""
    return (instant(book["first_seen"]),) if book and not book["resolved"] else None


def waiting_in(ranked: Ranked, listed: int) -> dict[str, Any]:
    """:func:`waiting`'s figures from the index's summary (a :class:`Ranking` of :func:`rank`
    by reason), with the keys of the ``listed`` newest in place of the letters."""
    newest = ranked.newest()  # a tie in count keeps the reason of the newer letter first
    return {
        "waiting": len(ranked),
        "by_reason": dict(sorted(newest.items(), key=lambda item: -item[1])),
        "latest": [entry[-1] for entry in ranked.last(listed)],
    }


def _take(value: bytes) -> tuple[str, State] | None:
    letter = parse(value)
    return None if letter is None else (letter.id, apply(letter))


INDEX = Index(
    name="dead_letters",
    topic=DEADLETTER,
    take=_take,
    state=LetterState,
    summary=lambda settings: Ranking(1, rank, group=lambda book: book["reason"]),
)
