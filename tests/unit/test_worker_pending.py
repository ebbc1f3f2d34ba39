"""A batch's view of the books (streams/worker/agents.py ``Pending``): each event reads what the
events before it in the batch decided, and nothing reaches a table until the batch is written."""

from __future__ import annotations

from typing import Any

import pytest

from streams.worker.agents import Pending


class _Event:
    def __init__(self, partition: int) -> None:
        self.partition = partition


def test_a_batch_reads_its_own_writes_over_the_tables_and_leaves_them_alone() -> None:
    tables: dict[str, dict[str, Any]] = {"items": {"a": {"n": 1}}, "ledger": {}}
    pending = Pending(tables)
    first, second = _Event(0), _Event(3)

    assert pending["items"].get("a") == {"n": 1}
    pending.write({("items", "a"): {"n": 2}, ("ledger", "t"): {"s": "new"}}, first)
    pending.write({("items", "a"): {"n": 3}}, second)

    assert pending["items"].get("a") == {"n": 3}
    assert pending["ledger"]["t"] == {"s": "new"}
    assert pending["ledger"].get("nobody") is None
    with pytest.raises(KeyError):
        pending["ledger"]["nobody"]
    assert tables == {"items": {"a": {"n": 1}}, "ledger": {}}  # untouched until written
    # each entity is written once, with the last event that changed it
    assert pending.writes == {("items", "a"): {"n": 3}, ("ledger", "t"): {"s": "new"}}
    assert pending.events == {("items", "a"): second, ("ledger", "t"): first}


def test_a_book_cannot_write_or_scan_through_a_batch() -> None:
    pending = Pending({"items": {"a": {}}})
    with pytest.raises(TypeError):
        pending["items"]["a"] = {"n": 1}
    with pytest.raises(TypeError):
        list(pending["items"])
