"""A consumer group's committed offsets, read (for lag, and where a replay starts) and set (how
``replay rebuild`` starts the processors at a moment)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from midfield.bus.clients import admin_client
from midfield.errors import StoreError

__all__ = ["commit_offsets", "committed_offsets"]


def committed_offsets(config: Mapping[str, Any], group: str) -> dict[tuple[str, int], int]:
    """What ``group`` has committed, per partition (partitions it never committed on: absent)."""
    with admin_client(config) as admin:
        offsets = admin.list_group_offsets(group).get(group, {})
    return {
        (tp.topic, tp.partition): meta.offset for tp, meta in offsets.items() if meta.offset >= 0
    }


def commit_offsets(
    config: Mapping[str, Any], group: str, offsets: Mapping[tuple[str, int], int]
) -> None:
    """Commit ``offsets`` for ``group`` (which must have no members): a worker joining that group
    starts there. How ``replay rebuild`` starts the processors at a moment."""
    if not offsets:
        return
    wanted = {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()}
    with admin_client(config) as admin:
        answers = admin.alter_group_offsets(group, wanted)
    failed = {tp: err for tp, err in answers.items() if getattr(err, "errno", 0)}
    if failed:
        raise StoreError(
            f"could not commit the start offsets of group {group}: {failed}",
            reason="offset-commit",
        )
