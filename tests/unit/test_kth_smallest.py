"""The k-th smallest of several sorted lists (streams/books/kth_smallest.py) is the element a
merge and sort of them would put at k, for any lists, ties and k."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.books.kth_smallest import kth_smallest

# Few distinct values, so that ties cross the lists and straddle every pivot.
runs = (
    st.lists(
        st.lists(st.sampled_from([0.0, 0.5, 1.0, 3600.0, 3600.25, 86_400.0, 1e-6]), max_size=30)
        | st.lists(st.floats(-1e9, 1e9), max_size=30),
        min_size=1,
        max_size=12,
    )
    .filter(any)
    .map(lambda lists: [sorted(run) for run in lists])
)


@settings(max_examples=400, deadline=None)
@given(runs, st.data(), st.sampled_from([0, 1, 4, 1_024]))
def test_the_kth_smallest_is_the_merged_sorted_lists_kth(
    lists: list[list[float]], data: st.DataObject, merge_below: int
) -> None:
    """``merge_below`` 0 or 1 narrows round by round down to one list; 1,024 merges at once."""
    merged = sorted(v for run in lists for v in run)
    k = data.draw(st.integers(0, len(merged) - 1))
    assert kth_smallest(lists, k, merge_below=merge_below) == merged[k]


def test_every_rank_of_many_long_lists_with_ties_is_the_merged_one() -> None:
    """Lists long enough for the rounds at the default threshold (seeded, not random)."""
    lists = [sorted(float((i * 7_919 + j * 104_729) % 997) for j in range(400)) for i in range(9)]
    merged = sorted(v for run in lists for v in run)
    for k in range(0, len(merged), 37):
        assert kth_smallest(lists, k) == merged[k], k


def test_a_rank_past_the_values_is_an_index_error() -> None:
    with pytest.raises(IndexError):
        kth_smallest([[1.0, 2.0], [], [3.0]], 3)
