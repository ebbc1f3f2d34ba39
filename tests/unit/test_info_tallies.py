"""Information tallies (信息工作统计) on hand-computed cases, over weeks, months, quarters and
years in the office's time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from schemas.envelope import Envelope
from schemas.events import info as info_events
from schemas.events.info import InfoEvent
from streams.books import info_reports, info_tallies
from streams.books.info_reports import InfoReportState
from streams.books.period import Period

ZONE = ZoneInfo("Asia/Shanghai")


def _at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"2025-{day}T{hour:02}:00:00").replace(tzinfo=ZONE)


def _who(person: str, department: str = "office") -> dict[str, str]:
    return {"actor": department, "by": f"person:{person}", "by_name": person}


def _report(
    rid: str, steps: list[tuple[str, str]], *, person: str = "lihua", department: str = "office"
) -> list[Envelope]:
    """A report proposed and drafted by ``person`` of ``department``, then taken by the office
    through ``steps``: (kind, MM-DD) — ``submitted``, ``adopted``, ``endorsed-<level>``,
    ``not-adopted``."""
    mine, office = _who(person, department), _who("zhaoli")
    first = steps[0][1]
    events: list[tuple[InfoEvent, datetime]] = [
        (
            info_events.InfoReportProposed(report_id=rid, source="by_hand", title=rid, **mine),
            _at(first, 8),
        ),
        (
            info_events.InfoReportDrafted(report_id=rid, title=rid, text="正文", **mine),
            _at(first, 8),
        ),
    ]
    for kind, day in steps[1:]:
        match kind.split("-"):
            case ["submitted"]:
                event: InfoEvent = info_events.InfoReportSubmitted(
                    report_id=rid, to=("市政府办",), **office
                )
            case ["adopted"]:
                event = info_events.InfoReportAdopted(
                    report_id=rid, office="市政府办", publication="《信息》", **office
                )
            case ["endorsed", level]:
                event = info_events.InfoReportEndorsed(
                    report_id=rid,
                    leader=f"{level}-leader",
                    post="长",
                    level=level,
                    instruction="阅",
                    **office,
                )
            case _:
                event = info_events.InfoReportNotAdopted(report_id=rid, **office)
        events.append((event, _at(day)))
    return [
        Envelope.wrap(e, source="midfield://info/test", position=f"{rid}/{n}", subject=rid, time=at)
        for n, (e, at) in enumerate(events)
    ]


def _books(*reports: list[Envelope]) -> list[InfoReportState]:
    books: dict[str, Any] = {}
    for envelope in (e for report in reports for e in report):
        after = info_reports.apply(books.get(envelope.subject), envelope)
        assert after is not None and not isinstance(after, info_reports.Illegal), envelope.type
        books[envelope.subject] = after
    return [b for b in books.values() if info_reports.is_report(b)]


BOOKS = _books(
    # proposed in February, adopted and endorsed twice in March
    _report(
        "a",
        [
            ("proposed", "02-25"),
            ("submitted", "02-26"),
            ("adopted", "03-03"),
            ("endorsed-city", "03-05"),
            ("adopted", "03-10"),
            ("endorsed-province", "03-12"),
        ],
    ),
    _report("b", [("proposed", "03-03"), ("submitted", "03-04"), ("not-adopted", "03-20")]),
    _report(
        "c",
        [("proposed", "03-04"), ("submitted", "03-05"), ("adopted", "04-02")],
        person="wangming",
        department="edu",
    ),
    _report("d", [("proposed", "03-31")]),
)


def _tally(period: str, books: list[InfoReportState] = BOOKS) -> dict[str, Any]:
    return info_tallies.tally(books, Period.parse(period, ZONE))


def test_a_month_counts_the_steps_dated_in_it() -> None:
    march = _tally("2025-03")
    counts = {
        k: march[k]
        for k in (
            "proposed",
            "drafted",
            "submitted",
            "adopted",
            "adoptions",
            "endorsed",
            "not_adopted",
            "withdrawn",
        )
    }
    assert counts == {
        "proposed": 3,
        "drafted": 3,
        "submitted": 2,
        "adopted": 1,
        "adoptions": 2,
        "endorsed": 1,
        "not_adopted": 1,
        "withdrawn": 0,
    }


def test_endorsements_are_counted_by_the_leader_s_level_and_listed_in_time_order() -> None:
    march = _tally("2025-03")
    assert march["endorsements"] == {"city": 1, "province": 1, "national": 0}
    assert [(e["leader"], e["report_id"]) for e in march["endorsed_by"]] == [
        ("city-leader", "a"),
        ("province-leader", "a"),
    ]


def test_the_adoption_rate_is_of_the_reports_submitted_in_the_period_adopted_since() -> None:
    march = _tally("2025-03")  # b (never adopted) and c (adopted in April)
    assert (march["submitted"], march["adopted_of_submitted"], march["adoption_rate"]) == (
        2,
        1,
        0.5,
    )
    february = _tally("2025-02")  # a: submitted in February, adopted in March
    assert (february["submitted"], february["adopted"], february["adoption_rate"]) == (1, 0, 1.0)


def test_a_period_with_nothing_submitted_has_no_rate_rather_than_zero() -> None:
    assert _tally("2025-04")["adoption_rate"] is None
    assert _tally("2024")["proposed"] == 0 and _tally("2024")["adoption_rate"] is None


@pytest.mark.parametrize(
    ("period", "proposed", "adoptions"),
    [
        ("2025-W10", 2, 1),
        ("2025-W11", 0, 1),
        ("2025-Q1", 4, 2),
        ("2025-Q2", 0, 1),
        ("2025", 4, 3),
        ("all", 4, 3),
        ("2025-03-31", 1, 0),
    ],
)
def test_weeks_quarters_years_and_days(period: str, proposed: int, adoptions: int) -> None:
    # ISO week 10 of 2025 is 3-9 March, week 11 is 10-16 March
    figures = _tally(period)
    assert (figures["proposed"], figures["adoptions"]) == (proposed, adoptions)


def test_a_week_ends_at_midnight_office_time() -> None:
    late = _books(_report("late", [("proposed", "03-09"), ("submitted", "03-09")]))
    utc = late[0] | {"submitted_at": "2025-03-09T16:30:00+00:00"}  # 00:30 on the 10th here
    assert _tally("2025-W10", late)["submitted"] == 1
    assert _tally("2025-W10", [utc])["submitted"] == 0
    assert _tally("2025-W11", [utc])["submitted"] == 1


def test_rows_per_department_and_per_drafter_add_up_to_the_total() -> None:
    shown = info_tallies.by_drafter_and_department(
        BOOKS,
        Period.parse("2025-03", ZONE),
        name_of={"office": "县政府办公室", "edu": "县教育局"}.get,
    )
    assert (shown["period"], shown["from"]) == ("2025-03", "2025-03-01T00:00:00+08:00")
    rows = {r["department"]: r for r in shown["departments"]}
    assert {code: (r["name"], r["proposed"]) for code, r in rows.items()} == {
        "edu": ("县教育局", 1),
        "office": ("县政府办公室", 2),
    }
    drafters = {r["drafter"]: (r["name"], r["submitted"]) for r in shown["drafters"]}
    assert drafters == {"person:lihua": ("lihua", 1), "person:wangming": ("wangming", 1)}
    assert sum(r["proposed"] for r in shown["departments"]) == shown["total"]["proposed"]


@pytest.mark.parametrize("text", ["2025-W00", "2025-W54", "2025-Q0", "2025-Q5", "9999-W52",
                                  "9999-12-31", "2025-Q1-2", "2025W12"])  # fmt: skip
def test_a_week_or_quarter_the_calendar_does_not_have_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Period.parse(text, ZONE)
