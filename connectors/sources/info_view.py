"""What the information reports intake knows of each report: its status and whose it is.

Built by reading ``office.info.report.v1`` from the beginning and following it, and updated at
once by the intake's own accepted requests, so that the intake answers 404, 403 and 409 before
producing; the worker's book stays the authority and checks everything again (a request that
slips through a stale view is dead-lettered there). Like the tasks API's view, it is a
:class:`~connectors.runtime.idempotency.RequestView`: it remembers the request behind every
event id, so that an ``Idempotency-Key`` sent again is a retry (the same event) or a key reused
for another request (refused), never a silent drop.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.runtime.idempotency import RequestView
from schemas.events.info import InfoEvent, InfoStatus
from schemas.events.info_lifecycle import Illegal, may_act, next_status

__all__ = ["InfoView", "KnownReport"]


@dataclass(frozen=True)
class KnownReport:
    status: InfoStatus
    owner: str
    """``office`` or the code of the department that proposed it."""


class InfoView(RequestView[InfoEvent, KnownReport]):
    events = InfoEvent

    def _step(self, event: InfoEvent) -> None:
        known = self._known.get(event.report_id)
        refused = may_act(event, known.owner if known else None)
        after = refused or next_status(known.status if known else None, event)
        if not isinstance(after, Illegal):
            self._known[event.report_id] = KnownReport(after, known.owner if known else event.actor)
