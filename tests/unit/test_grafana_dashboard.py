"""The Grafana dashboard asks only for metrics Midfield exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from midfield import metrics

DASHBOARD = Path(__file__).parent.parent.parent / "deploy" / "grafana" / "midfield.json"
_HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def _exported_names() -> set[str]:
    """Every sample name the registry can expose (histograms with their suffixes)."""
    metrics.EVENTS_IN.labels("t", "s")  # make labelled families produce samples
    names = set()
    for family in text_string_to_metric_families(metrics.render().decode()):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "histogram":
            names.update(family.name + suffix for suffix in _HISTOGRAM_SUFFIXES)
        if family.type == "counter":
            names.add(family.name + "_total")
    return names


def _queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def test_every_metric_in_the_dashboard_is_exported() -> None:
    used = {name for expr in _queries() for name in re.findall(r"\bmidfield_[a-z_]+", expr)}
    assert used, "the dashboard queries no midfield metric"
    assert used <= _exported_names(), used - _exported_names()


def test_panels_have_unique_ids_and_a_prometheus_datasource() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert {p["datasource"]["type"] for p in panels} == {"prometheus"}
