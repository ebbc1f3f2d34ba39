"""The k-th smallest of several sorted lists taken together, without merging them: what the reply
tallies' summary (streams/books/reply_summary.py) takes a period's percentiles with, from its
days' and months' waits kept sorted. Pure.

Each round brackets the k-th between two of the values: in each list, the values at the k-th's
relative place less and more a margin; of each kind, their median weighted by the lists'
lengths. A bisection per list counts the values below the lower and at most the upper, which
says whether the k-th is below, between or above them, and only that part of each list is kept:
a round costs O(lists · log n), where merging and sorting costs O(n log n), and similar lists
(a department's months) keep a few percent. A round that keeps more than three quarters (lists
that differ a lot) is followed by one whose single pivot is the weighted median of the lists'
middles, which keeps at most three quarters: O(log n) rounds at worst. Once few values are left
they are merged and sorted. The answer is a value of the lists, the very one a sort would give.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import chain

__all__ = ["MERGE_BELOW", "kth_smallest"]

MERGE_BELOW = 1_024
"""Values few enough to merge and sort at once (in C) rather than narrow in more rounds."""

_MARGIN = 0.01
"""How far, as a share of what is left, the bracket's ends are from the k-th's relative place."""

_Window = tuple[Sequence[float], int, int]
"""A sorted list and the part of it still holding candidates: ``(values, lo, hi)``."""


def kth_smallest(
    runs: Sequence[Sequence[float]], k: int, *, merge_below: int = MERGE_BELOW
) -> float:
    """The ``k``-th smallest (from 0) of the sorted lists ``runs`` taken together;
    ``IndexError`` when they hold ``k`` or fewer values. Once ``merge_below`` or fewer are left,
    they are merged and sorted."""
    windows: list[_Window] = [(run, 0, len(run)) for run in runs if run]
    bracket = True
    while True:
        left = sum(hi - lo for _, lo, hi in windows)
        if not 0 <= k < left:
            raise IndexError(f"no {k}-th smallest of {left} values")
        if len(windows) == 1:
            run, lo, _ = windows[0]
            return run[lo + k]
        if left <= merge_below:
            return sorted(chain.from_iterable(run[lo:hi] for run, lo, hi in windows))[k]
        lower, upper = _bracket(windows, k, left) if bracket else (_middle(windows, left),) * 2
        found, windows, k = _keep(windows, k, lower, upper)
        if found is not None:
            return found
        bracket = 4 * sum(hi - lo for _, lo, hi in windows) <= 3 * left


def _keep(
    windows: list[_Window], k: int, lower: float, upper: float
) -> tuple[float | None, list[_Window], int]:
    """The k-th if it is ``lower`` = ``upper``; else the part of the windows it is in (below
    ``lower``, from ``lower`` to ``upper``, or above ``upper``) and its place there."""
    below = [bisect_left(run, lower, lo, hi) for run, lo, hi in windows]
    under = sum(b - lo for b, (_, lo, _) in zip(below, windows, strict=True))
    if k < under:
        return None, [(run, lo, b) for b, (run, lo, _) in zip(below, windows, strict=True)
                      if b > lo], k  # fmt: skip
    upto = [bisect_right(run, upper, b, hi) for b, (run, _, hi) in zip(below, windows, strict=True)]
    at_most = sum(u - lo for u, (_, lo, _) in zip(upto, windows, strict=True))
    if k >= at_most:
        return None, [(run, u, hi) for u, (run, _, hi) in zip(upto, windows, strict=True)
                      if u < hi], k - at_most  # fmt: skip
    if lower == upper:
        return lower, windows, k
    return None, [(run, b, u) for b, u, (run, _, _) in zip(below, upto, windows, strict=True)
                  if u > b], k - under  # fmt: skip


def _bracket(windows: list[_Window], k: int, left: int) -> tuple[float, float]:
    """Two values the k-th is likely between (it may not be: :func:`_keep` then keeps a side)."""
    place = (k + 0.5) / left
    low, high = max(place - _MARGIN, 0.0), min(place + _MARGIN, 1.0)
    lows = [(run[lo + int(low * (hi - lo))], hi - lo) for run, lo, hi in windows]
    highs = [(run[min(hi - 1, lo + int(high * (hi - lo)))], hi - lo) for run, lo, hi in windows]
    return _weighted_median(lows, left), _weighted_median(highs, left)


def _middle(windows: list[_Window], left: int) -> float:
    """The weighted median of the windows' middles: at least a quarter of what is left lies on
    each side of it."""
    return _weighted_median([(run[(lo + hi) // 2], hi - lo) for run, lo, hi in windows], left)


def _weighted_median(values: list[tuple[float, int]], total: int) -> float:
    """The value of ``(value, weight)`` pairs, weights adding up to ``total``, at which half the
    weight is reached."""
    seen = 0
    for value, weight in sorted(values):
        seen += weight
        if 2 * seen >= total:
            return value
    raise AssertionError("the weights add up to the total")  # pragma: no cover
