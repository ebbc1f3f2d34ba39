"""重点 and 亮点 of the sample county's week, and the brief as JSON."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from midfield.settings import Settings
from streams.brief.assemble import build
from streams.brief.model import Brief
from streams.brief.settings import BriefSettings
from streams.brief.week import Week
from tests.brief_samples import NOW, WEEK, ZONE, County, county

NAMES = {
    "water": "县水利局",
    "health": "县卫健局",
    "agri": "县农业农村局",
    "edu": "县教育局",
    "env": "县生态环境分局",
    "transport": "县交通运输局",
    "housing": "县住建局",
}


@pytest.fixture(scope="module")
def brief() -> Brief:
    made = county()
    return build(made.books(), WEEK, NOW, made.settings, lambda c: NAMES.get(c, c))


def _ids(brief: Brief, kind: str, section: str = "focus") -> list[str]:
    return [e.id for e in getattr(brief, section) if e.kind == kind]


def test_red_and_yellow_tasks_are_in_focus_with_their_reasons(brief: Brief) -> None:
    red = next(e for e in brief.focus if e.kind == "red-task")
    assert (red.id, red.department_name, red.reason) == ("DC-red", "县水利局", "逾期 9 天")
    assert _ids(brief, "yellow-task") == ["DC-yellow"]
    assert "DC-green" not in _ids(brief, "red-task") + _ids(brief, "yellow-task")


def test_overdue_items_are_listed_longest_overdue_first(brief: Brief) -> None:
    assert _ids(brief, "overdue-item") == ["fax-late-1", "fax-late-2"]


def test_orders_past_their_last_day_and_due_soon_are_at_risk(brief: Brief) -> None:
    assert _ids(brief, "overdue-order") == ["12345-late"]
    assert _ids(brief, "order-due-soon") == ["12345-soon"]


def test_departments_behind_on_replies_are_in_focus(brief: Brief) -> None:
    behind = next(e for e in brief.focus if e.kind == "replies-behind")
    assert behind.id == "agri" and behind.figures == {"late": 2, "oldest_days": 17}


def test_a_task_closed_early_is_a_highlight(brief: Brief) -> None:
    early = next(e for e in brief.highlights if e.kind == "closed-early")
    assert (early.id, early.figures["days_early"]) == ("DC-early", 18)


def test_departments_at_full_on_time_replies_are_highlights(brief: Brief) -> None:
    assert _ids(brief, "on-time-replies", "highlights") == ["env", "edu"]  # most messages first


def test_satisfaction_up_is_a_highlight(brief: Brief) -> None:
    county_wide = next(e for e in brief.highlights if e.kind == "satisfaction-up" and not e.id)
    assert county_wide.figures["rate"] == 1.0 and county_wide.figures["before"] == 0.5


def test_a_department_with_a_late_reply_is_no_highlight() -> None:
    made = county()
    made.message(
        "m-edu-late",
        WEEK.start + timedelta(hours=1),
        "学区",
        department="edu",
        replied_after=timedelta(days=6),
    )
    brief = build(made.books(), WEEK, NOW, made.settings, str)
    assert "edu" not in _ids(brief, "on-time-replies", "highlights")


def test_each_kind_is_listed_at_most_listed_times_and_counted_in_full() -> None:
    made = County()
    for n in range(5):
        made.fax(f"fax-{n}", WEEK.start - timedelta(days=30 + n))
    settings = Settings(parts=[BriefSettings(listed=2)])
    brief = build(made.books(), WEEK, NOW, settings, str)
    assert len(_ids(brief, "overdue-item")) == 2 and brief.totals["overdue-item"] == 5


def test_a_past_week_is_judged_at_its_end() -> None:
    made = county()
    brief = build(made.books(), WEEK.before(1), NOW, made.settings, str)
    assert brief.as_of == WEEK.start and brief.week == "2026-W48"


def test_the_brief_is_json_and_reads_back_the_same(brief: Brief) -> None:
    text = brief.model_dump_json()
    again = Brief.model_validate_json(text)
    assert again == brief
    data = json.loads(text)
    assert set(data) >= {"week", "hotspots", "focus", "highlights", "totals", "issuer"}
    assert data["hotspots"][0]["label"] == "学区划分" and data["start"].startswith("2026-11-30")


def test_a_week_that_is_none_is_refused() -> None:
    for text in ("2026-49", "2026-W00", "2026-W54", "W49"):
        with pytest.raises(ValueError):
            Week.parse(text, ZONE)


def test_the_brief_is_due_from_its_weekday_and_time_to_the_weeks_end() -> None:
    from datetime import time

    from streams.brief.issue import due

    rules = BriefSettings(send_weekday=5, send_at=time(17, 0))  # Friday 17:00
    friday = WEEK.start + timedelta(days=4, hours=17)
    assert due(friday - timedelta(minutes=1), rules, ZONE) is None
    assert due(friday, rules, ZONE) == WEEK and due(NOW, rules, ZONE) == WEEK
    assert due(WEEK.end + timedelta(days=1), rules, ZONE) is None  # next Tuesday: not yet
    assert due(NOW, BriefSettings(send_weekday=0), ZONE) is None  # off


def test_the_issued_brief_words_every_entry_as_the_document(brief: Brief) -> None:
    from streams.brief.issue import issued

    event = issued(brief)
    assert event.title == "2026年第49周工作简报" and event.document == "/brief.docx?week=2026-W49"
    assert event.hotspots[0].startswith("学区划分：")
    assert len(event.focus) == len(brief.focus) and len(event.highlights) == len(brief.highlights)
    assert "《汛前病险水库除险加固》（县水利局）：逾期 9 天。" in event.focus
