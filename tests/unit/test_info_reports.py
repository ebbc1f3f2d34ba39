"""Information reports (信息): the lifecycle table, who may take which step, and the book."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from midfield.settings import Settings
from schemas.envelope import Envelope
from schemas.events import info as info_events
from schemas.events.info import InfoEvent, InfoStatus
from schemas.events.info_lifecycle import TERMINAL, TRANSITIONS, Illegal, may_act, next_status
from streams.books import info_reports
from streams.books.book import Context
from tests.fuzzing import fuzz

ZONE = ZoneInfo("Asia/Shanghai")
AT = datetime(2025, 3, 14, 9, 0, tzinfo=ZONE)
RID = "XX-unit-1"
OFFICE_BY = {"actor": "office", "by": "person:lihua", "by_name": "李华"}
EDU_BY = {"actor": "edu", "by": "person:wangming", "by_name": "王明"}

STEPS: dict[str, InfoEvent] = {
    "proposed": info_events.InfoReportProposed(
        report_id=RID, source="duty_entry", reference="D-1", title="供水抢修", **OFFICE_BY
    ),
    "drafted": info_events.InfoReportDrafted(
        report_id=RID, title="快速处置", text="正文", **OFFICE_BY
    ),
    "submitted": info_events.InfoReportSubmitted(report_id=RID, to=("市政府办",), **OFFICE_BY),
    "adopted": info_events.InfoReportAdopted(
        report_id=RID, office="市政府办", publication="《XX政务信息》", issue="第1期", **OFFICE_BY
    ),
    "endorsed": info_events.InfoReportEndorsed(
        report_id=RID, leader="张明", post="市长", level="city", instruction="好", **OFFICE_BY
    ),
    "withdrawn": info_events.InfoReportWithdrawn(report_id=RID, reason="不报了", **OFFICE_BY),
    "not-adopted": info_events.InfoReportNotAdopted(report_id=RID, **OFFICE_BY),
}


def _wrap(event: InfoEvent, n: int, *, subject: str = RID) -> Envelope:
    return Envelope.wrap(
        event,
        source="midfield://info/test",
        position=str(n),
        subject=subject,
        time=AT + timedelta(hours=n),
    )


def _fold(envelopes: list[Envelope]) -> dict[str, Any] | None:
    """The book after ``envelopes``, delivered in order through ``decide`` (as the worker
    stores it, refusals remembered)."""
    book = None
    context = Context(Settings(), "midfield://worker/test")
    for envelope in envelopes:
        decision = info_reports.decide(book, envelope, context)
        book = decision.state if decision.state is not None else book
    return book


LIFE = [
    _wrap(STEPS[k], n)
    for n, k in enumerate(
        ("proposed", "drafted", "drafted", "submitted", "adopted", "endorsed", "endorsed")
    )
]


# -- the lifecycle table -------------------------------------------------------------------------
@pytest.mark.parametrize(("before", "kind"), list(TRANSITIONS), ids=str)
def test_every_listed_step_is_allowed_to_its_status(before: InfoStatus | None, kind: str) -> None:
    assert next_status(before, STEPS[kind]) is TRANSITIONS[(before, kind)]


@pytest.mark.parametrize(
    ("before", "kind", "reason"),
    [
        (None, "drafted", "unknown-report"),
        (InfoStatus.drafted, "proposed", "report-exists"),
        (InfoStatus.candidate, "submitted", "illegal-transition"),
        (InfoStatus.drafted, "adopted", "illegal-transition"),
        (InfoStatus.adopted, "withdrawn", "illegal-transition"),
        (InfoStatus.adopted, "submitted", "illegal-transition"),
        (InfoStatus.withdrawn, "drafted", "report-closed"),
        (InfoStatus.not_adopted, "adopted", "report-closed"),
    ],
)
def test_a_step_the_table_does_not_list_is_refused_as_a_value(
    before: InfoStatus | None, kind: str, reason: str
) -> None:
    refused = next_status(before, STEPS[kind])
    assert isinstance(refused, Illegal) and refused.reason == reason and refused.detail


def test_no_step_leaves_a_closed_report() -> None:
    for status in TERMINAL:
        assert all(isinstance(next_status(status, e), Illegal) for e in STEPS.values())


def test_the_office_may_take_every_step_a_department_only_its_own_candidates_and_drafts() -> None:
    assert all(may_act(e, "edu") is None for e in STEPS.values())  # the office's own steps
    mine = {k: e.model_copy(update=EDU_BY) for k, e in STEPS.items()}
    assert may_act(mine["proposed"], None) is None
    assert may_act(mine["drafted"], "edu") is None and may_act(mine["withdrawn"], "edu") is None
    refused = {k: may_act(e, "edu") for k, e in mine.items()}
    assert {k for k, r in refused.items() if r and r.reason == "office-only"} == {
        "submitted",
        "adopted",
        "endorsed",
        "not-adopted",
    }
    other = may_act(mine["drafted"], "office")
    assert other is not None and other.reason == "not-its-report"


@pytest.mark.parametrize("source", ["hotspot", "duty_entry"])
def test_a_candidate_from_a_hotspot_or_the_duty_log_names_it(source: str) -> None:
    with pytest.raises(ValidationError, match="reference"):
        info_events.InfoReportProposed(report_id=RID, source=source, title="t", **OFFICE_BY)
    assert (
        info_events.InfoReportProposed(
            report_id=RID, source="by_hand", title="t", **OFFICE_BY
        ).reference
        == ""
    )


def test_a_submission_names_at_least_one_office() -> None:
    with pytest.raises(ValidationError, match="to"):
        info_events.InfoReportSubmitted(report_id=RID, to=(), **OFFICE_BY)


# -- the book ------------------------------------------------------------------------------------
def test_a_report_keeps_its_latest_draft_where_it_went_and_what_became_of_it() -> None:
    book = _fold(LIFE)
    assert book is not None and info_reports.is_report(book)
    assert (book["status"], book["source"], book["reference"]) == ("endorsed", "duty_entry", "D-1")
    assert (book["revisions"], book["drafters"], book["drafter_name"]) == (
        1,
        ["person:lihua"],
        "李华",
    )
    assert book["drafted_at"] == (AT + timedelta(hours=1)).isoformat()  # the first draft's
    assert book["submitted_to"] == ["市政府办"] and len(book["endorsements"]) == 2
    assert [line["kind"] for line in book["history"]] == [
        "proposed",
        "drafted",
        "drafted",
        "submitted",
        "adopted",
        "endorsed",
        "endorsed",
    ]
    assert book["history"][3]["detail"] == {"to": ["市政府办"], "note": ""}


def test_a_submission_to_more_offices_adds_each_office_once() -> None:
    more = info_events.InfoReportSubmitted(
        report_id=RID, to=("省政府办", "市政府办", "省政府办"), **OFFICE_BY
    )
    book = _fold([*LIFE[:4], _wrap(more, 9)])
    assert book is not None and book["submitted_to"] == ["市政府办", "省政府办"]
    assert book["submitted_at"] == LIFE[3].time.isoformat()


def test_an_event_applied_before_changes_nothing() -> None:
    book = _fold(LIFE)
    assert info_reports.apply(book, LIFE[2]) is None


def test_a_refused_event_delivered_again_after_the_report_moved_on_is_not_applied() -> None:
    early = _wrap(STEPS["submitted"], 50)  # before any draft: refused
    book = _fold([LIFE[0], early, LIFE[1]])
    assert book is not None and book["status"] == "drafted"
    decision = info_reports.decide(book, early, Context(Settings(), "midfield://worker/test"))
    assert decision.state is None and not decision.refusals  # now allowed, yet seen: nothing


def test_a_step_on_a_report_never_proposed_is_refused_and_remembered_in_a_stub() -> None:
    decision = info_reports.decide(None, LIFE[1], Context(Settings(), "midfield://worker/test"))
    assert [r.reason for r in decision.refusals] == ["unknown-report"]
    assert decision.state == {
        "report_id": RID,
        "status": None,
        "applied": [],
        "refused": [LIFE[1].id],
    }
    assert not info_reports.is_report(decision.state)


def test_an_event_whose_report_is_not_its_subject_is_refused() -> None:
    stray = _wrap(STEPS["proposed"], 0, subject="XX-other")
    assert isinstance(info_reports.apply(None, stray), Illegal)


def test_a_department_sees_what_it_proposed_or_drafted_and_nothing_else() -> None:
    theirs = STEPS["proposed"].model_copy(update=EDU_BY)
    helper = STEPS["drafted"].model_copy(update={**EDU_BY, "by": "department:edu"})
    book = _fold([_wrap(theirs, 0), _wrap(helper, 1)])
    assert book is not None and info_reports.is_report(book)
    assert info_reports.seen_by(book, "person:wangming")
    assert info_reports.seen_by(book, "department:edu")
    assert not info_reports.seen_by(book, "person:someone-else")


@fuzz(100)
@given(data=st.data())
def test_any_redelivery_of_any_events_gives_the_book_of_each_event_once(
    data: st.DataObject,
) -> None:
    """Kafka keeps one report's events in order; at-least-once delivery repeats any of them,
    each repeat after its first delivery (and refused events among them)."""
    kinds = data.draw(st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=8))
    once = [_wrap(STEPS["proposed"], 0)] + [_wrap(STEPS[k], n + 1) for n, k in enumerate(kinds)]
    delivered = list(once)
    for envelope in data.draw(st.lists(st.sampled_from(once), max_size=10)):
        first = delivered.index(envelope)
        at = data.draw(st.integers(min_value=first + 1, max_value=len(delivered)))
        delivered.insert(at, envelope)
    assert _fold(delivered) == _fold(once)


def test_an_adoption_recorded_late_but_dated_earlier_is_the_report_s_first() -> None:
    late = STEPS["adopted"].model_copy(update={"publication": "《政务要情》"})
    earlier = Envelope.wrap(late, source="midfield://info/test", position="late", subject=RID,
                            time=LIFE[4].time - timedelta(minutes=30))  # fmt: skip
    book = _fold([*LIFE[:5], earlier])
    assert book is not None and book["adopted_at"] == earlier.time.isoformat()
    assert [a["publication"] for a in book["adoptions"]] == ["《XX政务信息》", "《政务要情》"]
