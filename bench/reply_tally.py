"""Reply tallies offline: what ``ReplySummary.tally`` costs with 1M messages in the books, against
the summary as it was before issue 22's shelves (every wait of the period gathered and sorted on
each request), and what their ``put`` costs.

    python -m bench.reply_tally [--messages 1000000] [--departments 30] [--repeat 50]
        [--rewrites 100000] [--seed 22] [--out bench/results/reply_tally.json]

No broker, no worker: both summaries (streams/books/reply_summary.py, and :class:`Sorting`
below, the old algorithm kept here as the baseline) take the same message books, received over
the year 2025 (to the microsecond) by ``--departments`` departments (one of them ``""``, not
assigned), 88% answered after an exponential wait (mean two days, as bench/office_books.py).
Then:

* ``put``: the seconds both take to be told every message (as a recovery's ``reset`` does), and
  ``--rewrites`` random messages rewritten (an open one replied, an answered one's reply moved),
  each put timed;
* ``tally`` for a month, a quarter and the year, for one department, for all (the total), and
  for the whole of ``/reply-rate`` (every department and the total, what the dashboard's panel
  also computes): each ``--repeat`` times, p50/p99 ms before and after and their ratio; and
  whether the two give the same figures (the mean may differ in its last digit: the old one
  added floats, the new one adds microseconds exactly, see docs/metrics.md);
* each summary's memory per message (tracemalloc, a 100k-message fill).

The issue's target is the views' (``/reply-rate`` and the dashboard p99 <= 50 ms at 1M
messages, bench/views.py); this bench is the part of it that a tally is.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import platform
import random
import statistics
import time
import tracemalloc
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

from bench.harness import command_line, progress, run_bench
from midfield.settings import RepliesSettings
from streams.books import office_time, reply_tallies
from streams.books.book import State
from streams.books.period import Period
from streams.books.ranked import Ranked
from streams.books.reply_summary import ReplySummary, message_row

ZONE = ZoneInfo("Asia/Shanghai")
RULES = RepliesSettings()
YEAR = 2025
PERIODS = {"month": "2025-06", "quarter": "2025-Q2", "year": "2025"}
MEMORY_MESSAGES = 100_000

Summary = Any
"""A :class:`ReplySummary` or a :class:`Sorting`: the same ``put`` and ``tally``."""


# --- the baseline: the summary as it was at 54ecb0b, before the shelves ------------------------


@dataclass(slots=True)
class _Day:
    received: int = 0
    waits: list[float] = field(default_factory=list)
    open: set[str] = field(default_factory=set)


class Sorting:
    """The reply summary as it was: per department and day, the waits as written; a tally
    gathers and sorts the period's waits (its ``put``, ``tally`` and figures, as they were)."""

    def __init__(self, rules: RepliesSettings, zone: ZoneInfo) -> None:
        self.rules, self.zone = rules, zone
        self.rows: dict[str, tuple[date, str, str, float | None, str]] = {}
        self.days: dict[tuple[str, date], _Day] = {}
        self.open: dict[str, Ranked] = {}

    def put(self, key: str, book: State | None) -> None:
        old = self.rows.pop(key, None)
        if old is not None:
            old_day, old_department, _, old_wait, _ = old
            day = self.days[(old_department, old_day)]
            day.received -= 1
            if old_wait is None:
                day.open.discard(key)
                self._open_in(old_department, key, None)
            else:
                day.waits.remove(old_wait)
            if not day.received:
                del self.days[(old_department, old_day)]
        row = message_row(book, self.zone)
        if row is None:
            return
        self.rows[key] = row
        received_on, department, received_at, wait, _ = row
        day = self.days.setdefault((department, received_on), _Day())
        day.received += 1
        if wait is None:
            day.open.add(key)
            self._open_in(department, key, (office_time.instant(received_at),))
        else:
            day.waits.append(wait)

    def _open_in(self, department: str, key: str, rank: tuple[int] | None) -> None:
        found = self.open.setdefault(department, Ranked(1))
        found.put(key, rank)
        if not len(found):
            del self.open[department]

    def departments(self) -> list[str]:
        return sorted({department for department, _ in self.days})

    def tally(self, period: Period, *, department: str | None, now: datetime) -> dict[str, Any]:
        first = period.start.astimezone(self.zone).date() if period.start else date.min
        after = period.end.astimezone(self.zone).date() if period.end else date.max
        days = sorted(
            (
                (d, found)
                for (code, d), found in self.days.items()
                if first <= d < after and (department is None or code == department)
            ),
            key=lambda entry: entry[0],
        )
        waits = sorted(chain.from_iterable(found.waits for _, found in days))
        open_days = [d for d, found in days if found.open]
        oldest = None
        if open_days:
            earliest = [k for d, found in days if d == open_days[0] for k in found.open]
            oldest = min(earliest, key=lambda k: (office_time.parse(self.rows[k][2]), k))
        return reply_tallies.figures(
            received=sum(found.received for _, found in days),
            replied=len(waits),
            on_time=bisect_right(waits, self.rules.on_time_days * 86_400),
            time_to_reply=_float_spread(waits),
            unanswered=sum(len(found.open) for _, found in days),
            oldest=None if oldest is None else self._message(oldest),
            now=now,
        )

    def _message(self, key: str) -> dict[str, Any]:
        _, _, received_at, _, title = self.rows[key]
        return {"message_id": key, "title": title, "received_at": received_at}


def _float_spread(waits: list[float]) -> dict[str, float] | None:
    """``reply_tallies`` spread as it was: the mean a float sum of the sorted waits."""
    if not waits:
        return None
    n = len(waits)
    return {
        "mean": round(sum(waits) / n, 1),
        "p50": waits[reply_tallies.nearest_rank(0.5, n)],
        "p90": waits[reply_tallies.nearest_rank(0.9, n)],
        "max": waits[-1],
    }


# --- the workload ---------------------------------------------------------------------------


def departments(count: int) -> list[str]:
    """``count`` department codes, the first ``""`` (messages no department has yet)."""
    return ["", *(f"dept-{n:02d}" for n in range(1, count))]


def books(messages: int, codes: Sequence[str], seed: int) -> list[dict[str, Any]]:
    """``messages`` message books over the year, seeded."""
    rng = random.Random(seed)
    start = datetime(YEAR, 1, 1, tzinfo=ZONE).astimezone(UTC)
    span_us = int((datetime(YEAR + 1, 1, 1, tzinfo=ZONE) - datetime(YEAR, 1, 1, tzinfo=ZONE))
                  / timedelta(microseconds=1))  # fmt: skip
    made = []
    for i in range(messages):
        received = start + timedelta(microseconds=rng.randrange(span_us))
        replied = None
        if rng.random() >= 0.12:
            replied = received + timedelta(microseconds=int(rng.expovariate(0.5) * 86_400e6))
        made.append(_book(f"board-{i:07d}", rng.choice(codes), received, replied))
    return made


def rewrites(made: list[dict[str, Any]], count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` random messages rewritten: an open one replied, an answered one's reply moved."""
    rng = random.Random(seed + 1)
    out = []
    for book in rng.sample(made, count):
        received = office_time.parse(book["received_at"])
        replied = received + timedelta(microseconds=int(rng.expovariate(0.5) * 86_400e6))
        out.append(_book(book["message_id"], book["department"], received, replied))
    return out


def _book(
    message_id: str, department: str, received: datetime, replied: datetime | None
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "channel": "board",
        "category": "consult",
        "title": "城关镇路灯损坏未修",
        "department": department,
        "received_at": received.isoformat(),
        "replied_at": None if replied is None else replied.isoformat(),
        "replied_by": department if replied else "",
        "replies": int(replied is not None),
        "applied": [],
    }


# --- the measurements -------------------------------------------------------------------------


def fill(summary: Summary, made: Iterable[dict[str, Any]]) -> float:
    """Seconds ``summary`` takes to be told every message of ``made``."""
    started = time.perf_counter()
    for book in made:
        summary.put(book["message_id"], book)
    return time.perf_counter() - started


def each_put_us(summary: Summary, made: list[dict[str, Any]]) -> list[float]:
    """Microseconds of each put of ``made``."""
    times = []
    for book in made:
        started = time.perf_counter()
        summary.put(book["message_id"], book)
        times.append((time.perf_counter() - started) * 1e6)
    return times


def timed(call: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Milliseconds of each of ``repeat`` calls, and what the last answered."""
    times, answer = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        answer = call()
        times.append((time.perf_counter() - started) * 1e3)
    return times, answer


def spread(values: Sequence[float], digits: int = 3) -> dict[str, float]:
    """p50, p99 (nearest rank) and max of ``values``."""
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[reply_tallies.nearest_rank(q, len(ordered))], digits)

    return {"p50": at(0.5), "p99": at(0.99), "max": round(ordered[-1], digits)}


def report_of(summary: Summary, period: Period, now: datetime) -> dict[str, Any]:
    """``/reply-rate``'s figures: every department and the total (streams/views)."""
    return reply_tallies.report(
        period,
        summary.departments(),
        lambda code: summary.tally(period, department=code, now=now),
        total=None,
        name_of=lambda code: code,
    )


def tallies(
    before: Summary, after: Summary, one: str, repeat: int, now: datetime
) -> dict[str, Any]:
    """Every period and scope, timed on both summaries."""
    found: dict[str, Any] = {}
    for name, text in PERIODS.items():
        period = Period.parse(text, ZONE)
        for scope, call in _scopes(period, one, now).items():
            progress(f"  tally {name} {scope}")
            old_ms, old = timed(functools.partial(call, before), repeat)
            new_ms, new = timed(functools.partial(call, after), repeat)
            found[f"{name}/{scope}"] = _compared(text, old_ms, new_ms, old, new)
    return found


def _scopes(period: Period, one: str, now: datetime) -> dict[str, Callable[[Summary], Any]]:
    """What a case asks of a summary: ``one``'s tally, the total's, the whole view's."""

    def one_department(summary: Summary) -> Any:
        return summary.tally(period, department=one, now=now)

    def all_departments(summary: Summary) -> Any:
        return summary.tally(period, department=None, now=now)

    def reply_rate_view(summary: Summary) -> Any:
        return report_of(summary, period, now)

    return {f.__name__: f for f in (one_department, all_departments, reply_rate_view)}


def _compared(
    text: str, old_ms: list[float], new_ms: list[float], old: Any, new: Any
) -> dict[str, Any]:
    before, after = spread(old_ms), spread(new_ms)
    return {
        "period": text,
        "before_ms": before,
        "after_ms": after,
        "ratio_p50": round(before["p50"] / after["p50"], 1),
        "ratio_p99": round(before["p99"] / after["p99"], 1),
        "same_figures": old == new,
        "same_but_mean": _without_mean(old) == _without_mean(new),
    }


def _without_mean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_mean(v) for k, v in value.items() if k != "mean"}
    if isinstance(value, list):
        return [_without_mean(v) for v in value]
    return value


def memory_per_message(made: list[dict[str, Any]]) -> dict[str, float]:
    """Bytes each summary holds per message of ``made`` (tracemalloc)."""
    found = {}
    for name, make in (("before", Sorting), ("after", ReplySummary)):
        gc.collect()
        tracemalloc.start()
        summary = make(RULES, ZONE)
        fill(summary, made)
        size, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        found[name] = round(size / len(made), 1)
        del summary
    return found


def bench(args: argparse.Namespace) -> dict[str, Any]:
    codes = departments(args.departments)
    progress(f"making {args.messages:,} message books")
    made = books(args.messages, codes, args.seed)
    moved = rewrites(made, args.rewrites, args.seed)
    memory = memory_per_message(made[:MEMORY_MESSAGES])
    gc.collect()
    gc.freeze()  # as the worker does once started (streams/worker/heap.py)
    before, after = Sorting(RULES, ZONE), ReplySummary(RULES, ZONE)
    puts: dict[str, Any] = {}
    for name, summary in (("before", before), ("after", after)):
        progress(f"  put {name}")
        seconds = fill(summary, made)
        moved_us = each_put_us(summary, moved)
        puts[name] = {
            "fill_s": round(seconds, 2),
            "fill_us_per_put": round(seconds / len(made) * 1e6, 2),
            "rewrite_us": spread(moved_us, 2) | {"mean": round(statistics.fmean(moved_us), 2)},
        }
    gc.collect()
    gc.freeze()
    now = datetime(YEAR + 1, 1, 15, tzinfo=ZONE)
    return {
        "bench": "reply_tally",
        "messages": args.messages,
        "departments": args.departments,
        "replied": sum(1 for b in made if b["replied_at"]),
        "rewrites": args.rewrites,
        "repeat": args.repeat,
        "one_department": codes[1],
        "put": puts,
        "memory_bytes_per_message": memory,
        "tally": tallies(before, after, codes[1], args.repeat, now),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"reply tally, {result['messages']:,} messages, {result['departments']} departments",
        f"{'case':<32} {'before p50/p99 ms':>20} {'after p50/p99 ms':>18} {'x p50':>7} {'x p99':>7}"
        " same",
    ]
    for case, row in result["tally"].items():
        b, a = row["before_ms"], row["after_ms"]
        lines.append(
            f"{case:<32} {b['p50']:>9.2f}/{b['p99']:<9.2f} {a['p50']:>8.3f}/{a['p99']:<8.3f}"
            f" {row['ratio_p50']:>7} {row['ratio_p99']:>7} {row['same_figures']}"
        )
    for name, put in result["put"].items():
        lines.append(
            f"put {name}: fill {put['fill_s']} s ({put['fill_us_per_put']} µs/put); rewrite p50 "
            f"{put['rewrite_us']['p50']} µs, p99 {put['rewrite_us']['p99']} µs"
        )
    memory = result["memory_bytes_per_message"]
    lines.append(f"memory per message: before {memory['before']} B, after {memory['after']} B")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = command_line("reply_tally", __doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--departments", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=50, help="tallies of each case")
    parser.add_argument("--rewrites", type=int, default=100_000, help="puts timed one by one")
    parser.add_argument("--seed", type=int, default=22)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    run_bench(argv, parse_args, bench, table)


if __name__ == "__main__":
    main()
