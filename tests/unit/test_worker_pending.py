"""A batch's view of the books (streams/worker/agents.py ``Pending``): each event reads what the
events before it in the batch decided, and nothing reaches a table until the batch is written."""

from __future__ import annotations

import gc
import weakref
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


def test_a_batch_and_everything_it_holds_are_freed_without_the_garbage_collector() -> None:
    """A batch holds its events (with their records) and the books it decided. Freed by
    reference counting they go as soon as it is written; in a reference cycle they waited for a
    full collection: every record the worker read was cyclic garbage, and with 100k tasks a full
    collection ran every ~0.3 s for 40-80 ms (bench/views.py, MIDFIELD_WORKER_STALL_LOG_MS)."""
    event = _Event(0)
    pending = Pending({"items": {}, "ledger": {}})
    pending.write({("items", "a"): {"n": 1}}, event)
    assert pending["items"].get("a") == {"n": 1}
    batch, held = weakref.ref(pending), weakref.ref(event)
    gc.disable()
    try:
        del pending, event
        assert batch() is None and held() is None
    finally:
        gc.enable()
