"""The suggestion model as the summary of the ``dispatches`` book: it learns as the office works.

The worker tells the summary every write of the book (streams/worker/table.py): an example now
counted for another department than before is taken back from the one and learned for the other
(a dispatch, a reply from another department, a return); after a recovery it is told every
example the worker then holds and counts them again from scratch. So the model is always the
model :func:`~streams.books.suggest.dispatches.rebuild` makes of the examples in the table, and
a replay that rebuilds the book rebuilds it too (tests/unit/test_suggest_summary.py holds the
two equal over any order of writes).

**Per partition.** A worker holds the examples of its partitions only (the topics are
partitioned by message id and order number, by hash), so each worker's model learns from its own
share of the office's dispatches: a sample of the whole, not the whole. With one worker that is
everything; with several, each learns from fewer examples and their suggestions may differ a
little for the same text. The views ask the worker's own model.

Counting needs no jieba (the examples keep their text cut, :mod:`~streams.books.suggest.segment`);
a suggestion does (which of its words a person can read). What the summary keeps besides the
model is the department each example is counted for, nothing of its text.

**Suggestions kept a while.** The dashboard lists 20 open messages with their suggestions at
every refresh, ~0.5 ms each to compute (1M messages: 40% of ``/dashboard.json``'s time), and a
busy office's model learns a hundred examples a second. A suggestion made is given again until
the model has changed by 1% of its examples since (learned, moved or taken back): an estimate
about as fresh, at a fraction of the cost. Below 100 examples every suggestion is made afresh.
"""

from __future__ import annotations

from typing import Any, cast

from streams.books.book import KeptSummary, State
from streams.books.suggest import segment
from streams.books.suggest.model import Suggestion, SuggestModel

__all__ = ["SuggestSummary"]

_KEPT = 1024
"""Suggestions kept at most (the dashboard shows 20; the rest are single looks)."""


class SuggestSummary(KeptSummary):
    """See the module's docstring."""

    def __init__(self) -> None:
        self.model = SuggestModel()
        self.counted: dict[str, str] = {}
        """Example (subject) -> the department the model counts it for."""
        self.changes = 0
        """Examples learned, moved or taken back so far (how stale a kept suggestion is)."""
        self._made: dict[tuple[Any, ...], tuple[int, list[Suggestion]]] = {}
        """(tokens, returned, k) -> the changes when it was made, and the suggestions."""

    def put(self, key: str, book: State | None) -> None:
        """The example ``key`` is now ``book``. Its text never changes once it has one, so the
        counts to take back are those of the new book's text. ``None`` (a deleted book; the
        worker deletes none: a partition that moves away is dropped by a recovery, which
        resets) forgets the example, and its counts stay until the next reset."""
        self.put_prepared(key, book, self.prepare(key, book))

    def prepare(self, key: str, book: State | None) -> list[str] | None:
        """The features of ``book``'s text (cutting it into them is most of a write's cost)
        when the write moves its example: counted for another department than it is now;
        ``None`` when it does not."""
        if book is None or book["learned"] == self.counted.get(key, ""):
            return None
        return segment.features_of(book["tokens"])

    def put_prepared(self, key: str, book: State | None, prepared: object) -> None:
        """:meth:`put` with the features :meth:`prepare` found (made here if it found none:
        a write told between may have moved the example since)."""
        was = self.counted.pop(key, "")
        now = book["learned"] if book is not None else ""
        if now:
            self.counted[key] = now
        if now == was or book is None:
            return
        found = (
            segment.features_of(book["tokens"]) if prepared is None
            else cast("list[str]", prepared)
        )  # fmt: skip
        if was:
            self.model.unlearn_features(found, was)
        if now:
            self.model.learn_features(found, now)
        self.changes += 1

    def forget(self) -> None:
        self.model = SuggestModel()
        self.counted.clear()
        self._made.clear()
        self.changes += 1

    def suggest(self, book: State, k: int = 3) -> list[Suggestion]:
        """The ``k`` likeliest departments for the example ``book``, leaving out those that sent
        it back; empty while it has no text or the model has learned nothing."""
        if not book["tokens"]:
            return []
        key = (tuple(book["tokens"]), tuple(book["returned"]), k)
        made = self._made.get(key)
        if made is not None and self.changes - made[0] <= len(self.counted) // 100:
            return made[1]
        found = segment.features_of(book["tokens"])
        suggestions = self.model.suggest_features(found, k, exclude=book["returned"])
        if len(self._made) >= _KEPT:
            self._made.clear()
        self._made[key] = (self.changes, suggestions)
        return suggestions

    @property
    def learned(self) -> int:
        """Examples the model counts."""
        return len(self.counted)
