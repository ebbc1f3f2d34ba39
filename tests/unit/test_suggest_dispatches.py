"""The office's dispatches as the suggestion model's examples: a message or work order is learned
for the department it went to, taken back when that department sends it back, and a replay (or
a rebuild from the examples) makes the same model."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from schemas.envelope import Envelope, EventData
from schemas.events.message import MessageChannel, PublicMessageReceived, PublicMessageReplied
from schemas.events.workorder import WorkOrderStep, WorkOrderStepped
from streams.books.suggest import segment
from streams.books.suggest.dispatches import (
    TEXT_LIMIT,
    Change,
    ExampleState,
    apply,
    rebuild,
    replay,
    text_of,
)
from streams.books.suggest.model import SuggestModel

T0 = datetime(2025, 6, 1, 9, tzinfo=UTC)
_n = itertools.count()
ORDER = "12345-20250601-0007"
COMPLAINT = "城东路积水，下水道堵了"


def _event(data: EventData, subject: str) -> Envelope:
    n = next(_n)
    return Envelope.wrap(data, source="midfield://test/x", position=str(n), subject=subject,
                         time=T0 + timedelta(minutes=n))  # fmt: skip


def _step(step: WorkOrderStep, **fields: object) -> Envelope:
    return _event(WorkOrderStepped(order_number=ORDER, step=step, **fields), ORDER)


def _message(department: str = "", subject: str = "board-1") -> Envelope:
    data = PublicMessageReceived(message_id=subject, channel=MessageChannel.board,
                                 title="学区划分", content="今年城区小学学区如何划分？",
                                 department=department)  # fmt: skip
    return _event(data, subject)


def _run(events: list[Envelope]) -> tuple[ExampleState | None, list[Change]]:
    state: ExampleState | None = None
    changes: list[Change] = []
    for envelope in events:
        out = apply(state, envelope)
        if out is not None:
            state, made = out
            changes += made
    return state, changes


def test_a_message_with_a_department_is_learned_for_it() -> None:
    state, changes = _run([_message("edu")])
    text = text_of("学区划分", "今年城区小学学区如何划分？")
    assert changes == [Change("learn", segment.tokens(text), "edu")]
    assert state is not None and state["learned"] == "edu"


def test_a_message_for_the_office_is_not_learned_until_a_department_replies() -> None:
    state, changes = _run([_message("")])
    assert changes == [] and state is not None and state["learned"] == ""
    replied = PublicMessageReplied(message_id="board-1", department="edu", reply="已公布")
    state, changes = _run([_message(""), _event(replied, "board-1")])
    assert [c.op for c in changes] == ["learn"] and changes[0].department == "edu"


def test_a_reply_from_another_department_moves_the_example_to_it() -> None:
    replied = PublicMessageReplied(message_id="board-1", department="housing", reply="已处理")
    state, changes = _run([_message("edu"), _event(replied, "board-1")])
    assert [(c.op, c.department) for c in changes] == [
        ("learn", "edu"), ("unlearn", "edu"), ("learn", "housing")
    ]  # fmt: skip
    assert state is not None and state["learned"] == "housing"


def test_a_work_order_is_learned_for_its_lead_unit_once_it_has_its_text() -> None:
    dispatched = _step(WorkOrderStep.dispatched, units=("water", "housing"))
    accepted = _step(WorkOrderStep.accepted, note=COMPLAINT)
    state, changes = _run([dispatched, accepted])  # the order they came in makes no difference
    assert changes == [Change("learn", segment.tokens(COMPLAINT), "water")]
    assert state is not None and state["units"] == ["water", "housing"]


def test_a_sent_back_order_is_unlearned_and_learned_for_the_next_unit() -> None:
    events = [
        _step(WorkOrderStep.accepted, note=COMPLAINT),
        _step(WorkOrderStep.dispatched, units=("urban",)),
        _step(WorkOrderStep.returned, unit="urban"),
        _step(WorkOrderStep.dispatched, units=("water",)),
    ]
    state, changes = _run(events)
    assert [(c.op, c.department) for c in changes] == [
        ("learn", "urban"), ("unlearn", "urban"), ("learn", "water")
    ]  # fmt: skip
    assert state is not None and state["returned"] == ["urban"] and state["learned"] == "water"


def test_an_order_sent_back_by_its_only_unit_counts_for_no_department() -> None:
    events = [
        _step(WorkOrderStep.accepted, note=COMPLAINT),
        _step(WorkOrderStep.dispatched, units=("urban",)),
        _step(WorkOrderStep.returned, unit="urban"),
    ]
    model = SuggestModel()
    state, changes = _run(events)
    for change in changes:
        change.to(model)
    assert model.examples == {} and state is not None and state["learned"] == ""


def test_an_event_applied_twice_changes_nothing_the_second_time() -> None:
    accepted = _step(WorkOrderStep.accepted, note=COMPLAINT)
    state, _ = _run([accepted])
    assert apply(state, accepted) is None


def test_other_steps_change_no_example() -> None:
    state, _ = _run([_step(WorkOrderStep.accepted, note=COMPLAINT),
                     _step(WorkOrderStep.dispatched, units=("water",))])  # fmt: skip
    out = apply(state, _step(WorkOrderStep.signed, unit="water"))
    assert out is not None and out[1] == [] and out[0]["learned"] == "water"


def test_the_model_made_by_the_changes_is_the_model_rebuilt_from_the_examples() -> None:
    """What the live worker keeps as events arrive equals what it rebuilds after a restart."""
    flows = {
        "a": [_step(WorkOrderStep.accepted, note=COMPLAINT),
              _step(WorkOrderStep.dispatched, units=("urban",)),
              _step(WorkOrderStep.returned, unit="urban"),
              _step(WorkOrderStep.dispatched, units=("water",))],
        "b": [_message("edu", "board-2")],
        "c": [_message("", "board-3")],
    }  # fmt: skip
    live, examples = SuggestModel(), []
    for events in flows.values():
        state, changes = _run(events)
        for change in changes:
            change.to(live)
        assert state is not None
        examples.append(state)
    assert rebuild(examples, SuggestModel()).state() == live.state()
    assert live.departments == ["edu", "water"]


def test_replay_keeps_one_example_per_subject_and_teaches_the_model() -> None:
    events = [_message("edu", "board-7"), _step(WorkOrderStep.accepted, note=COMPLAINT),
              _message("housing", "board-8"), _step(WorkOrderStep.dispatched, units=("water",)),
              _message("edu", "board-7")]  # fmt: skip
    model = SuggestModel()
    examples = replay(events, model)
    assert sorted(examples) == sorted(["board-7", "board-8", ORDER])
    assert {s: e["learned"] for s, e in examples.items()} == {
        "board-7": "edu", "board-8": "housing", ORDER: "water"
    }  # fmt: skip
    assert model.examples == {"edu": 1, "housing": 1, "water": 1}


def test_an_example_keeps_its_text_cut_and_joined_it_is_the_text() -> None:
    """The features counted from the kept pieces are the text's own (no jieba needed again)."""
    state, _ = _run([_message("edu")])
    text = text_of("学区划分", "今年城区小学学区如何划分？")
    assert state is not None
    assert "".join(state["tokens"]) == segment.normalised(text)
    assert segment.features_of(state["tokens"]) == segment.features(text)


def test_an_example_keeps_no_phone_number_and_no_more_than_the_start_of_a_long_message() -> None:
    content = "东风路路灯不亮，联系13912345678。" + "后面很长的内容" * 100
    data = PublicMessageReceived(message_id="board-long", channel=MessageChannel.board,
                                 title="路灯", content=content, department="urban")  # fmt: skip
    state, _ = _run([_event(data, "board-long")])
    assert state is not None
    kept = "".join(state["tokens"])
    assert "13912345678" not in kept and "139" not in kept
    assert len(kept) <= TEXT_LIMIT and kept.startswith("路灯\n东风路路灯不亮")
