"""The k-th smallest of several sorted lists taken together, without merging them: what the reply
tallies' summary (streams/books/reply_summary.py) takes a period's percentiles with, from its
days' and months' waits kept sorted. Pure.

Each round takes as pivot the weighted median of the middles of what is left of every list (so
at least a quarter of what is left lies on each side of it), counts with a bisection per list
how many are below it and how many at most it, and keeps the side the k-th is on: O(lists · log n)
per round and O(log n) rounds, where merging and sorting is O(n log n). Once few are left they
are merged and sorted. The answer is an element of the lists, the very one a sort would give.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import chain

__all__ = ["MERGE_BELOW", "kth_smallest"]

MERGE_BELOW = 1_024
"""Candidates few enough to merge and sort at once (in C) rather than narrow in more rounds."""

_Window = tuple[Sequence[float], int, int]
"""A sorted list and the slice of it still holding candidates: ``(values, lo, hi)``."""


def kth_smallest(
    runs: Sequence[Sequence[float]], k: int, *, merge_below: int = MERGE_BELOW
) -> float:
    """The ``k``-th smallest (from 0) of the sorted lists ``runs`` taken together;
    ``IndexError`` when they hold ``k`` or fewer values. Once ``merge_below`` or fewer are left,
    they are merged and sorted."""
    windows: list[_Window] = [(run, 0, len(run)) for run in runs if run]
    while True:
        left = sum(hi - lo for _, lo, hi in windows)
        if not 0 <= k < left:
            raise IndexError(f"no {k}-th smallest of {left} values")
        if len(windows) == 1:
            run, lo, _ = windows[0]
            return run[lo + k]
        if left <= merge_below:
            return sorted(chain.from_iterable(run[lo:hi] for run, lo, hi in windows))[k]
        pivot = _pivot(windows, left)
        below = [bisect_left(run, pivot, lo, hi) for run, lo, hi in windows]
        under = sum(b - lo for b, (_, lo, _) in zip(below, windows, strict=True))
        if k < under:
            windows = [(run, lo, b) for b, (run, lo, _) in zip(below, windows, strict=True)
                       if b > lo]  # fmt: skip
            continue
        upto = [
            bisect_right(run, pivot, b, hi) for b, (run, _, hi) in zip(below, windows, strict=True)
        ]
        at_most = sum(u - lo for u, (_, lo, _) in zip(upto, windows, strict=True))
        if k < at_most:
            return pivot
        k -= at_most
        windows = [(run, u, hi) for u, (run, _, hi) in zip(upto, windows, strict=True) if u < hi]


def _pivot(windows: list[_Window], left: int) -> float:
    """The weighted median of the windows' middles, each weighing what its window holds."""
    middles = sorted((run[(lo + hi) // 2], hi - lo) for run, lo, hi in windows)
    seen = 0
    for value, weight in middles:
        seen += weight
        if 2 * seen >= left:
            return value
    raise AssertionError("the weights add up to what is left")  # pragma: no cover
