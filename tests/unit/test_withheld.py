"""The withheld items book: one entity per item the telegram guard kept off the bus, each event
applied once, nothing of the item's content kept."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.quarantine import ItemQuarantined
from streams.books import withheld

T0 = datetime(2025, 3, 14, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ITEM = "×政办明电〔2025〕13号"


def _held(n: int, rule: str = "declared-classification", digest: str = "sha256:aa") -> Envelope:
    event = ItemQuarantined(item_id=ITEM, kind="telegram", rule=rule, sheet_digest=digest)
    return Envelope.wrap(event, source="midfield://telegram/t", position=f"quarantine/{n}",
                         subject=ITEM, time=T0 + timedelta(hours=n))  # fmt: skip


def test_a_withheld_item_is_listed_with_its_rule_and_file_digest() -> None:
    book = withheld.apply(None, _held(0))
    assert book is not None
    assert (book["item_id"], book["kind"], book["times"]) == (ITEM, "telegram", 1)
    assert (book["rules"], book["digests"]) == (["declared-classification"], ["sha256:aa"])
    assert book["first_at"] == book["last_at"] == T0.isoformat()


def test_the_same_event_again_changes_nothing() -> None:
    book = withheld.apply(None, _held(0))
    assert withheld.apply(book, _held(0)) is None


def test_the_item_withheld_again_counts_and_keeps_every_rule_and_file_once() -> None:
    book = withheld.apply(None, _held(2, digest="sha256:bb"))
    book = withheld.apply(book, _held(0, rule="star-term"))
    book = withheld.apply(book, _held(1, digest="sha256:bb"))
    assert book is not None and book["times"] == 3
    assert book["rules"] == ["declared-classification", "star-term"]
    assert book["digests"] == ["sha256:bb", "sha256:aa"]
    assert (book["first_at"], book["last_at"]) == (
        T0.isoformat(),
        (T0 + timedelta(hours=2)).isoformat(),
    )


def test_another_event_type_is_a_bug_not_a_refusal() -> None:
    alert = AlertRaised(alert_id="a", kind="k", severity=Severity.info, message="m")
    with pytest.raises(TypeError, match="do not take"):
        withheld.apply(None, Envelope.wrap(alert, source="s", position="1", subject="a", time=T0))
