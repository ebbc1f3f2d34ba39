"""The memory bench's tasks later in their life (``python -m bench.memory --updates N``): each
assigned and signed by its lead department, then N progress reports spread evenly over them, as
a county's ledger collects them over months; waiting until the worker has applied them; and the
records the books' changelogs then hold, which a restarted worker reads back to recover."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import progress
from midfield.bus.groups import committed_offsets
from midfield.bus.watermarks import topic_end_offsets
from midfield.replay.offsets import scan
from schemas.envelope import Envelope, EventData
from schemas.events.task import TaskAssigned, TaskProgressReported, TaskSigned
from streams.books.registry import BOOKS

__all__ = [
    "changelog_bytes",
    "changelog_present",
    "changelog_records",
    "events",
    "lifecycle",
    "wait_applied",
    "wait_compacted",
]

REPORTS = ("按计划推进，", "已完成阶段性任务，", "资金已拨付到位，", "正在组织施工，",
           "已召开专题推进会，", "存在用地手续问题，正在协调，", "下一步将加快进度。")  # fmt: skip


def events(tasks: int, updates: int) -> int:
    """The events :func:`lifecycle` makes."""
    return 2 * tasks + updates


def lifecycle(
    tasks: Sequence[tuple[str, str]],
    updates: int,
    at: datetime,
    people: Sequence[str],
    seed: int = 17,
) -> Iterator[Envelope]:
    """Every task of ``tasks`` (its id and lead department) assigned and signed, then
    ``updates`` progress reports: report k to task k mod len(tasks), its percent 5 points higher
    each round (99 at most), its text two of :data:`REPORTS`. Times from ``at`` on, 1 µs apart."""
    rng = random.Random(seed)
    for i, (task_id, lead) in enumerate(tasks):
        yield _wrap(TaskAssigned(task_id=task_id, actor="office"), f"assign {i}", at)
        yield _wrap(TaskSigned(task_id=task_id, actor=lead, person=rng.choice(people)),
                    f"sign {i}", at)  # fmt: skip
    for k in range(updates):
        round_, i = divmod(k, len(tasks))
        task_id, lead = tasks[i]
        report = TaskProgressReported(task_id=task_id, actor=lead, person=rng.choice(people),
                                      percent=min(99, 5 * (round_ + 1)),
                                      text="".join(rng.choices(REPORTS, k=2)))  # fmt: skip
        yield _wrap(report, f"progress {k}", at + timedelta(microseconds=k + 1))


def _wrap(
    data: TaskAssigned | TaskSigned | TaskProgressReported, position: str, at: datetime
) -> Envelope:
    event: EventData = data
    return Envelope.wrap(event, source="midfield://bench/task-updates", position=position,
                         subject=data.task_id, time=at, ingested_at=at)  # fmt: skip


def wait_applied(
    config: Mapping[str, Any],
    group: str,
    topic: str,
    timeout_s: float,
    rss: Callable[[], float],
) -> float:
    """Seconds until ``group`` (the worker's) has committed every record of ``topic``: faust
    commits an offset once the batch's books are written. Progress every 10 s."""
    ends = topic_end_offsets(config, [topic])
    total, first = sum(ends.values()), None
    start, shown = time.monotonic(), 0.0
    while True:
        done = {tp: o for tp, o in committed_offsets(config, group).items() if tp in ends}
        applied = sum(done.values())
        first = applied if first is None else first
        if all(done.get(tp, 0) >= end for tp, end in ends.items()):
            return time.monotonic() - start
        elapsed = time.monotonic() - start
        if elapsed > timeout_s:
            raise SystemExit(f"the worker applied {applied:,} of {total:,} after {timeout_s:.0f} s")
        if elapsed - shown >= 10:
            shown = elapsed
            progress(f"  applied {applied:,}/{total:,} after {elapsed:.0f} s "
                     f"({(applied - first) / elapsed:,.0f}/s), RSS {rss():.0f} MiB")  # fmt: skip
        time.sleep(1)


def changelog_records(config: Mapping[str, Any], app_id: str) -> dict[str, int]:
    """Records in each book's changelog topic (faust's ``<app id>-<book>-changelog``), every
    one of which a recovering worker reads: the embedded broker never compacts them."""
    names = {f"{app_id}-{b.name}-changelog": b.name for b in BOOKS}
    ends = topic_end_offsets(config, names)
    counts = dict.fromkeys(sorted(names.values()), 0)
    for (topic, _), end in ends.items():
        counts[names[topic]] += end
    return counts


def changelog_present(config: Mapping[str, Any], app_id: str) -> dict[str, int]:
    """Records each book's changelog holds now, read from the first to the last: on a broker
    that compacts, fewer than :func:`changelog_records` counts (the end offsets), and what a
    recovering worker reads."""
    names = {f"{app_id}-{b.name}-changelog": b.name for b in BOOKS}
    counts = dict.fromkeys(sorted(names.values()), 0)
    for record in scan(config, names, timeout_s=1800):
        counts[names[record.topic]] += 1
    return counts


def changelog_bytes(data_dir: Path, app_id: str) -> int:
    """Bytes of the books' changelog segments in an Apache Kafka's ``log.dirs``."""
    return sum(f.stat().st_size for f in data_dir.glob(f"{app_id}-*-changelog-*/*.log"))


def wait_compacted(data_dir: Path, app_id: str, quiet_s: float, timeout_s: float) -> float:
    """Seconds until the changelogs' segments on disk have not shrunk for ``quiet_s``: the
    broker's log cleaner has compacted what it will (it never touches the active segment)."""
    start = time.monotonic()
    smallest, since = changelog_bytes(data_dir, app_id), start
    progress(f"  changelogs {smallest / (1 << 20):,.0f} MiB on disk; waiting for the cleaner…")
    while time.monotonic() - since < quiet_s:
        if time.monotonic() - start > timeout_s:
            progress(f"  still cleaning after {timeout_s:.0f} s; going on")
            break
        time.sleep(5)
        now = changelog_bytes(data_dir, app_id)
        if now < smallest:
            smallest, since = now, time.monotonic()
            progress(f"  {now / (1 << 20):,.0f} MiB after {since - start:.0f} s")
    return time.monotonic() - start
