"""The brief as an office document: :func:`docx_bytes` lays out a :class:`Brief` on the page
of streams/brief/layout.py.

Title (年第周工作简报) and the week's dates; an opening paragraph with the week's figures; 一、本周
热点 with a 楷体 heading per hotspot; 二、重点关注 and 三、工作亮点, one numbered paragraph per
entry under a heading per kind; then the 发文机关署名 and the 成文日期 (§7.3.5.2: the signature two
characters in from the right, the date's first character two to the right of the signature's).
"""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

import docx
from docx.document import Document
from docx.enum.text import WD_PARAGRAPH_ALIGNMENT
from docx.shared import Pt

from streams.brief import layout
from streams.brief.model import Brief, Entry, Hotspot

__all__ = ["docx_bytes", "line", "title"]

_NUMERALS = "一二三四五六七八九十"
FOCUS_KINDS = (
    ("red-task", "督办事项亮红灯"),
    ("yellow-task", "督办事项亮黄灯"),
    ("overdue-item", "来件逾期未办结"),
    ("overdue-order", "热线工单超期"),
    ("order-due-soon", "热线工单临期"),
    ("replies-behind", "留言答复滞后的单位"),
)
"""重点's kinds in the order they are shown, each under its heading."""
HIGHLIGHT_KINDS = (
    ("closed-early", "提前办结的督办事项"),
    ("on-time-replies", "留言全部按时答复的单位"),
    ("satisfaction-up", "热线回访满意率上升"),
)


def docx_bytes(brief: Brief) -> bytes:
    """The brief as .docx bytes."""
    document = docx.Document()
    layout.page_setup(document)
    issued = _issued(brief)
    document.add_paragraph(title(brief), layout.TITLE)
    last = brief.end - timedelta(days=1)
    document.add_paragraph(f"（{_day(brief.start.date())}—{_day(last.date())}）", layout.SUBTITLE)
    document.add_paragraph("")
    document.add_paragraph(_opening(brief))
    _hotspots(document, brief.hotspots)
    _entries(document, "二、重点关注", brief.focus, FOCUS_KINDS, brief)
    _entries(document, "三、工作亮点", brief.highlights, HIGHLIGHT_KINDS, brief)
    _signature(document, brief.issuer, issued)
    out = BytesIO()
    document.save(out)
    return out.getvalue()


def title(brief: Brief) -> str:
    """``2026年第49周工作简报``."""
    year, week = brief.week.split("-W")
    return f"{year}年第{int(week)}周工作简报"


def _issued(brief: Brief) -> date:
    return (brief.as_of - timedelta(microseconds=1)).astimezone(brief.start.tzinfo).date()


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _opening(brief: Brief) -> str:
    t = brief.totals
    rate = t.get("messages_on_time_rate")
    on_time = f"，按时答复率{float(rate):.1%}" if isinstance(rate, int | float) else ""
    messages, replied = t.get("messages", 0), t.get("messages_replied", 0)
    orders, closed = t.get("work_orders", 0), t.get("work_orders_closed", 0)
    return (
        f"本周共收到群众留言{messages}件，已答复{replied}件{on_time}；"
        f"受理热线工单{orders}件，办结{closed}件。"
        f"督办事项亮红灯{t.get('red-task', 0)}项、黄灯{t.get('yellow-task', 0)}项；"
        f"来件逾期{t.get('overdue-item', 0)}件；"
        f"热线工单超期{t.get('overdue-order', 0)}件、临期{t.get('order-due-soon', 0)}件。"
        "现将有关情况简报如下。"
    )


def _hotspots(document: Document, hotspots: list[Hotspot]) -> None:
    document.add_paragraph("一、本周热点", layout.HEADING_1)
    if not hotspots:
        document.add_paragraph("本周留言和工单中没有明显升温的话题或地点。")
    for n, spot in enumerate(hotspots):
        what = "话题" if spot.kind == "topic" else "地点"
        document.add_paragraph(f"（{_NUMERALS[n % 10]}）{spot.label}（{what}）", layout.HEADING_2)
        text = spot.reason + "。"
        if spot.words:
            text += "相关词：" + "、".join(w.name for w in spot.words) + "。"
        document.add_paragraph(text)
        for example in spot.examples:
            when = example.at.astimezone(spot.examples[0].at.tzinfo)
            kind = "留言" if example.kind == "message" else "工单"
            document.add_paragraph(f"如：“{example.text}”（{kind}，{when.month}月{when.day}日）")


def _entries(document: Document, heading: str, entries: list[Entry],
             kinds: tuple[tuple[str, str], ...], brief: Brief) -> None:  # fmt: skip
    document.add_paragraph(heading, layout.HEADING_1)
    groups = [(title, kind, [e for e in entries if e.kind == kind]) for kind, title in kinds]
    groups = [g for g in groups if g[2]]
    if not groups:
        document.add_paragraph("本周无。")
    for n, (title, kind, found) in enumerate(groups):
        document.add_paragraph(f"（{_NUMERALS[n % 10]}）{title}", layout.HEADING_2)
        for i, entry in enumerate(found, start=1):
            document.add_paragraph(f"{i}. {line(entry)}")
        total = brief.totals.get(kind)
        if isinstance(total, int) and total > len(found):
            document.add_paragraph(f"共{total}项，以上列出{len(found)}项，其余见台账。")


def line(entry: Entry) -> str:
    """One entry of 重点 or 亮点 as a sentence."""
    who = f"（{entry.department_name}）" if entry.department_name else ""
    if entry.kind in ("red-task", "yellow-task", "closed-early"):
        return f"《{entry.label}》{who}：{entry.reason}。"
    if entry.kind in ("replies-behind", "on-time-replies") or entry.kind == "satisfaction-up":
        return f"{entry.label}：{entry.reason}。"
    if entry.kind == "overdue-item":  # a fax is "传真 3 页，来自 …": its number tells it apart
        return f"{entry.label}（{entry.id}）：{entry.reason}。"
    return f"{entry.label}{who}：{entry.reason}。"


def _signature(document: Document, issuer: str, issued: date) -> None:
    """The issuer two characters in from the right, the date starting two to its right."""
    when = _day(issued)
    wide_issuer, wide_date = layout.text_width(issuer), layout.text_width(when)
    date_in = wide_issuer - wide_date
    issuer_in = 2.0
    if date_in < 2:  # a date longer than the signature: the date 2 in, the signature moved left
        date_in, issuer_in = 2.0, wide_date - wide_issuer + 4
    document.add_paragraph("")
    for text, chars in ((issuer, issuer_in), (when, date_in)):
        paragraph = document.add_paragraph(text)
        paragraph.alignment = WD_PARAGRAPH_ALIGNMENT.RIGHT
        layout.indent(paragraph._p, chars=0)
        paragraph.paragraph_format.right_indent = Pt(16 * chars)
