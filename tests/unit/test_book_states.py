"""Every book's stored entities have exactly the shape its ``state`` model declares.

Every state each processor case (tests/cases/*.yaml) writes — not only the last one per entity —
and the states of a few flows no case makes (stubs) are validated with pydantic against the
book's model: strict types, closed TypedDicts (a key the model does not name is an error), as
the pure path holds the state and as the table stores its JSON. The negative tests prove the
check can fail: a stray key, a missing key, a wrong type, each is a ``ValidationError``.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, get_args

import pytest
import typing_extensions
from pydantic import TypeAdapter, ValidationError

from midfield.replay.cases import Case, load_cases
from midfield.settings import Settings
from schemas.deadletter import DeadLetter
from schemas.envelope import Envelope, EventData
from schemas.events.alert import AlertAcknowledged, AlertRaised, AlertResolved
from schemas.events.message import PublicMessageReceived, PublicMessageReplied
from schemas.events.task import TaskEvent
from streams.books import waiting_letters
from streams.books.book import State
from streams.books.registry import BOOKS, INDEXES, process

CASES = load_cases(Path(__file__).resolve().parents[1] / "cases")
MODELS = {b.name: b.state for b in (*BOOKS, *INDEXES)}
AT = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)

Written = tuple[str, str, State]
"""(book, entity id, the state written)."""


@cache
def _adapter(model: object) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def _validate(book: str, state: State) -> None:
    """``state`` as the pure path holds it, and as its JSON is stored, against ``book``'s model."""
    adapter = _adapter(MODELS[book])
    adapter.validate_python(state, strict=True)
    adapter.validate_json(json.dumps(state, ensure_ascii=False), strict=True)


def _written(envelopes: list[Envelope]) -> Iterator[Written]:
    """Every state ``process`` writes for ``envelopes``, in order, on books of their own."""
    tables: dict[str, dict[str, Any]] = {b.name: {} for b in BOOKS}
    for envelope in envelopes:
        out = process(tables, envelope.topic, envelope, Settings(), source="midfield://states")
        for (book, key), state in out.writes.items():
            tables[book][key] = state
            yield book, key, state


def _event(data: EventData, n: int, minutes: int = 0) -> Envelope:
    subject = str(next(iter(data.model_dump().values())))
    return Envelope.wrap(data, source="midfield://states", position=str(n), subject=subject,
                         time=AT.replace(minute=minutes))  # fmt: skip


def _stub_flows() -> list[Envelope]:
    """Flows no case makes: an alert acknowledged and resolved before it is raised (then raised
    earlier, so it stays a stub, and later, so it opens), a reply before its message."""
    raised = AlertRaised(alert_id="states/a-1", kind="overdue", message="逾期", level=1)
    reply = PublicMessageReplied(message_id="states-m-1", department="edu")
    received = PublicMessageReceived(message_id="states-m-1", channel="board", title="路灯",
                                     department="edu")  # fmt: skip
    return [
        _event(AlertAcknowledged(alert_id="states/a-1", by="值班员"), 0, 10),
        _event(AlertResolved(alert_id="states/a-1", reason="closed"), 1, 20),
        _event(raised, 2, 5),
        _event(raised, 3, 30),
        _event(reply, 4, 40),
        _event(received, 5, 0),
    ]


def _letters() -> list[Written]:
    letter = DeadLetter.of(b"03/14/25\tRECV", reason="bad-date", error="bad-date: 03/14/25",
                           source="midfield://fax-log/a", position="inode 7 offset 120",
                           connector="fax-log", first_seen=AT)  # fmt: skip
    redriven = letter.model_copy(update={"resolved": "redriven", "attempts": 2})
    name = waiting_letters.INDEX.name
    return [(name, x.id, waiting_letters.apply(x)) for x in (letter, redriven)]


@cache
def _every_state() -> tuple[Written, ...]:
    cases = [w for case in CASES for w in _written(case.events)]
    return (*cases, *_written(_stub_flows()), *_letters())


@pytest.mark.parametrize("case", CASES, ids=[c.path.stem for c in CASES])
def test_every_state_a_case_writes_has_its_books_shape(case: Case) -> None:
    written = list(_written(case.events))
    assert written, f"{case.path.name} writes nothing"
    for book, key, state in written:
        try:
            _validate(book, state)
        except ValidationError as error:
            pytest.fail(f"{case.path.name}: {book} {key} is no {MODELS[book]}:\n{error}")


def test_the_stubs_and_letters_have_their_books_shape() -> None:
    for book, key, state in [*_written(_stub_flows()), *_letters()]:
        try:
            _validate(book, state)
        except ValidationError as error:
            pytest.fail(f"{book} {key} is no {MODELS[book]}:\n{error}")


def _members(model: object) -> tuple[Any, ...]:
    return get_args(model) if isinstance(model, types.UnionType) else (model,)


@pytest.mark.parametrize("book", list(MODELS))
def test_every_book_and_index_declares_a_closed_typed_dict(book: str) -> None:
    members = _members(MODELS[book])
    assert members, f"{book} declares no state model"
    for member in members:
        assert typing_extensions.is_typeddict(member), f"{book}: {member} is no TypedDict"
        assert getattr(member, "__closed__", False), f"{book}: {member} is not closed=True"


@pytest.mark.parametrize(
    ("book", "member"),
    [(b, m) for b, model in MODELS.items() for m in _members(model)],
    ids=lambda x: getattr(x, "__name__", x),
)
def test_every_kind_of_entity_a_model_names_is_written(book: str, member: Any) -> None:
    """A member of a union no flow writes could be wrong unnoticed: each is seen at least once."""
    adapter = _adapter(member)
    seen = 0
    for name, _, state in _every_state():
        if name == book:
            try:
                adapter.validate_python(state, strict=True)
                seen += 1
            except ValidationError:
                continue
    assert seen, f"no state of {book} is a {member.__name__}"


def test_a_task_history_detail_is_its_events_fields() -> None:
    """``detail`` is typed ``dict[str, Any]`` in the model: its shape is the event's, by kind."""
    kinds = {cls.kind: cls for cls in _subclasses(TaskEvent)}
    lines = [line for book, _, state in _every_state() if book == "ledger"
             for line in state["history"]]  # fmt: skip
    assert {line["kind"] for line in lines} >= {"created", "signed", "progress", "reminded"}
    for line in lines:
        cls = kinds[line["kind"]]
        event = cls.model_validate(line["detail"] | {"task_id": "T", "actor": line["actor"]})
        shown = event.model_dump(mode="json", exclude={"task_id", "actor", "person"})
        assert shown == line["detail"], line


def _subclasses(cls: type[TaskEvent]) -> list[type[TaskEvent]]:
    return [s for sub in cls.__subclasses__() for s in (sub, *_subclasses(sub))]


# -- the check can fail ------------------------------------------------------------------------
def _first(book: str, kind: Callable[[State], bool] = lambda s: True) -> State:
    return next(s for name, _, s in _every_state() if name == book and kind(s))


def _full(book: str) -> State:
    """The largest state of ``book`` written (a created task rather than a stub)."""
    return max((s for name, _, s in _every_state() if name == book), key=len)


def _stray(state: State) -> State:
    return state | {"stray": 1}


def _dropped(state: State) -> State:
    first = next(iter(state))
    return {k: v for k, v in state.items() if k != first}


def _retyped(state: State) -> State:
    """Every scalar field in turn is too many cases: the first of each type will do."""
    changed = dict(state)
    for key, value in state.items():
        if isinstance(value, bool):
            changed[key] = "yes"
        elif isinstance(value, int):
            changed[key] = str(value)
        elif isinstance(value, str):
            changed[key] = 1
        elif isinstance(value, list):
            changed[key] = ",".join(map(str, value))
        else:
            continue
        return changed
    raise AssertionError(f"no field to retype in {state}")


def _nested_stray(state: State) -> State:
    """A stray key in the first object inside a list (a history line, a duty-log entry)."""
    for key, value in state.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return state | {key: [value[0] | {"stray": 1}, *value[1:]]}
    raise AssertionError(f"no list of objects in {state}")


def _nested_list(book: str) -> bool:
    state = _full(book)
    return any(isinstance(v, list) and v and isinstance(v[0], dict) for v in state.values())


MUTATIONS = {"stray-key": _stray, "missing-key": _dropped, "wrong-type": _retyped}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
@pytest.mark.parametrize("book", list(MODELS))
def test_a_state_off_its_model_is_refused(book: str, mutation: str) -> None:
    state = _full(book)
    _validate(book, state)
    with pytest.raises(ValidationError):
        _validate(book, MUTATIONS[mutation](state))


@pytest.mark.parametrize("book", [b for b in MODELS if _nested_list(b)])
def test_a_stray_key_inside_a_list_is_refused(book: str) -> None:
    state = _full(book)
    with pytest.raises(ValidationError, match="stray"):
        _validate(book, _nested_stray(state))


def test_a_stub_with_a_full_entitys_key_is_refused() -> None:
    """A union does not blur its members: a task stub with a title is neither kind."""
    stub = _first("ledger", lambda s: s["status"] is None)
    with pytest.raises(ValidationError):
        _validate("ledger", stub | {"title": "修路"})
