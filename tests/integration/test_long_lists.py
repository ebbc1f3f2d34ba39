"""The duty log and the alerts come a page at a time (``?limit=``, ``?after=`` the ``next`` of
the page before), as the ledger does: a real broker and worker. The worker reads them from its
books' summaries (streams/books/duty_log_summary.py, alerts.rank)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.duty import DutyEntryRecorded, EntryKind
from tests.harness import Broker, WorkerProcess, produce, wait_for
from tests.samples import nth_event

ZONE = ZoneInfo("Asia/Shanghai")


def _day(unique: str) -> date:
    """A day of the past no other test logs anything on."""
    return date(2019, 1, 1) + timedelta(days=int(unique, 16) % 1500)


def _call(unique: str, day: date, n: int) -> Envelope:
    event = DutyEntryRecorded(entry_id=f"D-{unique}-{n}", kind=EntryKind.call,
                              content=f"来电 {n}", recorder="李华")  # fmt: skip
    at = datetime.combine(day, time(8), ZONE) + timedelta(minutes=7 * (5 - n))  # last n first
    return nth_event(event, event.entry_id, 0, at, source=f"midfield://duty/{unique}")


def _alert(unique: str, n: int, severity: Severity) -> Envelope:
    event = AlertRaised(alert_id=f"paged-{unique}-{n}", kind="overdue", severity=severity,
                        message=f"m{n}")  # fmt: skip
    at = datetime.now(ZONE) - timedelta(minutes=n)
    return nth_event(event, event.alert_id, 0, at, source=f"midfield://test/{unique}")


def _pages(worker: WorkerProcess, path: str, field: str, limit: int) -> list[list[dict]]:
    pages, after = [], ""
    while after is not None:
        status, body = worker.get(f"{path}&limit={limit}&after={quote(after)}")
        assert status == 200, body
        pages.append(body[field])
        after = body["next"]
    return pages


def test_the_duty_log_of_a_day_pages_with_a_cursor_in_order(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    day = _day(unique)
    produce(catalog_topics, [_call(unique, day, n) for n in range(5)])
    path = f"/duty-log?date={day.isoformat()}"
    with WorkerProcess(catalog_topics, workdir, app_id=f"pages-{unique}").running() as worker:
        wait_for(lambda: worker.get(path)[1]["count"] == 5, timeout=30, what="5 entries")
        pages = _pages(worker, path, "entries", 2)
        _, whole = worker.get(path)
        bad = [worker.get(f"{path}&after=nonsense"), worker.get(f"{path}&limit=1001")]
    subjects = [[e["subject"] for e in page] for page in pages]  # oldest first: the last made
    assert subjects == [[f"D-{unique}-{n}" for n in ns] for ns in ((4, 3), (2, 1), (0,))]
    assert whole["entries"] == [e for page in pages for e in page] and whole["next"] is None
    assert [(status, body["error"]) for status, body in bad] == [(400, "bad-filter")] * 2


def test_the_alerts_page_with_a_cursor_critical_first_then_the_last_raised(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    """Other tests' alerts share the topic: ours come each once, in their order."""
    severities = [Severity.warning, Severity.critical, Severity.warning, Severity.info]
    produce(catalog_topics, [_alert(unique, n, s) for n, s in enumerate(severities)])
    mine = f"paged-{unique}-"
    with WorkerProcess(catalog_topics, workdir, app_id=f"alerts-{unique}").running() as worker:

        def ours() -> list[str]:
            shown = worker.every("/alerts", "alerts")
            return [a["alert_id"] for a in shown if mine in a["alert_id"]]

        wait_for(lambda: len(ours()) == 4, timeout=30, what="4 alerts")
        pages = _pages(worker, "/alerts?open=true", "alerts", 3)
        status, first = worker.get("/alerts?limit=3")
    paged = [a["alert_id"] for page in pages for a in page]
    assert [a for a in paged if mine in a] == [f"{mine}{n}" for n in (1, 0, 2, 3)]
    assert len(paged) == len(set(paged))
    assert status == 200 and len(first["alerts"]) <= 3
