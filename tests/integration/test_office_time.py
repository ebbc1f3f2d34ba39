"""The worker's views show every time in the office's zone and order the duty log by instant,
whatever offset an event carried on the wire (issue 19, item 1): a real broker and worker."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from schemas.envelope import Envelope
from schemas.events.alert import AlertRaised, Severity
from schemas.events.telegram import TelegramGrade, TelegramReceived
from tests.harness import Broker, WorkerProcess, produce, wait_for
from tests.samples import fax_envelope

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _today_two_moments() -> tuple[datetime, datetime]:
    """Two moments of today (office time) before now, the second later."""
    now = datetime.now(SHANGHAI)
    midnight = datetime.combine(now.date(), time(0), SHANGHAI)
    return midnight + (now - midnight) / 3, midnight + 2 * (now - midnight) / 3


def _telegram(unique: str, when: datetime) -> Envelope:
    event = TelegramReceived(
        number=f"明电{unique}", issuing_unit="×市人民政府办公室",
        grade=TelegramGrade.very_urgent, title="关于做好防汛工作的紧急通知", pages=1,
    )  # fmt: skip
    return Envelope.wrap(event, source=f"midfield://telegram/{unique}", position=unique,
                         subject=event.number, time=when)  # fmt: skip


def _alert(unique: str, when: datetime) -> Envelope:
    event = AlertRaised(
        alert_id=f"tz-{unique}", kind="overdue", severity=Severity.warning, message="m"
    )
    return Envelope.wrap(event, source=f"midfield://test/{unique}", position=unique,
                         subject=event.alert_id, time=when)  # fmt: skip


def test_a_utc_telegram_is_the_newest_entry_and_every_view_shows_office_time(
    catalog_topics: Broker, workdir: Path, unique: str
) -> None:
    fax_at, telegram_at = _today_two_moments()
    fax = fax_envelope(unique, fax_at, source=f"midfield://fax-log/{unique}")
    telegram = _telegram(unique, telegram_at.astimezone(UTC))
    with WorkerProcess(catalog_topics, workdir, app_id=f"tz-{unique}").running() as worker:
        produce(catalog_topics, [telegram, fax, _alert(unique, telegram_at.astimezone(UTC))])
        mine = {fax.id, telegram.id}
        day = fax_at.date().isoformat()

        def duty_log() -> list[dict]:
            return [e for e in worker.every(f"/duty-log?date={day}", "entries") if e["id"] in mine]

        def alerts() -> list[dict]:
            return [a for a in worker.every("/alerts", "alerts") if a["alert_id"] == f"tz-{unique}"]

        entries = wait_for(lambda: len(e := duty_log()) == 2 and e, timeout=30, what="entries")
        # the alert is on a topic of its own, read by another agent: it may come a fetch later
        [alert] = wait_for(alerts, timeout=30, what="the alert")
        _, dash = worker.get("/dashboard.json")
    assert [e["channel"] for e in entries] == ["fax", "telegram"]
    assert entries[1]["received_at"] == telegram_at.isoformat()  # +08:00, the same instant
    latest = [e["channel"] for e in dash["duty_log"]["latest"] if e["id"] in mine]
    assert latest == ["telegram", "fax"]  # newest first
    assert dash["now"].endswith("+08:00")
    assert alert["raised_at"] == telegram_at.isoformat()
