"""One incoming item as the items book stores it (streams/books/items.py): the shape of its JSON.

Beside the book rather than in it, which is at the module-size limit. An item is
:class:`ItemState` once its intake event registered it, and :class:`ItemStub` before: the duty
officer's steps that arrived first, held until then. Times are ISO 8601 text with the event's own
offset, days ``YYYY-MM-DD``, as the table holds them.
"""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

__all__ = ["HeldStep", "ItemHandledJson", "ItemHistoryLine", "ItemState", "ItemStub"]


class ItemHistoryLine(TypedDict, closed=True):
    """A step the item took, in order."""

    id: str
    """The event id."""
    at: str
    step: str
    """``registered``, ``signed``, ``handling`` or ``closed``."""


class ItemHandledJson(TypedDict, closed=True):
    """An :class:`~schemas.events.duty.ItemHandled` as JSON (``model_dump(mode="json")``)."""

    item_id: str
    step: str
    urgency: str | None
    by: str
    to: str
    note: str


class HeldStep(TypedDict, closed=True):
    """A step that arrived before the item's registration, replayed when it is registered."""

    id: str
    at: str
    event: ItemHandledJson


class ItemStub(TypedDict, closed=True):
    """Not registered yet: only the steps held for it."""

    item_id: str
    status: None
    history: list[ItemHistoryLine]
    """Always empty: the steps are held."""
    applied: list[str]
    refused: list[str]
    held: list[HeldStep]


class ItemState(TypedDict, closed=True):
    """A registered item."""

    item_id: str
    status: str
    """``registered``, ``signed``, ``handling`` or ``closed``."""
    kind: str
    """What registered it: ``fax``, ``telegram`` or ``document``."""
    what: str
    """The item in words, as the duty report lists it."""
    registered_at: str
    urgency: str
    """紧急程度 (:class:`~schemas.events.duty.Urgency`'s values): the registration's, or the
    signing's when that set one; a fax is 平件 until signed."""
    deadline: str
    """The last day it is on time (office time): registration day + the urgency's days."""
    signed_by: str
    """Empty until signed."""
    signed_at: NotRequired[str]
    """Only once signed."""
    handler: str
    """The unit or person the handling step passed it to; empty until then."""
    closed_at: str | None
    history: list[ItemHistoryLine]
    applied: list[str]
    """Event ids applied (registrations and steps), so a re-delivery changes nothing."""
    refused: list[str]
    """Event ids of the steps the lifecycle refused."""
    held: list[HeldStep]
    """Always empty once registered: the held steps were replayed."""
