"""The duty report (值班报告): what a shift or a day saw, from the books. Pure logic.

A shift runs from its start time to the next shift's start (the last one past midnight), in the
office's time zone; a day runs from 00:00 to 24:00. An entry belongs to the window its receipt
time falls in — start included, end excluded — so each entry is in exactly one shift's report.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from streams.books.office_time import parse

__all__ = ["Window", "last_ended", "render_html", "report", "window"]

Book = dict[str, Any]


@dataclass(frozen=True)
class Window:
    day: date
    shift: str | None
    """``None``: the whole day."""
    start: datetime
    end: datetime

    def holds(self, when: datetime) -> bool:
        return self.start <= when < self.end


def _starts(shifts: dict[str, str]) -> list[tuple[time, str]]:
    return sorted((time.fromisoformat(start), name) for name, start in shifts.items())


def window(day: date, shift: str | None, shifts: dict[str, str], zone: ZoneInfo) -> Window:
    """The window of ``shift`` starting on ``day`` (or the whole day); ``KeyError`` if unknown."""
    if shift is None:
        start = datetime.combine(day, time(0), zone)
        return Window(day, None, start, datetime.combine(day + timedelta(days=1), time(0), zone))
    starts = _starts(shifts)
    names = [name for _, name in starts]
    at = names.index(shift) if shift in names else None
    if at is None:
        raise KeyError(shift)
    begin = datetime.combine(day, starts[at][0], zone)
    if at + 1 < len(starts):
        end = datetime.combine(day, starts[at + 1][0], zone)
    else:
        end = datetime.combine(day + timedelta(days=1), starts[0][0], zone)
    return Window(day, shift, begin, end)


def last_ended(now: datetime, shifts: dict[str, str], zone: ZoneInfo) -> list[Window]:
    """The shift and the day that ended most recently before ``now``, latest first."""
    today = now.astimezone(zone).date()
    shift_windows = [
        window(day, name, shifts, zone)
        for day in (today - timedelta(days=2), today - timedelta(days=1), today)
        for _, name in _starts(shifts)
    ]
    ended = [w for w in shift_windows if w.end <= now]
    day = window(today - timedelta(days=1), None, shifts, zone)
    return [max(ended, key=lambda w: w.end), day] if ended else [day]


def report(
    win: Window,
    *,
    entries: list[dict[str, Any]],
    overdue: list[dict[str, Any]],
    alerts: list[Book],
    now: datetime,
    emergencies: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The report of ``win``: entries received in it, items overdue now, alerts raised in it."""
    mine = sorted(
        (e for e in entries if win.holds(_t(e["received_at"]))),
        key=lambda e: (_t(e["received_at"]), e["id"]),
    )
    raised = sorted(
        (a for a in alerts if a.get("raised_at") and win.holds(_t(a["raised_at"]))),
        key=lambda a: _t(a["raised_at"]),
    )
    return {
        "date": win.day.isoformat(),
        "shift": win.shift,
        "from": win.start.isoformat(),
        "to": win.end.isoformat(),
        "complete": now >= win.end,
        "by_channel": dict(Counter(e["channel"] for e in mine)),
        "new_items": mine,
        "overdue_items": overdue,
        "open_emergencies": emergencies or [],
        "alerts_raised": [
            {k: a[k] for k in ("alert_id", "kind", "severity", "message", "raised_at", "open")}
            for a in raised
        ],
    }


def _t(text: str) -> datetime:
    return parse(text)


_CHANNELS = {"fax": "传真", "telegram": "明传电报", "call": "来电", "visit": "来访"}


def render_html(rep: dict[str, Any], office: str) -> str:
    """The report as a printable page (every value escaped)."""
    e = html.escape
    title = f"{office} 值班报告 {rep['date']} {rep['shift'] or '全天'}"
    zone = _t(rep["from"]).tzinfo
    rows = "".join(_row(x, zone) for x in rep["new_items"])
    overdue = "".join(f"<li>{e(o['what'])} — {e(o['reason'])}</li>" for o in rep["overdue_items"])
    emergencies = _emergencies(rep)
    alerts = "".join(f"<li>{e(a['message'])}</li>" for a in rep["alerts_raised"])
    counts = "，".join(f"{e(_CHANNELS.get(c, c))} {n} 件" for c, n in rep["by_channel"].items())
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{e(title)}</title><style>body{{font:14px/1.6 sans-serif;margin:2em}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #999;padding:.2em .4em}}
@media print{{body{{margin:0}}}}</style></head><body>
<h1>{e(title)}</h1><p>时段：{e(rep["from"])} 至 {e(rep["to"])}{_pending(rep)}</p>
<h2>一、来件来电 {len(rep["new_items"])} 件</h2><p>{counts or "无"}</p>
<table><tr><th>时间</th><th>渠道</th><th>单位</th><th>内容</th></tr>{rows}</table>
<h2>二、逾期事项 {len(rep["overdue_items"])} 件</h2><ul>{overdue or "<li>无</li>"}</ul>
<h2>三、未结突发事件 {len(rep["open_emergencies"])} 起</h2><ul>{emergencies or "<li>无</li>"}</ul>
<h2>四、告警 {len(rep["alerts_raised"])} 条</h2><ul>{alerts or "<li>无</li>"}</ul>
<p>值班人：__________　　带班领导：__________</p></body></html>"""


def _row(entry: dict[str, Any], zone: Any) -> str:
    e = html.escape
    at = _t(entry["received_at"]).astimezone(zone).strftime("%H:%M")
    channel = _CHANNELS.get(entry["channel"], entry["channel"])
    cells = (at, channel, entry["unit"], entry["content"])
    return "<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in cells) + "</tr>"


def _pending(rep: dict[str, Any]) -> str:
    return "" if rep["complete"] else "（本时段尚未结束）"


def _emergencies(rep: dict[str, Any]) -> str:
    e = html.escape
    return "".join(
        f"<li>{e(x['title'])}（{e(x['unit'])}，最新：{e(x['latest'])}）</li>"
        for x in rep["open_emergencies"]
    )
