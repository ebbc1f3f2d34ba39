"""Plans for every replay, and how far one has got.

A **plan** says, per partition of the topics the processors read, where a replay starts (the
beginning, a moment, an offsets file), where it stops (``as-of``, ``shadow``) and what it must
reach. ``rebuild`` and ``as-of`` apply a plan over a plain consumer (midfield/replay/fast.py);
``shadow``, the processor cases and ``--serve`` run it in a read-only worker of their own
(midfield/replay/replay_worker.py). Either way **progress** is the offsets done against the
plan's targets (events done / to do, events/s, ETA).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from midfield.bus.clients import client_config
from midfield.bus.watermarks import end_offsets, topic_partitions
from midfield.errors import ConfigError
from midfield.replay.offsets import (
    Offsets,
    beginning_offsets,
    committed_offsets,
    offsets_at,
    read_offsets,
)
from midfield.settings import Settings
from streams.worker.app import PROCESSED

__all__ = ["Plan", "Progress", "caught_up", "parse_time", "plan"]


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    elapsed_s: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None

    def line(self, label: str) -> str:
        share = 100 * self.done / self.total if self.total else 100.0
        eta = f"ETA {self.eta_s:,.0f} s" if self.eta_s is not None else "ETA -"
        return (
            f"{label}: {self.done:,}/{self.total:,} events ({share:.0f}%), "
            f"{self.rate:,.0f} events/s, {eta}"
        )


@dataclass
class Plan:
    """Where a replay starts, where it is caught up, and (as-of, shadow) where it stops."""

    app_id: str
    starts: Offsets
    targets: Offsets
    stops: Offsets | None = None
    searched: set[tuple[str, int]] = field(default_factory=set)
    """Partitions whose start for a moment needed the binary search (the broker's answer failed
    its check)."""

    @property
    def events(self) -> int:
        return sum(max(self.targets[tp] - self.starts.get(tp, 0), 0) for tp in self.targets)

    def as_json(self) -> dict[str, Any]:
        topics: dict[str, dict[str, Any]] = {}
        for (t, p), target in sorted(self.targets.items()):
            entry = topics.setdefault(t, {"events": 0, "partitions": {}})
            start = self.starts.get((t, p), 0)
            entry["partitions"][str(p)] = {"start": start, "target": target}
            entry["events"] += max(target - start, 0)
        return {
            "app_id": self.app_id,
            "events": self.events,
            "topics": topics,
            "searched_by_timestamp": sorted(f"{t}/{p}" for t, p in self.searched),
        }


def plan(
    settings: Settings,
    app_id: str,
    *,
    start: str = "beginning",
    stop_at: datetime | None = None,
    stops: Offsets | None = None,
) -> Plan:
    """The offsets a replay under ``app_id`` starts from, stops at and must reach.

    ``start``: ``beginning``, an ISO time, or the path of an offsets file (partitions it does
    not name start at the beginning). ``stop_at`` (as-of) or ``stops`` (shadow) bound it.
    """
    config = client_config(settings.kafka)
    if committed_offsets(config, app_id):
        raise ConfigError(
            f"application id {app_id!r} already has committed offsets: a replay needs a fresh "
            "one (--app-id)",
            reason="app-id-in-use",
        )
    partitions = topic_partitions(config, PROCESSED)
    begins = beginning_offsets(config, partitions)
    ends = end_offsets(config, partitions)
    searched: set[tuple[str, int]] = set()
    if start == "beginning":
        starts = dict(begins)
    elif Path(start).is_file():
        given = read_offsets(Path(start))
        starts = {tp: given.get(tp, begins[tp]) for tp in partitions}
    else:
        found = offsets_at(config, partitions, parse_time(start, settings))
        starts, searched = found.offsets, found.searched
    if stop_at is not None:
        found = offsets_at(config, partitions, stop_at)
        stops, searched = found.offsets, searched | found.searched
    targets = dict(ends) if stops is None else {tp: stops.get(tp, begins[tp]) for tp in partitions}
    return Plan(app_id, starts, targets, stops, searched)


def parse_time(text: str, settings: Settings) -> datetime:
    """An ISO time; without an offset it is the office's local time."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"{text!r} is neither 'beginning', an ISO time (2025-03-01T09:00+08:00) nor an "
            "offsets file",
            reason="bad-time",
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=settings.office.zone)


def caught_up(committed: Offsets, plan_: Plan) -> int:
    """Events done: per partition, how far the committed offset is past its start, up to the
    target (a partition with nothing to do counts as done)."""
    done = 0
    for tp, target in plan_.targets.items():
        start = plan_.starts.get(tp, 0)
        done += max(min(committed.get(tp, start), target) - start, 0)
    return done
