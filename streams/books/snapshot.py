"""The books as one JSON document, and the difference between two of them, entity by entity.

A *snapshot* is ``{book: {entity id: entity}}`` for every table of the worker, each entity as the
queries show it at a given moment: the stored book without its bookkeeping (applied and refused
event ids, held steps), plus what the views compute at read time (a task's light and its reason,
an item's or a work order's due time). Lights are part of it on purpose: they are computed from
the clock and the settings, so new code that changes a yellow window changes the snapshot even
though no stored book changed.

A snapshot comes from a worker's own tables (``GET /replay/books?at=``, what a rebuild or a
shadow run answers) or from the changelog topics of any application id (the live books, whichever
workers hold them: midfield/replay/books.py reads them), rendered here with this process's code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from midfield.settings import Settings
from streams.books.registry import BOOKS, NAMES

__all__ = ["Diff", "Snapshot", "diff", "render"]


Snapshot = dict[str, dict[str, Any]]

_BOOKKEEPING = ("applied", "refused", "held")


def render(tables: Mapping[str, Mapping[str, Any]], now: datetime, settings: Settings) -> Snapshot:
    """The snapshot of ``tables`` (book -> entity id -> stored book) as the queries show it."""
    out: Snapshot = {}
    for b in BOOKS:
        shown: dict[str, Any] = {}
        for key, book in sorted(tables.get(b.name, {}).items()):
            if not isinstance(book, dict):
                continue
            entity = {k: v for k, v in book.items() if k not in _BOOKKEEPING}
            if b.show is not None:
                entity |= b.show(book, now, settings)
            shown[key] = entity
        out[b.name] = shown
    return out


@dataclass
class Diff:
    """What changed from ``old`` to ``new``, per book: entity ids added and removed, and for
    the entities in both, each field whose value differs (old, new)."""

    added: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)
    changed: dict[str, dict[str, dict[str, tuple[Any, Any]]]] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def entities(self) -> int:
        return (
            sum(map(len, self.added.values()))
            + sum(map(len, self.removed.values()))
            + sum(map(len, self.changed.values()))
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "equal": self.equal,
            "entities": self.entities(),
            "added": self.added,
            "removed": self.removed,
            "changed": {
                book: {
                    key: {name: {"old": old, "new": new} for name, (old, new) in fields.items()}
                    for key, fields in entities.items()
                }
                for book, entities in self.changed.items()
            },
        }

    def text(self) -> str:
        if self.equal:
            return "no difference"
        lines: list[str] = []
        for book in NAMES:
            for key in self.added.get(book, []):
                lines.append(f"{book} {key}: added")
            for key in self.removed.get(book, []):
                lines.append(f"{book} {key}: removed")
            for key, fields in self.changed.get(book, {}).items():
                for name, (old, new) in fields.items():
                    lines.append(f"{book} {key}: {name} {_short(old)} -> {_short(new)}")
        lines.append(f"{self.entities()} entities differ")
        return "\n".join(lines)


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff(old: Snapshot, new: Snapshot) -> Diff:
    out = Diff()
    for book in NAMES:
        before, after = old.get(book, {}), new.get(book, {})
        added = sorted(after.keys() - before.keys())
        removed = sorted(before.keys() - after.keys())
        changed: dict[str, dict[str, tuple[Any, Any]]] = {}
        for key in sorted(before.keys() & after.keys()):
            a, b = before[key], after[key]
            fields = {
                name: (a.get(name), b.get(name))
                for name in sorted(a.keys() | b.keys())
                if a.get(name) != b.get(name)
            }
            if fields:
                changed[key] = fields
        if added:
            out.added[book] = added
        if removed:
            out.removed[book] = removed
        if changed:
            out.changed[book] = changed
    return out
