"""The stored books of any application id, read from its changelog topics.

What a worker's recovery would load, without starting one: ``replay diff`` and ``replay
rebuild`` compare or publish them; streams/books/snapshot.py renders and compares snapshots.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from midfield.bus.changelog import fold
from midfield.replay.offsets import scan
from streams.books.registry import NAMES
from streams.books.snapshot import Diff, Snapshot, diff, render

__all__ = ["NAMES", "Diff", "Snapshot", "changelog_topic", "diff", "from_changelogs", "render"]


def changelog_topic(app_id: str, book: str) -> str:
    """faust's changelog topic of table ``book`` under ``app_id``."""
    return f"{app_id}-{book}-changelog"


def from_changelogs(config: Mapping[str, Any], app_id: str) -> dict[str, dict[str, Any]]:
    """The stored books of ``app_id``, read from its changelog topics as a worker's recovery
    would load them (:func:`midfield.bus.changelog.fold`: per-entity records and segments)."""
    tables: dict[str, dict[str, Any]] = {}
    for name in NAMES:
        records = scan(config, [changelog_topic(app_id, name)])
        tables[name] = fold(
            (_key(r.key), None if r.value is None else json.loads(r.value)) for r in records
        )
    return tables


def _key(raw: bytes | None) -> str:
    """faust writes a table's changelog keys as JSON (``"T-1"``, quotes included)."""
    text = (raw or b"").decode("utf-8", "replace")
    try:
        key = json.loads(text)
    except ValueError:
        return text
    return key if isinstance(key, str) else text
