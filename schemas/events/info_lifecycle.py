"""The information report's lifecycle as data: which step may follow which, and who may take it.

:func:`next_status` reads :data:`TRANSITIONS` and :func:`may_act` the events' ``office_only``;
both answer an :class:`Illegal` value instead of raising, so the book (streams/books/
info_reports.py) turns it into a refusal and the intake (connectors/sources/info.py) into a 409
or a 403, from the same table. The events are in :mod:`schemas.events.info`.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.events.info import InfoEvent, InfoStatus

__all__ = ["OFFICE", "TERMINAL", "TRANSITIONS", "Illegal", "may_act", "next_status"]

OFFICE = "office"
"""The actor code of the general office itself (as schemas.events.task.OFFICE)."""

S = InfoStatus
_OPEN = (S.candidate, S.drafted, S.submitted)
"""Not yet adopted: it may still be withdrawn."""

TRANSITIONS: dict[tuple[InfoStatus | None, str], InfoStatus] = {
    (None, "proposed"): S.candidate,
    (S.candidate, "drafted"): S.drafted,
    (S.drafted, "drafted"): S.drafted,  # revised before it went out
    (S.drafted, "submitted"): S.submitted,
    (S.submitted, "submitted"): S.submitted,  # sent to one more office
    (S.submitted, "adopted"): S.adopted,
    (S.adopted, "adopted"): S.adopted,  # a second publication took it too
    (S.submitted, "endorsed"): S.endorsed,  # a leader wrote on the report itself (专报)
    (S.adopted, "endorsed"): S.endorsed,
    (S.endorsed, "endorsed"): S.endorsed,  # another leader
    (S.endorsed, "adopted"): S.endorsed,  # adopted elsewhere after an endorsement
    **{(s, "withdrawn"): S.withdrawn for s in _OPEN},
    (S.submitted, "not-adopted"): S.not_adopted,
}
"""``(status before, event kind) -> status after``; a pair not listed is an illegal step.
``None`` as the status before means "no such report yet"."""

TERMINAL = frozenset({S.withdrawn, S.not_adopted})


@dataclass(frozen=True)
class Illegal:
    """A step refused: ``reason`` is the dead letter's category (and the HTTP answer's)."""

    reason: str
    detail: str


def next_status(status: InfoStatus | None, event: InfoEvent) -> InfoStatus | Illegal:
    """The status after ``event``, or why the lifecycle refuses it."""
    after = TRANSITIONS.get((status, event.kind))
    if after is not None:
        return after
    if status is None:
        return Illegal(
            "unknown-report", f"{event.kind} on report {event.report_id}, never proposed"
        )
    if event.kind == "proposed":
        return Illegal("report-exists", f"report {event.report_id} was proposed already")
    if status in TERMINAL:
        return Illegal("report-closed", f"{event.kind} on report {event.report_id}, {status}")
    return Illegal("illegal-transition", f"{event.kind} not allowed when {status}")


def may_act(event: InfoEvent, owner: str | None) -> Illegal | None:
    """Whether ``event``'s actor may take its step on a report proposed by ``owner`` (``None``:
    not proposed yet): the office any step; a department only its own reports' candidate,
    drafts and withdrawal — submitting and recording what the offices above did is the
    office's."""
    if event.actor == OFFICE:
        return None
    if event.office_only:
        return Illegal("office-only", f"{event.kind} is for the office, not {event.actor}")
    if owner is not None and owner != event.actor:
        return Illegal("not-its-report", f"{event.actor} did not propose {event.report_id}")
    return None
