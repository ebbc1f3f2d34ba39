"""What the information reports intake knows of each report: its status and whose it is.

Built by reading ``office.info.report.v1`` from the beginning and following it, and updated at
once by the intake's own accepted requests, so that the intake answers 404, 403 and 409 before
producing; the worker's book stays the authority and checks everything again (a request that
slips through a stale view is dead-lettered there). Like the tasks API's view
(connectors/sources/task_view.py, whose :class:`Seen` and :func:`fingerprint` it shares), it
remembers the request behind every event id, so that an ``Idempotency-Key`` sent again is a
retry (the same event) or a key reused for another request (refused), never a silent drop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from connectors.sources.task_view import Seen, fingerprint
from schemas.envelope import Envelope
from schemas.events.info import InfoEvent, InfoStatus
from schemas.events.info_lifecycle import Illegal, may_act, next_status

__all__ = ["InfoView", "KnownReport"]


@dataclass(frozen=True)
class KnownReport:
    status: InfoStatus
    owner: str
    """``office`` or the code of the department that proposed it."""


class InfoView:
    def __init__(self) -> None:
        self._reports: dict[str, KnownReport] = {}
        self._seen: dict[str, bytes] = {}
        """Event id -> the fingerprint of its request, for every event taken."""
        self._claimed: dict[str, bytes] = {}
        """Event id -> fingerprint, for requests being accepted now."""
        self._lock = threading.Lock()

    def get(self, report_id: str) -> KnownReport | None:
        with self._lock:
            return self._reports.get(report_id)

    def claim(self, envelope: Envelope) -> Seen:
        """Whether ``envelope``'s request is new (then claimed until :meth:`take` or
        :meth:`release`), a retry, a retry racing the first, or another request's key."""
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
        """Take ``envelope`` into the view, once per id; a step the book would refuse is left
        out, as the book leaves it out."""
        event = envelope.data
        if not isinstance(event, InfoEvent):
            return
        with self._lock:
            self._claimed.pop(envelope.id, None)
            if envelope.id in self._seen:
                return
            self._seen[envelope.id] = fingerprint(envelope)
            known = self._reports.get(event.report_id)
            refused = may_act(event, known.owner if known else None)
            after = refused or next_status(known.status if known else None, event)
            if not isinstance(after, Illegal):
                self._reports[event.report_id] = KnownReport(
                    after, known.owner if known else event.actor
                )
