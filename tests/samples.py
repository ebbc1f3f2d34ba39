"""Sample inputs and events shared by the tests: realistic, and built one way everywhere."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl

from midfield.demo.fax_log_samples import recv_line
from schemas.envelope import Envelope, EventData
from schemas.events.fax import FaxReceived

BOARD_EXPORT_HEADER = [
    "留言编号",
    "留言时间",
    "留言类别",
    "标题",
    "留言内容",
    "联系电话",
    "办理单位",
    "回复内容",
    "回复时间",
]
"""The first row of the message board's CSV/XLSX export (docs/board.md)."""

HOTLINE_EXPORT_HEADER = [
    "工单编号",
    "来电时间",
    "诉求类型",
    "诉求内容",
    "承办单位",
    "工单状态",
    "派单时间",
    "签收时间",
    "答复时间",
    "回访时间",
    "办结时间",
    "回访结果",
    "满意度",
]
"""The first row of the 12345 hotline platform's XLSX export (docs/hotline.md)."""


def write_export(path: Path, rows: list[list[Any]]) -> Path:
    """An office system's export of ``rows``, its header first: XLSX, or for a ``.csv`` path CSV
    as the board writes it (UTF-8 with a BOM)."""
    if path.suffix == ".csv":
        path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8-sig")
        return path
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def fax_line(commid: int, *, when: str = "03/14/25 09:41", pages: int = 3) -> str:
    """A HylaFAX+ RECV line (19 fields), as xferfaxlog writes it."""
    return recv_line(commid, when=when, pages=pages)


def fax_received(commid: str = "000000123", *, pages: int = 3) -> FaxReceived:
    return FaxReceived(commid=commid, device="ttyS0", document=f"recvq/fax{commid}.tif",
                       remote_station="+86 551 2345678", pages=pages, duration_s=72,
                       connect_s=65)  # fmt: skip


def fax_envelope(
    commid: str, when: datetime, *, source: str = "midfield://fax-log/main", pages: int = 3
) -> Envelope:
    """The event the fax-log source would make of commid's RECV line."""
    return Envelope.wrap(fax_received(commid, pages=pages), source=source,
                         position=f"RECV {commid}", subject=commid, time=when,
                         ingested_at=when)  # fmt: skip


TELEGRAM_SHEET = {
    "issuing_unit": "×市人民政府办公室",
    "grade": "特急",
    "title": "关于做好防汛工作的紧急通知",
    "pages": 1,
    "received_at": "2025-06-20T10:15:00+08:00",
}
"""A clear-text telegram's sheet (docs/telegram.md) without its number: add one per telegram."""


def nth_event(
    data: EventData,
    subject: str,
    n: int | str,
    at: datetime,
    *,
    source: str = "midfield://test",
    ingested_at: datetime | None = None,
) -> Envelope:
    """``data`` as the ``n``-th event a test ``source`` sends about ``subject``, happened at
    ``at``: its position is ``<subject>/<n>``, so the same ``n`` sent again is the same event."""
    return Envelope.wrap(
        data,
        source=source,
        position=f"{subject}/{n}",
        subject=subject,
        time=at,
        ingested_at=ingested_at,
    )
