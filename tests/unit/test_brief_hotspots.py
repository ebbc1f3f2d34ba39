"""热点: burst detection over the weeks of a sample county (tests/brief_samples.py)."""

from __future__ import annotations

from datetime import timedelta

from midfield.settings import Settings
from streams.brief.assemble import build
from streams.brief.hotspots import hotspots
from streams.brief.model import Brief
from streams.brief.settings import BriefSettings
from streams.brief.terms import reader
from streams.brief.week import Week
from tests.brief_samples import NOW, WEEK, ZONE, County, county


def _brief(made: County, settings: Settings | None = None) -> Brief:
    return build(made.books(), WEEK, NOW, settings or made.settings, str.upper)


def test_planted_burst_in_one_township_ranks_first_over_a_large_steady_topic() -> None:
    brief = _brief(county(burst=24))
    first = brief.hotspots[0]
    assert (first.kind, first.label, first.count) == ("topic", "学区划分", 24)
    assert first.places[0].name == "桃源镇" and first.places[0].count == 24
    assert first.score >= 20 and first.usual == 0.0 and first.history_weeks == 8


def test_a_large_steady_topic_is_no_hotspot() -> None:
    brief = _brief(county(burst=24))
    steady = [h for h in brief.hotspots if "噪音" in h.label or h.label in ("扰民", "城关镇")]
    assert steady == []


def test_an_ordinary_week_has_no_school_hotspot() -> None:
    assert all("学区" not in h.label for h in _brief(county(burst=0)).hotspots)


def test_a_burst_below_the_minimum_count_is_not_a_hotspot() -> None:
    assert all("学区" not in h.label for h in _brief(county(burst=3)).hotspots)


def test_the_township_of_a_topic_burst_is_not_listed_again_as_a_place() -> None:
    labels = [h.label for h in _brief(county(burst=24)).hotspots]
    assert "桃源镇" not in labels and "学区" not in labels


def test_a_place_bursting_with_many_topics_is_a_place_hotspot() -> None:
    made = county(burst=0)
    topics = ("路面塌陷", "停电", "网络信号差", "垃圾清运不及时", "自来水浑浊", "路灯不亮")
    for n in range(18):
        made.message(f"m-qs-{n}", WEEK.start + timedelta(hours=5 * n), f"白云乡{topics[n % 6]}")
    places = [h for h in _brief(made).hotspots if h.kind == "place"]
    assert places and places[0].label == "白云乡" and places[0].count == 18


def test_examples_are_masked() -> None:
    first = _brief(county(burst=24)).hotspots[0]
    assert first.examples and all("1390000" not in e.text for e in first.examples)
    assert all("139****" in e.text for e in first.examples)


def test_the_first_week_of_the_books_ranks_by_count_without_history() -> None:
    made = County()
    for n in range(30):
        made.message(f"m-a-{n}", WEEK.start + timedelta(hours=n), "学区划分咨询")
    for n in range(8):
        made.message(f"m-b-{n}", WEEK.start + timedelta(hours=n), "医保报销咨询")
    found = _brief(made).hotspots
    assert [h.label for h in found] == ["学区划分", "医保报销"]
    assert found[0].history_weeks == 0 and "没有可比的周" in found[0].reason


def test_settings_raise_the_bar() -> None:
    made = county(burst=24)
    strict = Settings(parts=[BriefSettings(min_count=30)])
    assert _brief(made, strict).hotspots == []


def test_configured_places_are_read_whole() -> None:
    plain = reader().read("请问凤凰山街道学区划分")
    taught = reader(("凤凰山街道",)).read("请问凤凰山街道学区划分")
    assert taught.places == {"凤凰山街道"} and "学区划分" in taught.topics
    assert plain.places != {"凤凰山街道"} or plain.places == taught.places


def test_the_week_bounds_are_monday_to_monday_office_time() -> None:
    week = Week.parse("2026-W49", ZONE)
    assert week.start.isoformat() == "2026-11-30T00:00:00+08:00"
    assert week.end.isoformat() == "2026-12-07T00:00:00+08:00"
    assert week.index_of(week.start) == 0 and week.index_of(week.start - timedelta(seconds=1)) == 1
    assert week.before(1).label == "2026-W48" and Week.of(NOW, ZONE) == week


def test_hotspots_of_no_documents_are_none() -> None:
    assert hotspots([], WEEK, BriefSettings()) == []
