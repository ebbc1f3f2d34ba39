"""The summaries' rows stay where a frozen heap keeps them out of every collection
(streams/books/book.py ``Held``): a plain dict of rows is untracked by a full collection and
tracked again in the youngest generation at the next write, then walked, 1M rows of it, by
every collection after."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from midfield.settings import RepliesSettings, SupervisionSettings
from streams.books.ledger_summary import LedgerSummary
from streams.books.ranked import Ranked
from streams.books.reply_summary import ReplySummary

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _message(n: int) -> dict:
    return {"message_id": f"M{n}", "channel": "board", "category": "consult", "title": f"留言{n}",
            "department": "jyj", "received_at": (T0 + timedelta(hours=n)).isoformat(),
            "replied_at": None, "replied_by": "", "replies": 0, "applied": []}  # fmt: skip


def _task(n: int) -> dict:
    return {"task_id": f"DC-{n}", "status": "in_progress", "deadline": "2025-04-01",
            "created_at": T0.isoformat(), "percent": 10, "lead_department": "jyj",
            "assisting_departments": []}  # fmt: skip


def _young() -> set[int]:
    return {id(o) for g in (0, 1, 2) for o in gc.get_objects(generation=g)}


def test_the_rows_of_every_summary_stay_tracked_through_full_collections() -> None:
    replies, ledger, ranked = (
        ReplySummary(RepliesSettings(), ZONE),
        LedgerSummary(SupervisionSettings(), ZONE),
        Ranked(1),
    )
    for n in range(50):
        replies.put(f"M{n}", _message(n))
        ledger.put(f"DC-{n}", _task(n))
        ranked.put(f"k{n}", (n,))
    gc.collect()  # a full collection looks at every row: plain dicts of them are untracked here
    held = {"reply rows": replies.rows, "ledger rows": ledger.rows, "ranked": ranked._where}
    assert {name: gc.is_tracked(rows) for name, rows in held.items()} == dict.fromkeys(held, True)
    gc.freeze()
    try:
        replies.put("M99", _message(99))  # a write: a plain dict would be tracked again, young
        ledger.put("DC-99", _task(99))
        ranked.put("k99", (99,))
        young = _young()
        assert not {name for name, rows in held.items() if id(rows) in young}
    finally:
        gc.unfreeze()
