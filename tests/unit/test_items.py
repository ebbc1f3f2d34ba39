"""Incoming items (来件): registered by their fax, signed with an urgency that sets the deadline,
handled, closed; one overdue alert per item, resolved by closing it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from midfield.settings import DutySettings
from schemas.envelope import Envelope
from schemas.events.duty import DocumentRegistered, ItemHandled, ItemStep, Urgency
from schemas.events.telegram import TelegramReceived
from streams.books import alerts, duty_log, items
from tests.samples import fax_envelope

ZONE = ZoneInfo("Asia/Shanghai")
RULES = DutySettings()
T0 = datetime(2025, 3, 14, 9, 41, tzinfo=ZONE)


def _step(step: ItemStep, days: float, n: int, **fields: object) -> Envelope:
    event = ItemHandled(item_id="000000123", step=step, by="王主任", **fields)  # type: ignore[arg-type]
    return Envelope.wrap(
        event,
        source="midfield://duty/test",
        position=f"item/{n}",
        subject="000000123",
        time=T0 + timedelta(days=days),
    )


def _fold(*envelopes: Envelope) -> dict:
    book = None
    for envelope in envelopes:
        out = items.apply(book, envelope, RULES, ZONE)
        book = out.book if isinstance(out, items.Refused) else (out or book)
    assert book is not None
    return book


FAX = fax_envelope("000000123", T0)


def test_a_fax_registers_an_ordinary_item_with_its_deadline() -> None:
    book = _fold(FAX)
    assert (book["status"], book["urgency"], book["deadline"]) == (
        "registered",
        "平件",
        "2025-03-29",
    )


def test_signing_sets_the_urgency_and_the_deadline_from_registration() -> None:
    book = _fold(FAX, _step(ItemStep.signed, 0.1, 1, urgency=Urgency.very_urgent))
    assert (book["status"], book["urgency"], book["deadline"]) == ("signed", "特急", "2025-03-17")


def test_handled_then_closed() -> None:
    book = _fold(
        FAX,
        _step(ItemStep.signed, 0, 1),
        _step(ItemStep.handling, 0, 2, to="县应急局"),
        _step(ItemStep.closed, 1, 3, note="已办结"),
    )
    assert (book["status"], book["handler"]) == ("closed", "县应急局")
    assert [h["step"] for h in book["history"]] == ["registered", "signed", "handling", "closed"]


def test_a_step_out_of_order_is_refused() -> None:
    handling_first = items.apply(_fold(FAX), _step(ItemStep.handling, 0, 1), RULES, ZONE)
    assert isinstance(handling_first, items.Refused) and handling_first.reason == "illegal-step"


def _outcome(book: dict | None, envelope: Envelope) -> dict | None:
    out = items.apply(book, envelope, RULES, ZONE)
    if isinstance(out, items.Refused | items.Late):
        return out.book
    return out or book


def test_steps_that_arrive_before_the_fax_are_held_and_the_book_is_the_same_either_way() -> None:
    steps = [
        _step(ItemStep.signed, 0.1, 1, urgency=Urgency.urgent),
        _step(ItemStep.handling, 0.2, 2, to="县水利局"),
    ]
    orders = [[FAX, *steps], [steps[0], FAX, steps[1]], [*steps, FAX]]
    books = []
    for order in orders:
        book = None
        for envelope in order:
            book = _outcome(book, envelope)
        books.append(book)
    assert books[0] == books[1] == books[2]
    assert books[0] is not None and (books[0]["status"], books[0]["urgency"]) == (
        "handling",
        "加急",
    )


def test_a_held_step_the_lifecycle_refuses_is_reported_when_the_fax_arrives() -> None:
    held = items.apply(None, _step(ItemStep.handling, 0.1, 1), RULES, ZONE)
    assert isinstance(held, dict) and held["status"] is None
    out = items.apply(held, FAX, RULES, ZONE)
    assert isinstance(out, items.Late)
    [late] = out.refused
    assert (late["reason"], late["event"]["step"]) == ("illegal-step", "handling")
    assert out.book["status"] == "registered"


def test_an_overdue_item_raises_one_alert_and_closing_it_resolves_it() -> None:
    signed = _fold(FAX, _step(ItemStep.signed, 0, 1, urgency=Urgency.immediate))  # 1 day
    assert items.overdue_alerts([signed], T0 + timedelta(hours=12), ZONE, source="w") == []
    late = T0 + timedelta(days=2)
    first = items.overdue_alerts([signed], late, ZONE, source="w")
    again = items.overdue_alerts([signed], late + timedelta(hours=5), ZONE, source="w")
    assert len(first) == 1 and [e.id for e in first] == [e.id for e in again]
    alert = alerts.apply(None, first[0])
    assert alerts.apply(alert, again[0]) is None and alert is not None
    assert alert["severity"] == "critical"

    close = _step(ItemStep.closed, 3, 2)
    closed = items.apply(signed, close, RULES, ZONE)
    assert isinstance(closed, dict)
    resolved = items.resolution(closed, close, ZONE, source="w")
    assert resolved is not None
    after = alerts.apply(alert, resolved)
    assert after is not None and after["open"] is False
    assert items.overdue_alerts([closed], late, ZONE, source="w") == []


def _telegram(grade: str = "特提") -> Envelope:
    event = TelegramReceived(
        number="×政办明电〔2025〕12号",
        issuing_unit="×市人民政府办公室",
        grade=grade,
        title="关于做好防汛工作的紧急通知",
        pages=3,
    )  # type: ignore[arg-type]
    return Envelope.wrap(
        event, source="midfield://telegram/test", position="t/1", subject=event.number, time=T0
    )


def test_a_telegram_registers_with_its_grade_as_urgency() -> None:
    book = _outcome(None, _telegram("特提"))
    assert book is not None
    assert (book["kind"], book["urgency"], book["deadline"]) == ("telegram", "特提", "2025-03-15")
    signed = items.apply(
        book,
        Envelope.wrap(
            ItemHandled(item_id="×政办明电〔2025〕12号", step=ItemStep.signed, by="王主任"),
            source="s",
            position="t/2",
            subject="×政办明电〔2025〕12号",
            time=T0,
        ),
        RULES,
        ZONE,
    )
    assert isinstance(signed, dict) and signed["urgency"] == "特提"  # signing keeps the grade


def test_a_registered_document_takes_its_urgency() -> None:
    event = DocumentRegistered(
        number="×政发〔2025〕7号",
        title="重点工作分工",
        issuer="×市人民政府",
        urgency=Urgency.urgent,
        by="李华",
    )
    book = _outcome(
        None, Envelope.wrap(event, source="s", position="d/1", subject=event.number, time=T0)
    )
    assert book is not None
    assert (book["kind"], book["urgency"], book["deadline"]) == ("document", "加急", "2025-03-19")


def test_telegrams_and_documents_make_duty_log_lines() -> None:
    line = duty_log.entry_for(_telegram("特急"))
    assert (line.channel, line.unit) == ("telegram", "×市人民政府办公室")
    assert line.content.startswith("收到明传电报 ×政办明电〔2025〕12号（特急）")
