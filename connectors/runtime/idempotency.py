"""How an API that follows its own topic (the tasks API, the information reports intake) takes a
request once: an ``Idempotency-Key`` names the event id, and the view it reads back from the
topic keeps, per id, a fingerprint of the request that made it (:func:`fingerprint`: its type
and data, so the entity, the step and the body). A retry (same fingerprint) is the same event,
applied once; a key reused for another request is refused, never dropped as a duplicate
(issue 18). The fingerprint is computed from the event itself, so a restarted API finds it on
the topic.

:class:`RequestView` is what those views share (the ids taken and claimed, under one lock);
:func:`accept_once` is the handlers' one way through it.
"""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from midfield.errors import Rejected
from schemas.envelope import Envelope, EventData

if TYPE_CHECKING:
    from connectors.runtime.intake import Intake

__all__ = ["RequestView", "Seen", "accept_once", "fingerprint"]

E = TypeVar("E", bound=EventData)
K = TypeVar("K")


class Seen(StrEnum):
    """What a view makes of a request's event id (see :meth:`RequestView.claim`)."""

    new = "new"
    retry = "retry"
    """The same request was accepted before: the same event, applied once."""
    in_flight = "in-flight"
    """The same request is being accepted right now (a retry that did not wait)."""
    reused = "reused"
    """The id (its ``Idempotency-Key``) belongs to another request."""


def fingerprint(envelope: Envelope) -> bytes:
    """What makes two requests the same: the event's type and data (entity, actor, body)."""
    data = envelope.data.model_dump_json().encode()
    return hashlib.sha256(envelope.type.encode() + b"\n" + data).digest()[:16]


class RequestView(ABC, Generic[E, K]):
    """What an API knows of the entities its topic's events (``E``, the class :attr:`events`)
    are about, by id (``K``, what it knows of one: :meth:`get`), read back from the topic and
    updated at once by its own accepted requests; :meth:`_step` says what an event does."""

    events: ClassVar[type[EventData]]

    def __init__(self) -> None:
        self._known: dict[str, K] = {}
        """Entity id -> what the view knows of it (changed by :meth:`_step` only)."""
        self._seen: dict[str, bytes] = {}
        """Event id -> the fingerprint of its request, for every event taken."""
        self._claimed: dict[str, bytes] = {}
        """Event id -> fingerprint, for requests being accepted now."""
        self._lock = threading.Lock()

    def get(self, entity_id: str) -> K | None:
        with self._lock:
            return self._known.get(entity_id)

    def seen(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._seen

    def claim(self, envelope: Envelope) -> Seen:
        """Whether ``envelope``'s request is new, a retry, or reuses another request's id; a
        new one is claimed until :meth:`take` or :meth:`release`, so that two requests
        racing with one key cannot both be accepted."""
        mine = fingerprint(envelope)
        with self._lock:
            known = self._seen.get(envelope.id)
            claimed = self._claimed.get(envelope.id) if known is None else None
            if known is None and claimed is None:
                self._claimed[envelope.id] = mine
                return Seen.new
        if (known or claimed) != mine:
            return Seen.reused
        return Seen.retry if known is not None else Seen.in_flight

    def release(self, envelope: Envelope) -> None:
        """Forget a claim whose request was not accepted (refused, or the broker was down)."""
        with self._lock:
            self._claimed.pop(envelope.id, None)

    def take(self, envelope: Envelope) -> None:
        """Take ``envelope`` into the view, once per id (its claim is over)."""
        event = envelope.data
        if not isinstance(event, self.events):
            return
        with self._lock:
            self._claimed.pop(envelope.id, None)
            if envelope.id in self._seen:
                return
            self._seen[envelope.id] = fingerprint(envelope)
            self._step(cast(E, event))

    @abstractmethod
    def _step(self, event: E) -> None:
        """What ``event`` (taken once, under the view's lock) does to :attr:`_known`; a step
        the worker's book would refuse is left out, as the book leaves it out."""


async def accept_once(
    view: RequestView[Any, Any],
    intake: Intake,
    envelope: Envelope,
    check: Callable[[], Awaitable[None]],
    *,
    reused: str,
) -> bool:
    """Publish ``envelope``'s request once ``check`` lets it through, and take it into ``view``;
    ``True`` for a retry of a request accepted before (nothing published: the same event,
    applied once). The same request being accepted now answers 409
    ``idempotency-key-in-flight``; its key used for another request 422
    ``idempotency-key-reused``, with the message ``reused``."""
    seen = view.claim(envelope)
    if seen is Seen.retry:
        return True
    if seen is Seen.in_flight:
        raise Rejected(
            "the same request is being accepted now: retry in a moment",
            reason="idempotency-key-in-flight",
            status=409,
        )
    if seen is Seen.reused:
        raise Rejected(reused, reason="idempotency-key-reused", status=422)
    try:
        await check()
        await intake.publish(envelope)
        view.take(envelope)
    finally:
        view.release(envelope)
    return False
