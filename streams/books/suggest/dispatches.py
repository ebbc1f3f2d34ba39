"""The office's dispatches as examples for the suggestion model: which department each message or
work order went to, and which sent it back. Pure; the ``dispatches`` book, whose summary is the
model (:class:`~streams.books.suggest.summary.SuggestSummary`).

One example per message or work order, keyed like the topics it comes from (the event's
``subject``: the message id, the order number), so the book is partitioned as they are:

* ``PublicMessageReceived`` gives the text (title and content) and, when set, the department
  that must reply; ``PublicMessageReplied`` from another department moves the example to the
  department that replied (the message was passed on to it);
* ``WorkOrderStepped``: ``accepted`` gives the text (the 诉求内容, its ``note``), ``dispatched``
  the units (the lead first: the example's department is the current lead), ``returned`` takes
  the returning unit off, and the next unit, or the next dispatch, becomes the department.

A sent-back dispatch (退单) is the office saying that department was wrong: the example is taken
back from it (:meth:`~streams.books.suggest.model.SuggestModel.unlearn`) and counts for the
department the order goes to next, if any. It is no negative evidence beyond that: naive Bayes
has no place for "not this one", and a return often means "not us alone" or "not at our level"
rather than "never us". The departments that sent it back are remembered, so a suggestion for
its re-dispatch can leave them out (``suggest(..., exclude=state["returned"])``).

:func:`apply` answers the new example and the model's changes (:data:`Change`) it makes; an
event id seen before changes nothing. :func:`rebuild` makes the model from the examples alone:
the live worker rebuilds it from its table after a restart instead of reading every event.

An example keeps its text as jieba cut it (:func:`~streams.books.suggest.segment.tokens`), so
counting it again needs no jieba; and only its first :data:`TEXT_LIMIT` characters, normalised
(mobile numbers dropped, every run of digits written ``0``): no more of a citizen's message than
the messages book keeps (its title and first 200 characters), and less of it in clear.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple, cast

from typing_extensions import TypedDict

from schemas.envelope import Envelope
from schemas.events.message import PublicMessageReceived, PublicMessageReplied
from schemas.events.workorder import WorkOrderStep, WorkOrderStepped
from streams.books.book import Book, Context, Decision, State, reading
from streams.books.suggest import segment
from streams.books.suggest.model import SuggestModel
from streams.books.suggest.summary import SuggestSummary

__all__ = ["BOOK", "TEXT_LIMIT", "Change", "ExampleState", "apply", "change", "decide", "lead",
           "rebuild", "replay", "text_of"]  # fmt: skip

TEXT_LIMIT = 200
"""Characters of a text that are learned: the start of a message says what it is about (the
bench corpus's messages are all shorter), and it is what the messages book keeps of one."""


class ExampleState(TypedDict, closed=True):
    """One message or work order as an example."""

    subject: str
    tokens: list[str]
    """Its text (:func:`text_of`) normalised and cut by jieba, every piece kept: joined, they are
    the normalised text (mobile numbers dropped, digits written ``0``). Empty until it has one."""
    units: list[str]
    """The departments it is with now, the lead first (a message: the one that must reply)."""
    returned: list[str]
    """Departments that sent it back, in order."""
    learned: str
    """The department the model counts it for (``""``: none, for want of text or a department)."""
    applied: list[str]


class Change(NamedTuple):
    """One call to make on the model: ``learn`` or ``unlearn`` the text cut as ``tokens`` as an
    example of ``department``."""

    op: Literal["learn", "unlearn"]
    tokens: list[str]
    department: str

    def to(self, model: SuggestModel) -> None:
        """Make this change on ``model``."""
        call = model.learn_features if self.op == "learn" else model.unlearn_features
        call(segment.features_of(self.tokens), self.department)


def text_of(title: str, content: str) -> str:
    """What is learned of a message: its title and content, cut at :data:`TEXT_LIMIT`."""
    return "\n".join(part for part in (title.strip(), content.strip()) if part)[:TEXT_LIMIT]


def apply(
    state: ExampleState | None, envelope: Envelope
) -> tuple[ExampleState, list[Change]] | None:
    """The example after ``envelope``, and the model's changes; ``None`` for an id applied
    before. Any other event type leaves the example as it was."""
    if state is not None and envelope.id in state["applied"]:
        return None
    new = _copy(state) if state is not None else _blank(envelope.subject)
    data = envelope.data
    if isinstance(data, PublicMessageReceived):
        new["tokens"] = new["tokens"] or segment.tokens(text_of(data.title, data.content))
        new["units"] = [data.department] if data.department else new["units"]
    elif isinstance(data, PublicMessageReplied):
        if data.department and data.department not in new["units"]:
            new["units"] = [data.department]
    elif isinstance(data, WorkOrderStepped):
        _step(new, data)
    new["applied"] = [*new["applied"], envelope.id]
    changes = change(new)
    new["learned"] = lead(new)
    return new, changes


def _step(new: ExampleState, data: WorkOrderStepped) -> None:
    if data.step is WorkOrderStep.accepted:
        new["tokens"] = new["tokens"] or segment.tokens(data.note[:TEXT_LIMIT])
    elif data.step is WorkOrderStep.dispatched:
        new["units"] += [u for u in data.units if u not in new["units"]]
    elif data.step is WorkOrderStep.returned and data.unit in new["units"]:
        new["units"].remove(data.unit)
        new["returned"].append(data.unit)


def lead(example: ExampleState) -> str:
    """The department ``example`` counts for: its lead, once it has a text (else ``""``)."""
    return example["units"][0] if example["units"] and example["tokens"] else ""


def change(example: ExampleState) -> list[Change]:
    """What the model must do so that it counts ``example`` for its :func:`lead`, from
    counting it for ``example["learned"]`` (nothing when that is already so)."""
    now, was = lead(example), example["learned"]
    if now == was:
        return []
    out = [Change("unlearn", example["tokens"], was)] if was else []
    return out + ([Change("learn", example["tokens"], now)] if now else [])


def replay(envelopes: Iterable[Envelope], model: SuggestModel) -> dict[str, ExampleState]:
    """Apply ``envelopes`` in order, making their changes on ``model``; the examples by subject.
    What a replay of the topics, or an import of an export (``midfield suggest train``), does."""
    examples: dict[str, ExampleState] = {}
    for envelope in envelopes:
        out = apply(examples.get(envelope.subject), envelope)
        if out is not None:
            examples[envelope.subject], changes = out
            for made in changes:
                made.to(model)
    return examples


def rebuild(examples: Iterable[ExampleState], model: SuggestModel) -> SuggestModel:
    """``model`` with every example counted for the department it was learned for."""
    for example in examples:
        if example["learned"]:
            model.learn_features(segment.features_of(example["tokens"]), example["learned"])
    return model


def _copy(state: ExampleState) -> ExampleState:
    return {"subject": state["subject"], "tokens": list(state["tokens"]),
            "units": list(state["units"]), "returned": list(state["returned"]),
            "learned": state["learned"], "applied": list(state["applied"])}  # fmt: skip


def _blank(subject: str) -> ExampleState:
    return {"subject": subject, "tokens": [], "units": [], "returned": [], "learned": "",
            "applied": []}  # fmt: skip


def decide(book: State | None, envelope: Envelope, context: Context) -> Decision:
    out = apply(cast(ExampleState | None, book), envelope)
    return Decision(None if out is None else cast(State, out[0]))


BOOK = Book(
    name="dispatches",
    reads=reading(PublicMessageReceived, PublicMessageReplied, WorkOrderStepped),
    apply=decide,
    state=ExampleState,
    summary=lambda settings: SuggestSummary(),
)
"""The examples, one per message or work order; its summary is the model the views ask."""
