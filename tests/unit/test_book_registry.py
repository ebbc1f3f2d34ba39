"""The book registry: what routes an event to a book, what a wrong type becomes, what a bug
does, and the checks a new book is held to."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from midfield.settings import Settings
from schemas.catalog import CATALOG, topic
from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.fax import FaxReceived
from schemas.events.telegram import TelegramReceived
from streams.books import registry
from streams.books.book import Context, Decision, State
from streams.books.registry import BOOKS, NAMES, PROCESSED, process

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
FAX = topic(FaxReceived.topic).name


def _fax(commid: str = "1") -> Envelope:
    data = FaxReceived(
        commid=commid, device="d", document="x", remote_station="s", pages=1, duration_s=1,
        connect_s=1,
    )  # fmt: skip
    return Envelope.wrap(data, source="s", position=commid, subject=commid, time=T0)


def _tables() -> dict[str, dict[str, Any]]:
    return {name: {} for name in NAMES}


def test_a_fax_registers_an_item_and_writes_a_duty_log_line() -> None:
    out = process(_tables(), FAX, _fax(), Settings(), source="midfield://worker/t")
    assert sorted(book for book, _ in out.writes) == ["duty_log", "items"]
    assert not out.refusals


def test_a_type_no_book_takes_from_the_topic_is_refused_and_nothing_written() -> None:
    """A telegram produced to the fax topic: a bad record, so a dead letter with the reason."""
    data = TelegramReceived.model_construct(telegram_id="T-1")
    envelope = Envelope.model_construct(
        id="e1", source="s", type="office.telegram.received", subject="T-1", time=T0, data=data
    )
    out = process(_tables(), FAX, envelope, Settings(), source="w")
    assert out.writes == {}
    assert [(r.reason, r.connector) for r in out.refusals] == [("unexpected-type", "duty")]


def test_an_exception_from_a_book_is_a_bug_and_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(state: State | None, envelope: Envelope, context: Context) -> Decision:
        raise ValueError("a bug")

    items = registry.book("items")
    readers = {FAX: (replace(items, apply=broken),)}
    monkeypatch.setattr(registry, "_READERS", readers)
    monkeypatch.setattr(registry, "_ROUTES", {})
    with pytest.raises(ValueError, match="a bug"):
        process(_tables(), FAX, _fax(), Settings(), source="w")


def test_a_topic_no_book_reads_is_a_bug() -> None:
    with pytest.raises(KeyError, match="no book reads"):
        process(_tables(), "office.nothing.v1", _fax(), Settings(), source="w")


def test_every_book_reads_catalog_topics_and_names_are_unique() -> None:
    catalog = {spec.name for spec in CATALOG}
    assert len(set(NAMES)) == len(NAMES)
    for b in BOOKS:
        assert b.reads, f"{b.name} reads nothing"
        assert set(b.reads) <= catalog, f"{b.name} reads topics not in the catalog"
        for timer in b.timers:
            assert timer.to in catalog, f"{b.name}'s {timer.name} sends to {timer.to}"
    assert set(PROCESSED) == {name for b in BOOKS for name in b.reads}


def test_a_book_reading_a_later_books_decision_is_refused() -> None:
    first, second = registry.book("items"), registry.book("duty_log")
    with pytest.raises(ValueError, match="list them before it"):
        registry._readers((second, first))
    with pytest.raises(ValueError, match="two books are named items"):
        registry._readers((first, first))


def test_an_unknown_book_name_says_which_exist() -> None:
    with pytest.raises(KeyError, match="the books are"):
        registry.book("nonesuch")


def _alert(alert_id: str) -> Envelope:
    data = AlertRaised(alert_id=alert_id, kind="k", severity=Severity.info, about="a", message="m")
    return Envelope.wrap(data, source="s", position=alert_id, subject=alert_id, time=T0)


def test_the_same_event_twice_is_applied_once() -> None:
    tables, name = _tables(), topic(AlertRaised.topic).name
    first = process(tables, name, _alert("a"), Settings(), source="w")
    for (book, key), value in first.writes.items():
        tables[book][key] = value
    assert list(first.writes) == [("alerts", "a")]
    again = process(tables, name, _alert("a"), Settings(), source="w")
    assert again.writes == {} and not again.refusals
